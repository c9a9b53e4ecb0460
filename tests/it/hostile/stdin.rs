//! Secrets read from stdin or a FIFO that never come: the read gives way to `--timeout` and
//! to Ctrl-C, and nothing is sent.

use std::time::{Duration, Instant};

use super::NOTHING;
use crate::common::*;
use crate::scenario::Scenario;

/// Runs `argv` with a stdin that stays open (nothing written, never closed) and returns the run
/// and how long it took; `signal` is sent once the tool waits on its reading thread.
async fn with_stdin_held_open(argv: &[&str], signal: Option<&str>) -> (Run, Duration) {
    let mut cmd = rollback();
    cmd.args(argv)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    if let Some(signal) = signal {
        let reading = format!("/proc/{}/task", child.id());
        let waits = || {
            std::fs::read_dir(&reading)
                .into_iter()
                .flatten()
                .flatten()
                .any(|task| {
                    std::fs::read_to_string(task.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "read")
                })
        };
        for _ in 0..500 {
            if waits() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(waits(), "the tool never waited on its reading thread");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let pid = child.id().to_string();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let output = match tokio::time::timeout(Duration::from_secs(20), waiting).await {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            panic!("{argv:?} was still reading stdin after 20s");
        }
    };
    let elapsed = started.elapsed();
    drop(stdin);
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    (run, elapsed)
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_stdin_or_a_fifo_gives_way_to_the_timeout_and_ctrl_c() {
    // One server for every run: none of them may send anything until the FIFO is written.
    let scenario = Scenario::catch_all().started().await;
    let uri = scenario.uri();
    let arcgis = format!("{uri}/arcgis");
    let sf = [
        "sf",
        "--endpoint",
        &uri,
        "--token-stdin",
        "cluster",
        "status",
    ];
    let arcgis = ["arcgis", "--url", &arcgis];
    let in_1s = ["--timeout", "1s"];
    let password_stdin = ["--username", "admin", "--password-stdin", "status"];
    for argv in [
        [&in_1s[..], &sf].concat(),
        [&in_1s[..], &arcgis, &password_stdin].concat(),
        [
            &in_1s[..],
            &["--json"],
            &arcgis,
            &["--token-stdin", "status"],
        ]
        .concat(),
    ] {
        let (run, elapsed) = with_stdin_held_open(&argv, None).await;
        assert_eq!(run.code, 5, "{argv:?}: {run:?}");
        assert!(elapsed < Duration::from_secs(8), "{argv:?}: {elapsed:?}");
        assert_eq!(
            run.stderr.lines().last(),
            Some("error: timed out after 1s; no state was read; no rollback was sent"),
            "{argv:?}"
        );
    }
    let (run, elapsed) = with_stdin_held_open(&[&["--json"][..], &sf].concat(), Some("-INT")).await;
    assert_eq!(run.code, 130, "{run:?}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "interrupted; no state was read; no rollback was sent"
    );

    // A token file that is a FIFO nobody writes.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.default.sf]\ntoken_file = \"{}\"\n",
            fifo.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let status = |timeout| {
        let argv = [
            "--config",
            config,
            "sf",
            "--endpoint",
            "SERVER",
            "cluster",
            "status",
        ];
        [&["--timeout", timeout][..], &argv].concat()
    };
    let outcome = scenario.args(status("1s")).run().await;
    outcome.code(5).requests(NOTHING);
    assert!(outcome.elapsed < Duration::from_secs(8));

    // A FIFO that is written is read.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "fifo-MARKER-token\n").unwrap())
    };
    let outcome = outcome.again().args(status("10s")).run().await;
    writer.join().unwrap();
    outcome.code(0);
    assert_eq!(outcome.received.len(), 1);
    assert_eq!(
        outcome.received[0].headers["authorization"],
        "Bearer fifo-MARKER-token"
    );
}
