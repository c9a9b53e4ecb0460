//! `--journal`: a run killed after its rollbacks were accepted resumes without sending any
//! again; a finished run's journal makes the next run send nothing.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Farm, fleet, outcomes, plan};
use crate::common::rollback;

#[tokio::test]
async fn a_run_killed_mid_way_resumes_without_a_second_post() {
    // Rolling back for ever, until the test lets the rollbacks end.
    let (farm, server) = Farm::start(usize::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.toml");
    std::fs::write(&file, plan(&server.uri(), 4)).unwrap();
    let journal = dir.path().join("fleet.journal");
    let mut cmd = rollback();
    cmd.args(["fleet", "run"])
        .arg(&file)
        .args([
            "--yes",
            "--poll-interval",
            "20ms",
            "--max-concurrency",
            "4",
            "--journal",
        ])
        .arg(&journal)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    // Once the journal holds the four accepted requests (the server counts a POST when it
    // arrives, the journal when its answer came).
    let recorded = || {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"event\":\"request\"") && l.contains("\"accepted\""))
            .count()
    };
    while recorded() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the POSTs never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(farm.posts().values().all(|&n| n == 1));
    // Killed outright: no handler runs, only what was already written survives.
    child.kill().unwrap();
    child.wait().unwrap();
    farm.polls.store(2, Ordering::SeqCst);
    let args = ["--json", "--journal", journal.to_str().unwrap()];
    let run = fleet(dir.path(), &plan(&server.uri(), 4), &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    let posts = farm.posts();
    assert!(posts.values().all(|&n| n == 1), "a second POST: {posts:?}");
    for target in run.json()["targets"].as_array().unwrap() {
        // Attached: it watched the rollback it had sent, and sent nothing.
        assert_eq!(target["action"], "status", "{target}");
        assert_eq!(target["phase"], "rolled_back", "{target}");
        assert_eq!(target["exit_code"], 0, "{target}");
        assert_eq!(target["requests"], serde_json::json!([]), "{target}");
    }
    // Done: a third run reads nothing and sends nothing.
    let before = server.received_requests().await.unwrap().len();
    let run = fleet(dir.path(), &plan(&server.uri(), 4), &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    super::conforms(&run.json());
    let done = outcomes(&run.json());
    assert_eq!(done.len(), 4);
    assert!(
        done.iter().all(|(_, outcome)| outcome == "rolled_back"),
        "{done:?}"
    );
}

#[tokio::test]
async fn a_signal_stops_starting_targets_and_the_running_ones_report() {
    let (farm, server) = Farm::start(usize::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.toml");
    std::fs::write(&file, plan(&server.uri(), 5)).unwrap();
    let mut cmd = rollback();
    cmd.args(["--json", "fleet", "run"])
        .arg(&file)
        .args(["--yes", "--poll-interval", "20ms", "--max-concurrency", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while farm.posts().values().filter(|&&n| n == 1).count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the POSTs never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(8), "{output:?}");
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        outcomes(&doc),
        [
            ("app0".into(), "in_progress".into()),
            ("app1".into(), "in_progress".into()),
            ("app2".into(), "skipped".into()),
            ("app3".into(), "skipped".into()),
            ("app4".into(), "skipped".into()),
        ]
    );
    assert_eq!(doc["targets"][0]["exit_code"], 143);
    assert_eq!(farm.posts().len(), 2, "no target started after the signal");
}
