//! Conformance with the official Service Fabric REST spec (`../shared/specs/servicefabric.json`,
//! read in place), checked by Prism: in validating proxy mode before a scripted wiremock
//! cluster, every request and every answer is held against the spec; in dynamic mock mode,
//! every schema-valid answer must be handled with a sensible phase.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

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

/// The spec and the Prism binary, or `None` after saying why the test is skipped. In CI a
/// missing Prism is a failure: `scripts/test` installs it.
fn prerequisites(test: &str) -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = root.join("../shared/specs/servicefabric.json");
    if !spec.exists() {
        visible(&format!(
            "SKIPPED {test}: {} is absent (a plain clone)",
            spec.display()
        ));
        return None;
    }
    let prism = root.join("node_modules/.bin/prism");
    if !prism.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "Prism is not installed: run `bash scripts/test`, which runs npm ci"
        );
        visible(&format!(
            "SKIPPED {test}: Prism is not installed; `bash scripts/test` installs it"
        ));
        return None;
    }
    Some((spec, prism))
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
