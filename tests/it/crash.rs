//! The panic hook, the last line of defence: one line on stderr, exit 1, and with `--json` or
//! `-o jsonl` the result document (`outcome` `error`, `error.kind` `internal`) with what the
//! run knew. The panic comes from the debug-build-only trigger `ROLLBACK_TEST_PANIC_ON`
//! (a progress line containing its value panics); release builds have no such trigger.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const APP_PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
const APP_ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

fn app(state: &str) -> Value {
    json!({"UpgradeState": state, "TargetApplicationTypeVersion": "2.0.0"})
}

/// An application that takes the rollback; the run panics on the first rolling-back reading.
async fn panicking_run(extra: &[&str]) -> (MockServer, Run) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(APP_PROGRESS))
        .respond_with(Seq::json(vec![
            app("RollingForwardInProgress"),
            app("RollingBackInProgress"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(APP_ROLLBACK))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();
    let mut argv = vec![
        "sf",
        "--endpoint",
        &uri,
        "--poll-interval",
        "10ms",
        "app",
        "start",
        "myapp~app1",
    ];
    argv.extend_from_slice(extra);
    let run = run_args(
        &argv,
        &[
            ("ROLLBACK_TEST_PANIC_ON", "RollingBackInProgress"),
            ("ROLLBACK_SF_TOKEN", "SFTOKEN-crash-1234"),
        ],
    )
    .await;
    (server, run)
}

/// The one `error:` line of stderr, which is its last.
fn assert_one_error_line(stderr: &str) {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: internal error: test panic on the progress line"),
        "{stderr}"
    );
    assert!(
        errors[0].ends_with("(a bug in rollback: please report it)"),
        "{stderr}"
    );
    assert!(stderr.ends_with('\n') && stderr.lines().last() == Some(errors[0]));
    assert!(!stderr.contains("SFTOKEN-crash"), "{stderr}");
}

fn assert_crash_doc(doc: &Value, uri: &str) {
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("internal error: test panic on the progress line"),
        "{doc}"
    );
    assert_doc(
        doc,
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "start",
            "outcome": "error", "exit_code": 1, "phase": "rolling_back",
            "platform_state": "RollingBackInProgress", "from_version": "2.0.0", "to_version": null,
            "operation_id": null, "reason": null, "progress": null, "dry_run": false,
            "requests": [{
                "method": "POST",
                "url": format!("{uri}{APP_ROLLBACK}?api-version=6.0"),
                "headers": {
                    "User-Agent": format!("rollback/{VERSION}"), "Accept": "application/json",
                    "Authorization": "Bearer <redacted>", "Content-Length": "0",
                },
                "body": null,
            }],
            "error": {"kind": "internal", "message": message, "http_status": null, "platform_code": null},
            "health": null,
            "detail": app("RollingBackInProgress"),
        }),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_after_the_rollback_still_writes_the_result_document() {
    let (server, run) = panicking_run(&["--json"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_crash_doc(&run.json(), &server.uri());
    assert_one_error_line(&run.stderr);
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);

    let (server, run) = panicking_run(&["-o", "jsonl"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "result");
    let mut doc = last.clone();
    doc.as_object_mut().unwrap().shift_remove("type");
    assert_crash_doc(&doc, &server.uri());
    assert_one_error_line(&run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_text_mode_is_one_line_and_exit_1() {
    let (server, run) = panicking_run(&[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_one_error_line(&run.stderr);
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}
