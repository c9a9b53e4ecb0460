//! Signals and broken streams: SIGTERM and SIGHUP end a run like Ctrl-C (143 and 129, the
//! result document still written, the message saying what became of the operation); a closed
//! or full stderr never ends a run; a result that cannot reach stdout is exit 1.

use std::process::Stdio;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const PROGRESS: &str = "/$/GetUpgradeProgress";
const ROLLBACK: &str = "/$/RollbackUpgrade";

fn cluster(state: &str) -> Value {
    json!({"UpgradeState": state, "UpgradeDescription": {"CodeVersion": "7.1.0"}})
}

/// A cluster that rolls forward, takes the rollback, then rolls back for ever (or completes).
async fn cluster_server(states: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(Seq::json(states))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROLLBACK))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/$/GetClusterVersion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Version": "7.0.0"})))
        .mount(&server)
        .await;
    server
}

/// Runs `rollback ARGS`, sends `signal` once `ready` requests have been received, and returns
/// the exit code, stdout and stderr.
async fn signalled(server: &MockServer, argv: &[&str], ready: usize, signal: &str) -> Run {
    let mut cmd = rollback();
    cmd.args(argv).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    for _ in 0..500 {
        if requests(server).await.len() >= ready {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(requests(server).await.len() >= ready, "the run got going");
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

async fn signal_during_the_wait(signal: &str, code: i32, said: &str) {
    let server = cluster_server(vec![
        cluster("RollingForwardInProgress"),
        cluster("RollingBackInProgress"),
    ])
    .await;
    let uri = server.uri();
    let argv = [
        "sf",
        "--endpoint",
        &uri,
        "--poll-interval",
        "20ms",
        "cluster",
        "start",
        "--json",
    ];
    // The precondition, the rollback, and two polls.
    let run = signalled(&server, &argv, 4, signal).await;
    assert_eq!(run.code, code, "{run:?}");
    let message = format!(
        "{said}; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster"
    );
    let doc = run.json();
    assert_eq!(doc["outcome"], "in_progress");
    assert_eq!(doc["exit_code"], code);
    assert_eq!(doc["phase"], "rolling_back");
    assert_eq!(
        doc["error"],
        json!({"kind": "interrupted", "message": message, "http_status": null, "platform_code": null})
    );
    assert_eq!(doc["requests"].as_array().unwrap().len(), 1);
    assert!(
        run.stderr.ends_with(&format!("error: {message}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_the_wait_exits_143_with_the_result() {
    signal_during_the_wait("TERM", 143, "terminated (SIGTERM)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_during_the_wait_exits_129_with_the_result() {
    signal_during_the_wait("HUP", 129, "hung up (SIGHUP)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_watching_an_upgrade_says_nothing_was_sent() {
    let server = cluster_server(vec![cluster("RollingForwardInProgress")]).await;
    let uri = server.uri();
    let argv = [
        "sf",
        "--endpoint",
        &uri,
        "--poll-interval",
        "20ms",
        "cluster",
        "status",
        "--watch",
    ];
    let run = signalled(&server, &argv, 2, "TERM").await;
    assert_eq!(run.code, 143, "{run:?}");
    assert!(
        run.stderr.ends_with(
            "error: terminated (SIGTERM); last seen: upgrading (RollingForwardInProgress); no rollback was sent\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

/// A run to the end: precondition, rollback, rolled back.
async fn completed_run(extra: &[&str], stdout: Stdio, stderr: Stdio) -> (MockServer, i32, String) {
    let server = cluster_server(vec![
        cluster("RollingForwardInProgress"),
        cluster("RollingBackCompleted"),
    ])
    .await;
    let uri = server.uri();
    let mut cmd = rollback();
    cmd.args([
        "sf",
        "--endpoint",
        &uri,
        "--poll-interval",
        "10ms",
        "cluster",
        "start",
    ])
    .args(extra)
    .stdout(stdout)
    .stderr(stderr);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    (server, code, String::from_utf8(output.stdout).unwrap())
}

fn dev_full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    )
}

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_or_closed_stderr_never_ends_the_run() {
    for (name, stderr) in [
        ("/dev/full", dev_full as fn() -> Stdio),
        ("closed pipe", closed_pipe),
    ] {
        for extra in [&["--json", "-vv"][..], &["-vv"][..], &[][..]] {
            let (server, code, stdout) = completed_run(extra, Stdio::piped(), stderr()).await;
            assert_eq!(code, 0, "stderr = {name}, {extra:?}: {stdout}");
            if extra.contains(&"--json") {
                let doc: Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(doc["outcome"], "rolled_back", "{name}");
            } else {
                assert!(
                    stdout.starts_with("Rolled back "),
                    "stderr = {name}: {stdout:?}"
                );
            }
            assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_cannot_reach_stdout_is_exit_1() {
    for extra in [&["--json"][..], &[][..], &["-o", "jsonl"][..]] {
        let server = cluster_server(vec![
            cluster("RollingForwardInProgress"),
            cluster("RollingBackCompleted"),
        ])
        .await;
        let uri = server.uri();
        let mut cmd = rollback();
        cmd.args([
            "sf",
            "--endpoint",
            &uri,
            "--poll-interval",
            "10ms",
            "cluster",
            "start",
        ])
        .args(extra)
        .stdout(dev_full())
        .stderr(Stdio::piped());
        let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.ends_with(
                "error: cannot write the result to stdout: No space left on device (os error 28)\n"
            ),
            "{extra:?}: {stderr}"
        );
        // The rollback itself went through.
        assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    }
}
