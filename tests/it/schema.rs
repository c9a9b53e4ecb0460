//! The result document's JSON Schema (docs/schema/result-v1.json): `rollback schema` prints it,
//! real `--json` and `-o jsonl` output of every platform and outcome validates against it, and a
//! document that breaks it fails.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::run_args;
use crate::scenario::arcgis::{DONE, MIDWAY, STARTED, installed, job};
use crate::scenario::cloudsvc::{
    AUTO, SLOT, accepted, azure_error, deployment, idle, operation, updating,
};
use crate::scenario::compose::{compose, compose_health_failed};
use crate::scenario::sf::{app, cluster, fabric_error};
use crate::scenario::{Outcome, Scenario};

const SCHEMA: &str = include_str!("../../docs/schema/result-v1.json");

/// The validator of the result document, or with `def` of one of the schema's `$defs`.
fn validator(def: Option<&str>) -> jsonschema::Validator {
    let mut schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    if let Some(def) = def {
        schema["$ref"] = json!(format!("#/$defs/{def}"));
    }
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

/// Why `doc` fails the schema (`def`: one of its `$defs`), empty when it passes.
fn violations(doc: &Value, def: Option<&str>) -> Vec<String> {
    validator(def)
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The outcomes, error kinds and platforms a suite saw, so that it can tell it saw them all.
#[derive(Default)]
struct Seen {
    outcomes: BTreeSet<String>,
    kinds: BTreeSet<String>,
}

impl Seen {
    /// Runs `scenario` (with `--json` or `-o jsonl` among its arguments), checks that it ends
    /// in `outcome` with `code` (and `kind` as `error.kind`), and that every line it printed on
    /// stdout validates.
    async fn check(&mut self, scenario: Scenario, outcome: &str, code: i32, kind: Option<&str>) {
        let out: Outcome = scenario.run().await;
        let lines: Vec<&str> = out.run.stdout.lines().collect();
        let jsonl = lines.len() > 1 && lines.iter().all(|l| l.starts_with('{'));
        let doc: Value = if jsonl {
            for line in &lines {
                let event: Value = serde_json::from_str(line).expect("a JSON line");
                let wrong = violations(&event, Some("event"));
                assert!(wrong.is_empty(), "{line}: {wrong:#?}");
            }
            let mut last: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
            last.as_object_mut().unwrap().shift_remove("type");
            last
        } else {
            out.json()
        };
        let wrong = violations(&doc, None);
        assert!(wrong.is_empty(), "{doc:#}\nviolations: {wrong:#?}");
        out.code(code);
        assert_eq!(doc["outcome"], outcome, "{:?}", out.run);
        assert_eq!(
            doc["error"]["kind"].as_str(),
            kind,
            "error.kind of {:?}",
            out.run
        );
        self.outcomes.insert(outcome.to_string());
        self.kinds.extend(kind.map(str::to_string));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_prints_the_schema_file() {
    let run = run_args(&["schema"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, SCHEMA);
    assert_eq!(run.stderr, "");
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

/// A change that makes a document break one rule of the schema.
type Breaks = Box<dyn Fn(&mut Value)>;

/// The schema can fail: documents that each break one rule are refused.
#[tokio::test(flavor = "multi_thread")]
async fn documents_that_break_the_schema_fail() {
    let run = Scenario::sf_app(app("RollingForwardInProgress", 1))
        .args(["app", "status", "myapp~app1", "--json"])
        .run()
        .await;
    let good = run.json();
    assert!(violations(&good, None).is_empty());
    let broken: Vec<(&str, Breaks)> = vec![
        (
            "unknown outcome",
            Box::new(|d| d["outcome"] = json!("done")),
        ),
        ("unknown phase", Box::new(|d| d["phase"] = json!("paused"))),
        (
            "missing field",
            Box::new(|d| {
                d.as_object_mut().unwrap().shift_remove("requests");
            }),
        ),
        ("extra field", Box::new(|d| d["surprise"] = json!(1))),
        (
            "string exit code",
            Box::new(|d| d["exit_code"] = json!("0")),
        ),
        (
            "undocumented exit code",
            Box::new(|d| d["exit_code"] = json!(9)),
        ),
        (
            "status with an exit code",
            Box::new(|d| d["exit_code"] = json!(1)),
        ),
        (
            "timestamp without milliseconds",
            Box::new(|d| d["started_at"] = json!("2026-11-22T03:00:00Z")),
        ),
        (
            "error outcome without an error",
            Box::new(|d| d["outcome"] = json!("error")),
        ),
        (
            "unknown error kind",
            Box::new(|d| {
                d["outcome"] = json!("error");
                d["exit_code"] = json!(1);
                d["error"] = json!({"kind": "oops", "message": "m", "http_status": null, "platform_code": null});
            }),
        ),
        (
            "exit code that is not the kind's",
            Box::new(|d| {
                d["outcome"] = json!("error");
                d["exit_code"] = json!(1);
                d["error"] = json!({"kind": "auth", "message": "m", "http_status": 403, "platform_code": null});
            }),
        ),
        (
            "request without a body",
            Box::new(|d| {
                d["requests"] =
                    json!([{"method": "POST", "url": "http://127.0.0.1/x", "headers": {}}]);
            }),
        ),
        (
            "dry run result without --dry-run",
            Box::new(|d| d["outcome"] = json!("would_send")),
        ),
    ];
    for (why, breaks) in broken {
        let mut doc = good.clone();
        breaks(&mut doc);
        assert!(!violations(&doc, None).is_empty(), "{why}: {doc:#}");
    }
    let progress = json!({"type": "progress", "at": "2026-11-22T03:00:01.002Z", "phase": "rolling_back", "message": "m",
        "progress": {"domains_done": 2, "domains_total": 5, "current": "UD2"}});
    assert!(violations(&progress, Some("event")).is_empty());
    let mut wrong = progress.clone();
    wrong["type"] = json!("note");
    assert!(!violations(&wrong, Some("event")).is_empty());
    // Every progress event says how far, null where there are no domains.
    let mut none = progress.clone();
    none["progress"] = Value::Null;
    assert!(violations(&none, Some("event")).is_empty());
    for breaks in [
        json!(null),
        json!({"domains_done": 2, "domains_total": 5}),
        json!({"domains_done": -1, "domains_total": 5, "current": null}),
        json!({"domains_done": 2, "domains_total": 5, "current": 2}),
    ] {
        let mut wrong = progress.clone();
        if breaks.is_null() {
            wrong.as_object_mut().unwrap().remove("progress");
        } else {
            wrong["progress"] = breaks.clone();
        }
        assert!(!violations(&wrong, Some("event")).is_empty(), "{wrong}");
        // The result's progress has the same shape.
        if !breaks.is_null() {
            let mut doc = good.clone();
            doc["progress"] = breaks;
            assert!(!violations(&doc, None).is_empty(), "{doc}");
        }
    }
    // A result line of `-o jsonl` says so; the plain document may not.
    let mut line = good.clone();
    line.as_object_mut()
        .unwrap()
        .shift_insert(0, "type".into(), json!("result"));
    assert!(violations(&line, Some("event")).is_empty());
    assert!(!violations(&good, Some("event")).is_empty());
}

/// `sf app start myapp~app1 OUTPUT…` on an application whose progress answers `progress`.
fn app_start_as(
    output: &[&str],
    progress: Vec<Value>,
    post: impl crate::scenario::Answers,
) -> Scenario {
    Scenario::sf_app(progress)
        .post(crate::scenario::sf::APP_ROLLBACK, post)
        .app_info()
        .args(["app", "start", "myapp~app1"])
        .args(output)
}

fn app_start(progress: Vec<Value>, post: impl crate::scenario::Answers) -> Scenario {
    app_start_as(&["--json"], progress, post)
}

/// Every outcome and every error kind a run can end in, through Service Fabric applications.
#[tokio::test(flavor = "multi_thread")]
async fn sf_app_output_of_every_outcome_validates() {
    let (fwd, back, done) = (
        app("RollingForwardInProgress", 1),
        app("RollingBackInProgress", 1),
        app("RollingBackCompleted", 3),
    );
    let mut seen = Seen::default();
    let rolling = || vec![fwd.clone(), back.clone(), done.clone()];
    seen.check(app_start(rolling(), 200), "rolled_back", 0, None)
        .await;
    seen.check(
        app_start_as(&["-o", "jsonl"], rolling(), 200),
        "rolled_back",
        0,
        None,
    )
    .await;
    seen.check(
        app_start(vec![fwd.clone()], 200).args(["--no-wait"]),
        "accepted",
        0,
        None,
    )
    .await;
    seen.check(
        app_start(vec![back.clone()], 200).args(["--no-wait"]),
        "in_progress",
        0,
        None,
    )
    .await;
    let idle = app("RollingForwardCompleted", 3);
    seen.check(
        app_start(vec![idle.clone()], 200),
        "nothing_to_roll_back",
        3,
        Some("nothing_to_roll_back"),
    )
    .await;
    seen.check(
        app_start(vec![idle], 200).args(["--if-upgrading"]),
        "nothing_to_roll_back",
        0,
        None,
    )
    .await;
    let failing = vec![fwd.clone(), back.clone(), app("Failed", 1)];
    seen.check(
        app_start(failing, 200),
        "failed",
        1,
        Some("rollback_failed"),
    )
    .await;
    seen.check(
        app_start(vec![fwd.clone(), back.clone()], 200).args(["--timeout", "300ms"]),
        "timed_out",
        5,
        Some("timed_out"),
    )
    .await;
    seen.check(
        app_start(vec![fwd.clone()], 200).args(["--dry-run"]),
        "would_send",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::sf_app(fwd.clone()).args(["app", "status", "myapp~app1", "--json"]),
        "status",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::sf()
            .result_of("sf-app", "x")
            .args(["app", "start", "no/such app", "--json"]),
        "error",
        2,
        Some("usage"),
    )
    .await;
    seen.check(
        app_start(
            vec![fwd.clone()],
            fabric_error(504, "FABRIC_E_TIMEOUT", "slow"),
        ),
        "error",
        1,
        Some("unconfirmed"),
    )
    .await;
    seen.check(
        app_start(
            vec![fwd.clone()],
            fabric_error(400, "E_ACCESSDENIED", "denied"),
        ),
        "error",
        4,
        Some("auth"),
    )
    .await;
    seen.check(
        app_start(
            vec![fwd.clone()],
            fabric_error(404, "FABRIC_E_APPLICATION_NOT_FOUND", "gone"),
        ),
        "error",
        1,
        Some("platform"),
    )
    .await;
    seen.check(
        Scenario::sf_app(fabric_error(503, "FABRIC_E_NOT_READY", "not ready")).args([
            "app",
            "status",
            "myapp~app1",
            "--json",
        ]),
        "error",
        6,
        Some("unreachable"),
    )
    .await;
    seen.check(
        Scenario::sf_app(json!({"UpgradeState": 7})).args([
            "app",
            "status",
            "myapp~app1",
            "--json",
        ]),
        "error",
        1,
        Some("unexpected_answer"),
    )
    .await;
    seen.check(
        app_start(vec![fwd.clone(), back.clone()], 200).signal_after("INT", 3),
        "in_progress",
        130,
        Some("interrupted"),
    )
    .await;
    // --verify: healthy (health ok), and not healthy in time (exit 7, health error).
    let health = |state: &str| json!({"AggregatedHealthState": state, "UnhealthyEvaluations": []});
    let verify = |state: &str| {
        app_start(rolling(), 200)
            .get("/Applications/myapp~app1/$/GetHealth", health(state))
            .args(["--verify", "--verify-timeout", "300ms"])
    };
    seen.check(verify("Ok"), "rolled_back", 0, None).await;
    seen.check(verify("Error"), "rolled_back", 7, Some("unhealthy"))
        .await;
    let all = [
        "rolled_back",
        "accepted",
        "in_progress",
        "nothing_to_roll_back",
        "failed",
        "timed_out",
        "would_send",
        "status",
        "error",
    ];
    assert_eq!(seen.outcomes, all.iter().map(|s| s.to_string()).collect());
    assert_eq!(seen.kinds.len(), 11, "{:?}", seen.kinds);
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_cluster_output_validates() {
    let mut seen = Seen::default();
    let start_as = |output: &[&str], progress: Vec<Value>| {
        Scenario::sf_cluster(progress)
            .post(crate::scenario::sf::ROLLBACK, 200)
            .cluster_version()
            .args(["cluster", "start"])
            .args(output)
    };
    let start = |progress| start_as(&["--json"], progress);
    let rolling = vec![
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackInProgress", 1),
        cluster("RollingBackCompleted", 3),
    ];
    seen.check(start(rolling), "rolled_back", 0, None).await;
    seen.check(
        start_as(
            &["-o", "jsonl", "--no-wait"],
            vec![cluster("RollingForwardInProgress", 1)],
        ),
        "accepted",
        0,
        None,
    )
    .await;
    seen.check(
        start(vec![cluster("RollingForwardCompleted", 3)]),
        "nothing_to_roll_back",
        3,
        Some("nothing_to_roll_back"),
    )
    .await;
    seen.check(
        Scenario::sf_cluster(cluster("RollingBackInProgress", 2))
            .args(["cluster", "status", "--json"]),
        "status",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::sf_cluster(fabric_error(403, "FABRIC_E_ACCESS_DENIED", "no"))
            .args(["cluster", "status", "--json"]),
        "error",
        4,
        Some("auth"),
    )
    .await;
    assert_eq!(seen.outcomes.len(), 5);
}

/// Service Fabric compose deployments: every outcome their table leads to, `reason` filled.
#[tokio::test(flavor = "multi_thread")]
async fn sf_compose_output_validates() {
    let mut seen = Seen::default();
    let rolling = || {
        vec![
            compose_health_failed("RollingForwardInProgress"),
            compose_health_failed("UnprovisioningTarget"),
            compose_health_failed("RollingBackCompleted"),
        ]
    };
    let start = |progress: Vec<Value>| Scenario::compose_start(progress, 200);
    seen.check(start(rolling()), "rolled_back", 0, None).await;
    seen.check(
        Scenario::compose(rolling())
            .post(crate::scenario::compose::ROLLBACK, 200)
            .compose_app()
            .args(["compose", "start", "mycompose", "-o", "jsonl"]),
        "rolled_back",
        0,
        None,
    )
    .await;
    seen.check(start(rolling()).args(["--dry-run"]), "would_send", 0, None)
        .await;
    seen.check(
        start(vec![compose("UnprovisioningCurrent")]),
        "nothing_to_roll_back",
        3,
        Some("nothing_to_roll_back"),
    )
    .await;
    seen.check(
        start(vec![compose_health_failed("Failed")]),
        "failed",
        1,
        Some("rollback_failed"),
    )
    .await;
    seen.check(
        Scenario::compose(rolling()).args(["compose", "status", "mycompose", "--json"]),
        "status",
        0,
        None,
    )
    .await;
    seen.check(
        start(rolling())
            .get(
                crate::scenario::compose::HEALTH,
                json!({"AggregatedHealthState": "Error", "UnhealthyEvaluations": []}),
            )
            .args(["--verify", "--verify-timeout", "200ms"]),
        "rolled_back",
        7,
        Some("unhealthy"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_output_validates() {
    let mut seen = Seen::default();
    let accepting = |deployments: Vec<String>| {
        Scenario::cloudsvc(deployments).post_comp(SLOT, "rollback", accepted())
    };
    seen.check(
        accepting(vec![updating(), idle()])
            .operations([operation("InProgress", ""), operation("Succeeded", "")])
            .args(["start", "--json"]),
        "rolled_back",
        0,
        None,
    )
    .await;
    seen.check(
        accepting(vec![updating()])
            .operations([operation("InProgress", ""), operation("Failed", "")])
            .args(["start", "-o", "jsonl"]),
        "failed",
        1,
        Some("rollback_failed"),
    )
    .await;
    seen.check(
        accepting(vec![updating()]).args(["start", "--no-wait", "--json"]),
        "accepted",
        0,
        None,
    )
    .await;
    seen.check(
        accepting(vec![updating()]).args(["start", "--dry-run", "--json"]),
        "would_send",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::cloudsvc(deployment(AUTO, true)).args(["status", "--json"]),
        "status",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::cloudsvc(idle()).args(["start", "--json"]),
        "nothing_to_roll_back",
        3,
        Some("nothing_to_roll_back"),
    )
    .await;
    seen.check(
        Scenario::cloudsvc(azure_error(
            403,
            "ForbiddenError",
            "The server failed to authenticate the request.",
        ))
        .args(["status", "--json"]),
        "error",
        4,
        Some("auth"),
    )
    .await;
    assert_eq!(seen.outcomes.len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn arcgis_output_validates() {
    let mut seen = Seen::default();
    seen.check(
        Scenario::arcgis([
            installed(),
            job("in_progress", 1, &[STARTED]),
            job("in_progress", 1, &[STARTED, MIDWAY]),
            job("success", 3, &[STARTED, MIDWAY, DONE]),
        ])
        .args(["start", "--to", "previous", "-o", "jsonl"]),
        "rolled_back",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::arcgis(installed()).args(["targets", "--json"]),
        "status",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::arcgis(job("in_progress", 1, &[STARTED])).args([
            "start",
            "--to",
            "previous",
            "--no-wait",
            "--json",
        ]),
        "in_progress",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::arcgis([installed(), job("in_progress", 1, &[STARTED])]).args([
            "start",
            "--to",
            "previous",
            "--timeout",
            "300ms",
            "--json",
        ]),
        "timed_out",
        5,
        Some("timed_out"),
    )
    .await;
    seen.check(
        Scenario::arcgis(installed()).args(["start", "--to", "previous", "--dry-run", "--json"]),
        "would_send",
        0,
        None,
    )
    .await;
    seen.check(
        Scenario::arcgis(
            json!({"error": {"code": 498, "message": "Invalid token.", "details": []}}),
        )
        .args(["status", "--json"]),
        "error",
        4,
        Some("auth"),
    )
    .await;
    seen.check(
        Scenario::arcgis_cli()
            .without_env("ROLLBACK_ARCGIS_TOKEN")
            .args(["status", "--json"]),
        "error",
        2,
        Some("usage"),
    )
    .await;
    // --verify: the health check passed (health ok), and failed until the bound (exit 7).
    use crate::scenario::arcgis::{CURRENT, HEALTH_RUN, REPORT, current, health_run, report};
    let verify = |report: serde_json::Value| {
        Scenario::arcgis([
            installed(),
            job("in_progress", 1, &[STARTED]),
            job("success", 3, &[STARTED, DONE]),
        ])
        .post(CURRENT, current("10.9.0", "505"))
        .post(HEALTH_RUN, health_run())
        .post(REPORT, report)
        .args(["start", "--to", "previous", "--json", "--verify"])
        .args(["--verify-timeout", "300ms"])
    };
    seen.check(verify(report(&[])), "rolled_back", 0, None)
        .await;
    seen.check(
        verify(report(&["healthcheck_objectStore"])),
        "rolled_back",
        7,
        Some("unhealthy"),
    )
    .await;
    assert_eq!(seen.outcomes.len(), 6);
}
