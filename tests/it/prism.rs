//! Conformance with the official Service Fabric REST spec (`../shared/specs/servicefabric.json`,
//! read in place), checked by Prism: in validating proxy mode before a scripted wiremock
//! cluster, every request and every answer is held against the spec; in dynamic mock mode,
//! every schema-valid answer must be handled with a sensible phase.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::scenario::compose::{compose, compose_health_failed};

/// A Prism process, killed when dropped.
struct Prism {
    child: Child,
    uri: String,
    log: tempfile::NamedTempFile,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// A message that shows even though the test harness captures test output.
fn visible(message: &str) {
    let _ = std::io::stderr().write_all(format!("{message}\n").as_bytes());
}

/// The variable naming the spec: the path of `servicefabric.json`, relative to the package
/// root or absolute. GitHub Actions points it at a pinned sparse checkout of
/// Azure/azure-rest-api-specs (`.github/workflows/ci.yml`).
const SPEC_VAR: &str = "ROLLBACK_SF_SPEC";
/// Where the spec is read in place when the variable is not set.
const DEFAULT_SPEC: &str = "../shared/specs/servicefabric.json";

/// The spec's path: `ROLLBACK_SF_SPEC`, else [`DEFAULT_SPEC`].
fn spec_path(root: &Path, variable: Option<OsString>) -> PathBuf {
    match variable.filter(|v| !v.is_empty()) {
        Some(path) => root.join(path),
        None => root.join(DEFAULT_SPEC),
    }
}

/// Whether `CI` says this is a CI run (`true` or `1`, as GitHub Actions and most runners set it).
fn is_ci(value: Option<&OsStr>) -> bool {
    value
        .and_then(OsStr::to_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// What a conformance test does with what it finds.
#[derive(Debug, PartialEq, Eq)]
enum Prerequisites {
    Run,
    /// Outside CI: a plain clone without the spec, or without Prism.
    Skip(String),
    /// In CI nothing may be skipped.
    Fail(String),
}

/// The "run, skip or fail" decision, apart from the environment so that it can be tested.
fn decide(spec: &Path, prism: &Path, ci: bool) -> Prerequisites {
    let missing = if !spec.is_file() {
        format!(
            "the Service Fabric spec {} is absent (set {SPEC_VAR} to the path of servicefabric.json)",
            spec.display()
        )
    } else if !prism.is_file() {
        format!(
            "Prism is not installed ({}): run `bash scripts/test`, which runs npm ci",
            prism.display()
        )
    } else {
        return Prerequisites::Run;
    };
    if ci {
        Prerequisites::Fail(format!(
            "{missing}; under CI the conformance tests must run, not skip"
        ))
    } else {
        Prerequisites::Skip(missing)
    }
}

/// The spec and the Prism binary, or `None` after saying why the test is skipped; under CI a
/// missing spec or Prism fails the test.
fn prerequisites(test: &str) -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = spec_path(root, std::env::var_os(SPEC_VAR));
    let prism = root.join("node_modules/.bin/prism");
    match decide(&spec, &prism, is_ci(std::env::var_os("CI").as_deref())) {
        Prerequisites::Run => Some((spec, prism)),
        Prerequisites::Skip(why) => {
            visible(&format!("SKIPPED {test}: {why}"));
            None
        }
        Prerequisites::Fail(why) => panic!("{test}: {why}"),
    }
}

#[test]
fn the_spec_comes_from_its_variable_and_ci_never_skips() {
    let root = Path::new("/pkg");
    assert_eq!(
        spec_path(root, None),
        Path::new("/pkg/../shared/specs/servicefabric.json")
    );
    assert_eq!(spec_path(root, Some("".into())), spec_path(root, None));
    assert_eq!(
        spec_path(root, Some("/specs/8.2/servicefabric.json".into())),
        Path::new("/specs/8.2/servicefabric.json")
    );
    assert_eq!(
        spec_path(root, Some("specs/servicefabric.json".into())),
        Path::new("/pkg/specs/servicefabric.json")
    );
    for (value, ci) in [
        (None, false),
        (Some(""), false),
        (Some("false"), false),
        (Some("0"), false),
        (Some("true"), true),
        (Some("TRUE"), true),
        (Some("1"), true),
    ] {
        assert_eq!(is_ci(value.map(OsStr::new)), ci, "{value:?}");
    }
    let present = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let missing = Path::new("/nonexistent/specs/servicefabric.json");
    assert_eq!(decide(&present, &present, true), Prerequisites::Run);
    assert_eq!(decide(&present, &present, false), Prerequisites::Run);
    assert_eq!(
        decide(missing, &present, true),
        Prerequisites::Fail(
            "the Service Fabric spec /nonexistent/specs/servicefabric.json is absent (set ROLLBACK_SF_SPEC to the path of servicefabric.json); under CI the conformance tests must run, not skip".into()
        )
    );
    assert!(
        matches!(decide(missing, &present, false), Prerequisites::Skip(why) if why.starts_with("the Service Fabric spec"))
    );
    assert!(
        matches!(decide(&present, missing, true), Prerequisites::Fail(why) if why.starts_with("Prism is not installed"))
    );
    assert!(matches!(
        decide(&present, missing, false),
        Prerequisites::Skip(_)
    ));
    // A directory is no spec.
    assert!(matches!(
        decide(Path::new("/"), &present, true),
        Prerequisites::Fail(_)
    ));
}

/// The conformance tests themselves, run as the test binary runs them: under `CI=true` a spec
/// that is not there fails them with the reason; outside CI they skip.
#[test]
fn under_ci_a_missing_spec_fails_the_conformance_tests() {
    let missing = "/nonexistent/specs/servicefabric.json";
    for test in [
        "prism::every_sf_command_conforms_to_the_spec_through_a_validating_proxy",
        "prism::any_schema_valid_answer_is_handled",
    ] {
        let run = |ci: Option<&str>| {
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.args([test, "--exact", "--nocapture"])
                .env(SPEC_VAR, missing)
                .env_remove("CI");
            if let Some(ci) = ci {
                cmd.env("CI", ci);
            }
            cmd.output().unwrap()
        };
        let (in_ci, outside) = (run(Some("true")), run(None));
        let text = |o: &std::process::Output| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        assert!(
            !in_ci.status.success(),
            "{test} passed under CI without the spec"
        );
        assert!(
            text(&in_ci).contains(&format!(
                "the Service Fabric spec {missing} is absent (set ROLLBACK_SF_SPEC to the path of servicefabric.json); under CI the conformance tests must run, not skip"
            )),
            "{}",
            text(&in_ci)
        );
        assert!(outside.status.success(), "{}", text(&outside));
        assert!(
            text(&outside).contains(&format!("SKIPPED {}", test.trim_start_matches("prism::"))),
            "{}",
            text(&outside)
        );
    }
}

/// The spec as upstream publishes it: every operation's `x-ms-examples` refers to a file in
/// `./examples/` (the copy in `../shared/specs` has them stripped). Written into `dir`, with the
/// example files when `with_examples`.
fn upstream_shaped(spec: &Path, dir: &Path, with_examples: bool) -> PathBuf {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(spec).unwrap()).unwrap();
    let examples = dir.join("examples");
    std::fs::create_dir_all(&examples).unwrap();
    let mut count = 0;
    for operations in doc["paths"].as_object_mut().unwrap().values_mut() {
        for operation in operations.as_object_mut().unwrap().values_mut() {
            let Some(id) = operation["operationId"].as_str().map(str::to_string) else {
                continue;
            };
            operation["x-ms-examples"] =
                json!({ format!("{id} example"): { "$ref": format!("./examples/{id}.json") } });
            if with_examples {
                let example =
                    json!({"parameters": {"api-version": "6.0"}, "responses": {"200": {}}});
                std::fs::write(examples.join(format!("{id}.json")), example.to_string()).unwrap();
            }
            count += 1;
        }
    }
    assert!(count > 100, "the spec has {count} operations");
    let path = dir.join("servicefabric.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

/// The tests hand Prism the spec where it lies, so that the upstream file (CI's pinned sparse
/// checkout), whose `x-ms-examples` refer to `./examples/*.json`, loads with its examples;
/// without them Prism refuses to start, which shows that the references are followed.
#[tokio::test(flavor = "multi_thread")]
async fn the_upstream_spec_with_example_references_loads_in_place() {
    let Some((spec, prism)) =
        prerequisites("the_upstream_spec_with_example_references_loads_in_place")
    else {
        return;
    };
    let without = tempfile::tempdir().unwrap();
    let broken = upstream_shaped(&spec, without.path(), false);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut child = Command::new(&prism)
        .args([
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            broken.to_str().unwrap(),
        ])
        .env("SCARF_ANALYTICS", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("prism started although the example files are missing");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("examples/"), "{log}");

    let with = tempfile::tempdir().unwrap();
    let upstream = upstream_shaped(&spec, with.path(), true);
    let mock = start_prism(&prism, &["mock", "-d", upstream.to_str().unwrap()]).await;
    let run = run_args(
        &[
            "sf",
            "--endpoint",
            mock.uri.as_str(),
            "--json",
            "cluster",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}\n{}", mock.log());
    assert_eq!(run.json()["outcome"], "status");
}

async fn start_prism(prism: &Path, args: &[&str]) -> Prism {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(prism)
        .args(args)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .env("SCARF_ANALYTICS", "false")
        .stdin(Stdio::null())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("prism starts");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "prism did not start: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Prism {
        child,
        uri: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn domains(done: usize) -> Value {
    json!((0..3).map(|i| json!({"Name": format!("UD{i}"), "State": if i < done { "Completed" } else { "Pending" }})).collect::<Vec<_>>())
}

fn cluster(state: &str, done: usize) -> Value {
    json!({
        "CodeVersion": "7.0.470.9590", "ConfigVersion": "1",
        "UpgradeDescription": {"CodeVersion": "7.1.0", "ConfigVersion": "1", "RollingUpgradeMode": "Monitored", "UpgradeKind": "Rolling"},
        "UpgradeState": state, "UpgradeDomains": domains(done), "RollingUpgradeMode": "Monitored",
        "NextUpgradeDomain": "", "StartTimestampUtc": "2026-11-22T03:00:00.000Z",
        "FailureTimestampUtc": "0001-01-01T00:00:00.000Z", "FailureReason": "None",
        "UpgradeDurationInMilliseconds": "PT0H2M0.1752S", "IsNodeByNode": false,
    })
}

fn app(state: &str, done: usize) -> Value {
    json!({
        "Name": "fabric:/myapp/app1", "TypeName": "MyAppType", "TargetApplicationTypeVersion": "2.0.0",
        "UpgradeState": state, "UpgradeDomains": domains(done), "RollingUpgradeMode": "Monitored",
        "NextUpgradeDomain": "", "FailureReason": "None", "UpgradeStatusDetails": "",
    })
}

/// One scripted scenario: what the cluster answers, the command, the exit code expected.
struct Scenario {
    name: &'static str,
    gets: Vec<(&'static str, Vec<Value>)>,
    posts: Vec<(&'static str, u16)>,
    argv: Vec<&'static str>,
    exit: i32,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sf_command_conforms_to_the_spec_through_a_validating_proxy() {
    let Some((spec, prism)) =
        prerequisites("every_sf_command_conforms_to_the_spec_through_a_validating_proxy")
    else {
        return;
    };
    let upstream = MockServer::start().await;
    let proxy = start_prism(
        &prism,
        &["proxy", "--errors", spec.to_str().unwrap(), &upstream.uri()],
    )
    .await;
    const CP: &str = "/$/GetUpgradeProgress";
    const AP: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
    let cluster_seq = || {
        vec![
            cluster("RollingForwardInProgress", 1),
            cluster("RollingBackInProgress", 1),
            cluster("RollingBackCompleted", 3),
        ]
    };
    let app_seq = || {
        vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 2),
            app("RollingBackCompleted", 3),
        ]
    };
    const CMP: &str = "/ComposeDeployments/mycompose/$/GetUpgradeProgress";
    const CMR: &str = "/ComposeDeployments/mycompose/$/RollbackUpgrade";
    let compose_seq = || {
        vec![
            compose_health_failed("RollingForwardInProgress"),
            compose_health_failed("UnprovisioningTarget"),
            compose_health_failed("RollingBackCompleted"),
        ]
    };
    let scenarios = vec![
        Scenario {
            name: "cluster start",
            gets: vec![(CP, cluster_seq())],
            posts: vec![("/$/RollbackUpgrade", 202)],
            argv: vec![
                "cluster",
                "start",
                "--server-timeout",
                "60",
                "--api-version",
                "6.0",
            ],
            exit: 0,
        },
        Scenario {
            name: "cluster start --dry-run",
            gets: vec![(CP, cluster_seq())],
            posts: vec![],
            argv: vec!["cluster", "start", "--dry-run", "--server-timeout", "120"],
            exit: 0,
        },
        Scenario {
            name: "cluster status",
            gets: vec![(CP, vec![cluster("RollingForwardPending", 0)])],
            posts: vec![],
            argv: vec!["cluster", "status"],
            exit: 0,
        },
        Scenario {
            name: "cluster status --watch",
            gets: vec![(CP, cluster_seq()[1..].to_vec())],
            posts: vec![],
            argv: vec!["cluster", "status", "--watch", "--server-timeout", "30"],
            exit: 0,
        },
        Scenario {
            name: "app start",
            gets: vec![(AP, app_seq())],
            posts: vec![("/Applications/myapp~app1/$/RollbackUpgrade", 200)],
            argv: vec!["app", "start", "fabric:/myapp/app1", "--api-version", "6.0"],
            exit: 0,
        },
        Scenario {
            name: "app start --dry-run",
            gets: vec![(AP, app_seq())],
            posts: vec![],
            argv: vec![
                "app",
                "start",
                "myapp~app1",
                "--dry-run",
                "--server-timeout",
                "30",
            ],
            exit: 0,
        },
        Scenario {
            name: "app status",
            gets: vec![(AP, vec![app("RollingForwardCompleted", 3)])],
            posts: vec![],
            argv: vec!["app", "status", "myapp~app1"],
            exit: 0,
        },
        Scenario {
            name: "app status --watch",
            gets: vec![(AP, app_seq()[1..].to_vec())],
            posts: vec![],
            argv: vec![
                "app",
                "status",
                "myapp~app1",
                "--watch",
                "--server-timeout",
                "45",
            ],
            exit: 0,
        },
        Scenario {
            name: "app start --verify",
            gets: vec![(AP, app_seq())],
            posts: vec![("/Applications/myapp~app1/$/RollbackUpgrade", 200)],
            argv: vec!["app", "start", "myapp~app1", "--verify"],
            exit: 0,
        },
        Scenario {
            name: "cluster status --watch --verify",
            gets: vec![(CP, cluster_seq()[1..].to_vec())],
            posts: vec![],
            argv: vec!["cluster", "status", "--watch", "--verify"],
            exit: 0,
        },
        Scenario {
            name: "compose start",
            gets: vec![(CMP, compose_seq())],
            posts: vec![(CMR, 200)],
            argv: vec!["compose", "start", "mycompose", "--api-version", "6.0"],
            exit: 0,
        },
        Scenario {
            name: "compose start --dry-run",
            gets: vec![(CMP, compose_seq())],
            posts: vec![],
            argv: vec!["compose", "start", "mycompose", "--dry-run"],
            exit: 0,
        },
        Scenario {
            name: "compose status",
            gets: vec![(CMP, vec![compose_health_failed("RollingBackInProgress")])],
            posts: vec![],
            argv: vec!["compose", "status", "mycompose", "--server-timeout", "30"],
            exit: 0,
        },
        Scenario {
            name: "compose status --watch --verify",
            gets: vec![(CMP, compose_seq()[1..].to_vec())],
            posts: vec![],
            argv: vec!["compose", "status", "mycompose", "--watch", "--verify"],
            exit: 0,
        },
        Scenario {
            name: "compose start, nothing to roll back",
            gets: vec![(CMP, vec![compose("UnprovisioningCurrent")])],
            posts: vec![],
            argv: vec!["compose", "start", "mycompose"],
            exit: 3,
        },
        Scenario {
            name: "app start, nothing to roll back",
            gets: vec![(AP, vec![app("RollingForwardCompleted", 3)])],
            posts: vec![],
            argv: vec!["app", "start", "myapp~app1"],
            exit: 3,
        },
    ];
    for scenario in scenarios {
        upstream.reset().await;
        for (at, bodies) in scenario.gets {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(Seq::json(bodies))
                .mount(&upstream)
                .await;
        }
        for (at, status) in scenario.posts {
            Mock::given(method("POST"))
                .and(path(at))
                .respond_with(ResponseTemplate::new(status))
                .mount(&upstream)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/$/GetClusterVersion"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"Version": "7.0.470.9590"})),
            )
            .mount(&upstream)
            .await;
        // Health: Error (an entity the health store has not caught up with), then Ok.
        let unhealthy = json!({
            "AggregatedHealthState": "Error",
            "UnhealthyEvaluations": [{"HealthEvaluation": {
                "Kind": "Services", "AggregatedHealthState": "Error", "Description": "1 service",
                "ServiceTypeName": "MyService", "MaxPercentUnhealthyServices": 0, "TotalCount": 1,
                "UnhealthyEvaluations": [{"HealthEvaluation": {
                    "Kind": "Service", "AggregatedHealthState": "Error",
                    "ServiceName": "fabric:/myapp/app1/svc1", "UnhealthyEvaluations": []
                }}]
            }}],
        });
        let healthy = json!({"AggregatedHealthState": "Ok", "UnhealthyEvaluations": []});
        for at in [
            "/Applications/myapp~app1/$/GetHealth",
            "/$/GetClusterHealth",
            "/Applications/mycompose/$/GetHealth",
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(Seq::json(vec![unhealthy.clone(), healthy.clone()]))
                .mount(&upstream)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/Applications/mycompose"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Id": "mycompose", "Name": "fabric:/mycompose", "TypeName": "mycomposeType", "TypeVersion": "1.0",
                "Status": "Ready", "HealthState": "Ok", "Parameters": []
            })))
            .mount(&upstream)
            .await;
        Mock::given(method("GET"))
            .and(path("/Applications/myapp~app1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Id": "myapp~app1", "Name": "fabric:/myapp/app1", "TypeName": "MyAppType", "TypeVersion": "1.0.0",
                "Status": "Ready", "HealthState": "Ok", "Parameters": []
            })))
            .mount(&upstream)
            .await;
        let mut argv = vec![
            "sf",
            "--endpoint",
            proxy.uri.as_str(),
            "--poll-interval",
            "20ms",
            "--json",
        ];
        argv.extend_from_slice(&scenario.argv);
        let run = run_args(&argv, &[]).await;
        assert_eq!(
            run.code,
            scenario.exit,
            "{}: {run:?}\nprism log:\n{}",
            scenario.name,
            proxy.log()
        );
        assert!(
            !requests(&upstream).await.is_empty(),
            "{}: nothing reached the cluster",
            scenario.name
        );
    }
    let violations = flagged(&flushed_log(&proxy).await);
    assert!(
        violations.is_empty(),
        "spec violations:\n{}",
        violations.join("\n")
    );

    // The detector itself: an api-version the spec does not allow must be flagged.
    let run = run_args(
        &[
            "sf",
            "--endpoint",
            proxy.uri.as_str(),
            "--api-version",
            "7.0",
            "cluster",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 1, "prism refuses the request with 422: {run:?}");
    // Prism writes its log line after it answers: give it a moment.
    let started = Instant::now();
    while !flagged(&proxy.log())
        .iter()
        .any(|l| l.contains("UNPROCESSABLE_ENTITY"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the bad request was not flagged:\n{}",
            proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prism's log once every earlier request is in it: Prism logs in order, so a request for a
/// path the spec does not have, once logged, means everything before it is too.
async fn flushed_log(proxy: &Prism) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = proxy.uri.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /log-barrier HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let started = Instant::now();
    loop {
        let log = proxy.log();
        if let Some(end) = log.find("/log-barrier") {
            return log[..end].to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "prism never logged the barrier:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Prism's log lines that report a request (422) or an answer (500) against the spec.
fn flagged(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains("VIOLATIONS")
                || l.contains("UNPROCESSABLE_ENTITY")
                || l.to_ascii_lowercase().contains("violation")
        })
        .map(str::to_string)
        .collect()
}

/// The phase the tool must report for an `UpgradeState`.
fn expected_phase(state: Option<&str>) -> &'static str {
    match state {
        Some("RollingForwardInProgress" | "RollingForwardPending") => "upgrading",
        Some("RollingBackInProgress") => "rolling_back",
        Some("RollingBackCompleted") => "rolled_back",
        Some("RollingForwardCompleted") => "idle",
        Some("Failed") => "failed",
        _ => "unknown",
    }
}

/// The phase the tool must report for a compose deployment's `UpgradeState`.
fn expected_compose_phase(state: Option<&str>) -> &'static str {
    match state {
        Some("ProvisioningTarget" | "RollingForwardInProgress" | "RollingForwardPending") => {
            "upgrading"
        }
        Some("UnprovisioningCurrent" | "RollingForwardCompleted") => "idle",
        Some("RollingBackInProgress" | "UnprovisioningTarget") => "rolling_back",
        Some("RollingBackCompleted") => "rolled_back",
        Some("Failed") => "failed",
        _ => "unknown",
    }
}

/// Any schema-valid compose progress: status reads it with its phase, a dry run decides.
#[tokio::test(flavor = "multi_thread")]
async fn any_schema_valid_compose_answer_is_handled() {
    let Some((spec, prism)) = prerequisites("any_schema_valid_compose_answer_is_handled") else {
        return;
    };
    for seed in ["1", "7", "42", "1234"] {
        let mock = start_prism(
            &prism,
            &["mock", "-d", "--seed", seed, spec.to_str().unwrap()],
        )
        .await;
        let base = ["sf", "--endpoint", mock.uri.as_str(), "--json", "compose"];
        let run = run_args(&[&base[..], &["status", "mycompose"]].concat(), &[]).await;
        assert_eq!(run.code, 0, "seed {seed}: {run:?}");
        let doc = run.json();
        let state = doc["detail"]["UpgradeState"].as_str();
        assert_eq!(
            doc["phase"],
            expected_compose_phase(state),
            "seed {seed}: {}",
            doc["detail"]
        );
        let dry = [&base[..], &["start", "mycompose", "--dry-run"]].concat();
        let run = run_args(&dry, &[]).await;
        let expected = match run.json()["phase"].as_str().unwrap() {
            "upgrading" | "rolling_back" => 0,
            "idle" | "rolled_back" => 3,
            _ => 1,
        };
        assert_eq!(run.code, expected, "seed {seed}: {run:?}");
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn any_schema_valid_answer_is_handled() {
    let Some((spec, prism)) = prerequisites("any_schema_valid_answer_is_handled") else {
        return;
    };
    for seed in ["1", "7", "42", "1234"] {
        let mock = start_prism(
            &prism,
            &["mock", "-d", "--seed", seed, spec.to_str().unwrap()],
        )
        .await;
        for target in [
            &["cluster", "status"][..],
            &["app", "status", "myapp~app1"][..],
        ] {
            let mut argv = vec!["sf", "--endpoint", mock.uri.as_str(), "--json"];
            argv.extend_from_slice(target);
            let run = run_args(&argv, &[]).await;
            assert_eq!(run.code, 0, "seed {seed} {target:?}: {run:?}");
            let doc = run.json();
            let state = doc["detail"]["UpgradeState"].as_str();
            assert_eq!(
                doc["phase"],
                expected_phase(state),
                "seed {seed} {target:?}: {}",
                doc["detail"]
            );
            assert_eq!(
                doc["platform_state"].as_str(),
                state.filter(|s| !s.is_empty())
            );
            assert_eq!(doc["outcome"], "status");

            let mut argv = vec!["sf", "--endpoint", mock.uri.as_str(), "--json", "--dry-run"];
            argv.extend_from_slice(
                &target[..target.len() - if target[0] == "app" { 2 } else { 1 }],
            );
            argv.push("start");
            if target[0] == "app" {
                argv.push("myapp~app1");
            }
            let run = run_args(&argv, &[]).await;
            let doc = run.json();
            let expected = match doc["phase"].as_str().unwrap() {
                "upgrading" | "rolling_back" => 0,
                "idle" | "rolled_back" => 3,
                _ => 1,
            };
            assert_eq!(run.code, expected, "seed {seed} {argv:?}: {run:?}");
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
}
