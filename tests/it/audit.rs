//! The audit trail: every mutating request this machine sends, and the run's outcome, one JSON
//! line each, in a private file; never a reason to lose a rollback.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
const ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

fn app(state: &str) -> Value {
    json!({"Name": "fabric:/myapp/app1", "TargetApplicationTypeVersion": "2.0.0", "UpgradeState": state})
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(Seq::json(vec![
            app("RollingForwardInProgress"),
            app("RollingBackCompleted"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROLLBACK))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

fn start(uri: &str) -> Vec<&str> {
    vec![
        "sf",
        "--endpoint",
        uri,
        "--poll-interval",
        "20ms",
        "app",
        "start",
        "myapp~app1",
    ]
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_leaves_its_request_and_outcome_in_a_private_file() {
    let server = server().await;
    let uri = server.uri();
    let state = tempfile::tempdir().unwrap();
    let run = run_args(
        &start(&uri),
        &[
            ("XDG_STATE_HOME", state.path().to_str().unwrap()),
            ("ROLLBACK_SF_TOKEN", "sf-MARKER-token"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let file = state.path().join("rollback/audit.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("MARKER"),
        "no credential in the trail: {text}"
    );
    let lines = lines(&file);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (request, result) = (&lines[0], &lines[1]);
    assert_eq!(request["run"], result["run"]);
    for line in &lines {
        assert!(humantime::parse_rfc3339(line["at"].as_str().unwrap()).is_ok());
    }
    let mut request = request.clone();
    let mut result = result.clone();
    for line in [&mut request, &mut result] {
        let map = line.as_object_mut().unwrap();
        map.remove("at");
        map.remove("run");
    }
    assert_eq!(
        request,
        json!({
            "event": "request", "platform": "sf-app", "target": "myapp~app1", "kind": "rollback",
            "method": "POST", "url": format!("{uri}{ROLLBACK}?api-version=6.0"),
            "outcome": "accepted", "http_status": 200,
        })
    );
    assert_eq!(
        result,
        json!({"event": "result", "platform": "sf-app", "target": "myapp~app1", "outcome": "rolled_back", "exit_code": 0})
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// `sf app start` with `extra` arguments against a fresh server.
async fn start_with(extra: &[&str], env: &[(&str, &str)]) -> Run {
    let server = server().await;
    let uri = server.uri();
    let mut args = start(&uri);
    args.extend_from_slice(extra);
    run_args(&args, env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_dry_runs_and_no_audit_write_nothing_and_the_place_can_move() {
    let state = tempfile::tempdir().unwrap();
    let home = [("XDG_STATE_HOME", state.path().to_str().unwrap())];
    let file = state.path().join("rollback/audit.jsonl");
    assert_eq!(start_with(&["--dry-run"], &home).await.code, 0);
    let server = server().await;
    let status = [
        "sf",
        "--endpoint",
        &server.uri(),
        "app",
        "status",
        "myapp~app1",
    ];
    assert_eq!(run_args(&status, &home).await.code, 0);
    assert_eq!(start_with(&["--no-audit"], &home).await.code, 0);
    assert!(!file.exists(), "nothing was written");

    let elsewhere = state.path().join("elsewhere.jsonl");
    let run = start_with(&["--audit-log", elsewhere.to_str().unwrap()], &home).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(lines(&elsewhere).len(), 2);
    let variable = state.path().join("variable.jsonl");
    let mut env = home.to_vec();
    env.push(("ROLLBACK_AUDIT_LOG", variable.to_str().unwrap()));
    assert_eq!(start_with(&[], &env).await.code, 0);
    assert_eq!(lines(&variable).len(), 2);

    // `audit_log` at the top of the config file.
    let config = state.path().join("config.toml");
    let configured = state.path().join("configured.jsonl");
    std::fs::write(
        &config,
        format!("audit_log = {:?}\n", configured.to_str().unwrap()),
    )
    .unwrap();
    let run = start_with(&["--config", config.to_str().unwrap()], &home).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(lines(&configured).len(), 2);
    assert!(!file.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_that_cannot_be_written_is_a_warning_not_a_lost_rollback() {
    let server = server().await;
    let uri = server.uri();
    let state = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let mut args = start(&uri);
    args.extend(["--audit-log", state.path().to_str().unwrap(), "--json"]);
    let run = run_args(&args, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "rolled_back");
    let warning = format!(
        "warning: cannot write the audit log {}: ",
        state.path().display()
    );
    assert_eq!(run.stderr.matches(&warning).count(), 2, "{}", run.stderr);
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}
