//! Signals and broken streams: SIGTERM and SIGHUP end a run like Ctrl-C (143 and 129, the
//! result document still written, the message saying what became of the operation); a closed
//! or full stderr never ends a run; a result that cannot reach stdout is exit 1.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::scenario::sf::{ROLLBACK, cluster};
use crate::scenario::{Answers, Scenario};

/// A cluster whose progress answers `states` in turn, that takes the rollback, and tells its
/// version once rolled back.
fn cluster_answering(states: impl Answers) -> Scenario {
    Scenario::sf_cluster(states)
        .post(ROLLBACK, 200)
        .cluster_version()
}

async fn signal_during_the_wait(signal: &str, code: i32, said: &str) {
    // The precondition, the rollback, and two polls.
    let outcome = cluster_answering([
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackInProgress", 1),
    ])
    .args(["cluster", "start", "--json"])
    .signal_after(signal, 4)
    .run()
    .await;
    let message = format!(
        "{said}; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster"
    );
    outcome
        .code(code)
        .stderr_ends_with(&format!("error: {message}\n"))
        .posts(1);
    let doc = outcome.json();
    assert_eq!(doc["outcome"], "in_progress");
    assert_eq!(doc["exit_code"], code);
    assert_eq!(doc["phase"], "rolling_back");
    assert_eq!(
        doc["error"],
        json!({"kind": "interrupted", "message": message, "http_status": null, "platform_code": null})
    );
    assert_eq!(doc["requests"].as_array().unwrap().len(), 1);
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
    cluster_answering(cluster("RollingForwardInProgress", 1))
        .args(["cluster", "status", "--watch"])
        .signal_after("TERM", 2)
        .run()
        .await
        .code(143)
        .stderr_ends_with(
            "error: terminated (SIGTERM); last seen: upgrading (RollingForwardInProgress); no rollback was sent\n",
        )
        .stdout("")
        .posts(0);
}

/// A run to the end: precondition, rollback, rolled back.
fn completed_run() -> Scenario {
    cluster_answering([
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackCompleted", 3),
    ])
    .poll_interval("10ms")
    .args(["cluster", "start"])
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
            let outcome = completed_run().args(extra).stderr_to(stderr).run().await;
            let stdout = &outcome.run.stdout;
            assert_eq!(outcome.run.code, 0, "stderr = {name}, {extra:?}: {stdout}");
            if extra.contains(&"--json") {
                let doc: Value = serde_json::from_str(stdout).unwrap();
                assert_eq!(doc["outcome"], "rolled_back", "{name}");
            } else {
                assert!(
                    stdout.starts_with("Rolled back "),
                    "stderr = {name}: {stdout:?}"
                );
            }
            outcome.posts(1);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_cannot_reach_stdout_is_exit_1() {
    for extra in [&["--json"][..], &[][..], &["-o", "jsonl"][..]] {
        completed_run()
            .args(extra)
            .stdout_to(dev_full)
            .run()
            .await
            .code(1)
            .stderr_ends_with(
                "error: cannot write the result to stdout: No space left on device (os error 28)\n",
            )
            // The rollback itself went through.
            .posts(1);
    }
}
