//! The audit trail: every mutating request this machine sends, and the run's outcome, one JSON
//! line each, in a private file; never a reason to lose a rollback.

use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::scenario::sf::{APP_ROLLBACK, app, app_rollback_sent, progress_of, reason_of};

/// An application that takes the rollback and completes it.
fn rolling_app() -> Scenario {
    Scenario::sf_app([
        app("RollingForwardInProgress", 1),
        app("RollingBackCompleted", 3),
    ])
    .post(APP_ROLLBACK, 200)
}

/// `sf app start myapp~app1` on a `rolling_app`.
fn start() -> Scenario {
    rolling_app().args(["app", "start", "myapp~app1"])
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
    let state = tempfile::tempdir().unwrap();
    let out = start()
        .env("XDG_STATE_HOME", state.path().to_str().unwrap())
        .env("ROLLBACK_SF_TOKEN", "sf-MARKER-token")
        .run()
        .await;
    out.code(0);
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
            "method": "POST", "url": format!("{}{APP_ROLLBACK}?api-version=6.0", out.uri),
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

#[tokio::test(flavor = "multi_thread")]
async fn reads_dry_runs_and_no_audit_write_nothing_and_the_place_can_move() {
    let state = tempfile::tempdir().unwrap();
    let home = state.path().to_str().unwrap();
    let here = |scenario: Scenario| scenario.env("XDG_STATE_HOME", home);
    let file = state.path().join("rollback/audit.jsonl");
    here(start()).args(["--dry-run"]).run().await.code(0);
    here(rolling_app())
        .args(["app", "status", "myapp~app1"])
        .run()
        .await
        .code(0);
    here(start()).args(["--no-audit"]).run().await.code(0);
    assert!(!file.exists(), "nothing was written");

    let elsewhere = state.path().join("elsewhere.jsonl");
    here(start())
        .args(["--audit-log", elsewhere.to_str().unwrap()])
        .run()
        .await
        .code(0);
    assert_eq!(lines(&elsewhere).len(), 2);
    let variable = state.path().join("variable.jsonl");
    here(start())
        .env("ROLLBACK_AUDIT_LOG", variable.to_str().unwrap())
        .run()
        .await
        .code(0);
    assert_eq!(lines(&variable).len(), 2);

    // `audit_log` at the top of the config file.
    let config = state.path().join("config.toml");
    let configured = state.path().join("configured.jsonl");
    std::fs::write(
        &config,
        format!("audit_log = {:?}\n", configured.to_str().unwrap()),
    )
    .unwrap();
    here(start())
        .args(["--config", config.to_str().unwrap()])
        .run()
        .await
        .code(0);
    assert_eq!(lines(&configured).len(), 2);
    assert!(!file.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trail_that_cannot_be_written_is_a_warning_not_a_lost_rollback() {
    let state = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let out = start()
        .args(["--audit-log", state.path().to_str().unwrap(), "--json"])
        .run()
        .await;
    out.posts(1).doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0",
        "requests": app_rollback_sent(), "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    }));
    let warning = format!(
        "warning: cannot write the audit log {}: ",
        state.path().display()
    );
    assert_eq!(
        out.run.stderr.matches(&warning).count(),
        2,
        "{}",
        out.run.stderr
    );
}
