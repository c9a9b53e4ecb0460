//! Hostile and malformed command-line input: every value is refused with exit 2 before anything
//! is sent, or travels escaped so that it can never reach another resource.

use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::scenario::cloudsvc::SUB;

async fn catch_all() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"UpgradeState": "RollingForwardCompleted"})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn application_ids_cannot_leave_their_path_segment() {
    let server = catch_all().await;
    let uri = server.uri();
    let ids = [
        "my app",
        "a#frag",
        "a?x=1",
        "a%2F..%2Fb",
        "a%",
        "fabric:/a/b c",
        "fabric:/ünï/cødé",
        "a~b#c?d",
        "$x",
        "fabric:/a/..b",
        "a/b",
        "..",
        ".",
        "fabric:/a/../b",
        "fabric:/..",
        "a\tb",
        "a\u{7f}b",
        "",
        " ",
        "fabric:",
        "fabric:/a//b",
        "~",
        "a~",
    ];
    let segment = regex::Regex::new(r"^/Applications/[^/?#]+/\$/GetUpgradeProgress$").unwrap();
    for id in ids {
        let before = requests(&server).await.len();
        let run = run_args(
            &["sf", "--endpoint", &uri, "app", "status", id, "--json"],
            &[],
        )
        .await;
        let seen = server.received_requests().await.unwrap();
        match run.code {
            0 => {
                assert_eq!(seen.len(), before + 1, "{id:?}");
                let request = seen.last().unwrap();
                assert!(
                    segment.is_match(request.url.path()),
                    "{id:?} reached {}",
                    request.url
                );
                assert_eq!(request.url.query(), Some("api-version=6.0"), "{id:?}");
            }
            2 => {
                assert_eq!(seen.len(), before, "{id:?}: nothing sent");
                assert!(
                    run.stderr.starts_with("error: the application"),
                    "{id:?}: {}",
                    run.stderr
                );
                assert_eq!(run.json()["error"]["kind"], "usage");
            }
            other => panic!("{id:?}: exit {other}: {run:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_numbers_conflicts_and_names_exit_2_with_nothing_sent() {
    let server = catch_all().await;
    let uri = server.uri();
    let cs = |rest: &[&'static str]| {
        let mut v: Vec<String> = [
            "cloudsvc",
            "--endpoint",
            &uri,
            "--subscription",
            SUB,
            "--service",
            "svc",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let sf = |rest: &[&'static str]| {
        let mut v: Vec<String> = ["sf", "--endpoint", &uri]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let cases: Vec<Vec<String>> = vec![
        sf(&["--server-timeout", "-1", "cluster", "status"]),
        sf(&["--server-timeout", "99999999999", "cluster", "status"]),
        sf(&["--server-timeout", "ten", "cluster", "status"]),
        sf(&["--timeout", "-5s", "cluster", "status"]),
        sf(&["--poll-interval", "0s", "cluster", "status"]),
        sf(&["--json", "-o", "text", "cluster", "status"]),
        sf(&["-q", "-v", "cluster", "status"]),
        sf(&["--api-version", "6.0?timeout=1", "cluster", "status"]),
        sf(&["--cert", "/", "cluster", "status"]),
        sf(&["--endpoint", "https://sf.invalid/?x=1", "cluster", "status"]),
        cs(&["--slot", "production", "walk", "--domain", "-1"]),
        cs(&["--slot", "production", "walk", "--domain", "4294967296"]),
        cs(&["--slot", "production", "--deployment", "d", "status"]),
        cs(&["--deployment", "../other", "status"]),
        cs(&["--deployment", "a/b", "status"]),
        cs(&["--deployment", "a?comp=delete", "status"]),
        cs(&[
            "--slot",
            "production",
            "--cert",
            "/c.pem",
            "--publish-settings",
            "/p",
            "status",
        ]),
        cs(&[
            "--slot",
            "production",
            "--cloud",
            "china",
            "--endpoint",
            "https://x.invalid",
            "status",
        ]),
        cs(&["--slot", "production", "start", "--mode", "sideways"]),
        vec![
            "arcgis".into(),
            "--url".into(),
            uri.clone(),
            "--token-stdin".into(),
            "--password-stdin".into(),
            "status".into(),
        ],
        vec![
            "arcgis".into(),
            "--url".into(),
            format!("{uri}/arcgis?token=x"),
            "status".into(),
        ],
    ];
    for argv in cases {
        let run = run_args(
            &argv.iter().map(String::as_str).collect::<Vec<_>>(),
            &[
                ("ROLLBACK_CLOUDSVC_TOKEN", "t"),
                ("ROLLBACK_ARCGIS_TOKEN", "t"),
            ],
        )
        .await;
        assert_eq!(run.code, 2, "{argv:?}: {run:?}");
        assert!(
            run.stderr.starts_with("error: "),
            "{argv:?}: {}",
            run.stderr
        );
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_durations_exit_2_with_nothing_sent() {
    let server = catch_all().await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.long]\ntimeout = \"500000000000y\"\n[profiles.slow]\npoll_interval = \"18446744073709551615s\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let arcgis = format!("{uri}/arcgis");
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (
            vec![
                "--timeout",
                "18446744073709551615s",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            vec![],
        ),
        (
            vec![
                "--timeout",
                "500000000000y",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "start",
            ],
            vec![],
        ),
        (
            vec!["--timeout", "31d", "arcgis", "--url", &arcgis, "status"],
            vec![("ROLLBACK_ARCGIS_TOKEN", "t")],
        ),
        (
            vec![
                "--poll-interval",
                "18446744073709551615s",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            vec![],
        ),
        (
            vec!["sf", "--endpoint", &uri, "cluster", "status"],
            vec![("ROLLBACK_TIMEOUT", "18446744073709551615s")],
        ),
        (
            vec![
                "--config",
                config,
                "--profile",
                "long",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            vec![],
        ),
        (
            vec![
                "--config",
                config,
                "--profile",
                "slow",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            vec![],
        ),
    ];
    for (argv, env) in cases {
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 2, "{argv:?} {env:?}: {run:?}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains("at most 30 days"),
            "{argv:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
    // The longest accepted timeout runs normally.
    let run = run_args(
        &[
            "--timeout",
            "30d",
            "sf",
            "--endpoint",
            &uri,
            "cluster",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
}

/// Every stderr line of a refused value is short: the value is shown as a prefix at most.
fn assert_short_usage_error(run: &Run, what: &str) {
    assert_eq!(run.code, 2, "{what}: {run:?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{what}: {}", run.stderr);
    for line in run.stderr.lines() {
        assert!(line.len() < 300, "{what}: a line of {} bytes", line.len());
    }
    assert!(!run.stderr.contains('\u{1b}'), "{what}: raw escape");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_or_controlled_ids_names_and_header_values_exit_2_with_nothing_sent() {
    let server = catch_all().await;
    let uri = server.uri();
    let long = "a".repeat(100_000);
    let long_path = format!("{uri}/{long}");
    let arcgis = format!("{uri}/arcgis");
    let token = [
        ("ROLLBACK_CLOUDSVC_TOKEN", "t"),
        ("ROLLBACK_ARCGIS_TOKEN", "t"),
    ];
    let cs = |rest: &[&str]| -> Vec<String> {
        ["cloudsvc", "--endpoint", uri.as_str()]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut cases: Vec<(Vec<String>, Env)> = vec![
        (
            owned(&["sf", "--endpoint", &uri, "app", "status", &long, "--json"]),
            vec![],
        ),
        (
            owned(&[
                "sf",
                "--endpoint",
                &uri,
                "app",
                "start",
                &format!("fabric:/{long}"),
            ]),
            vec![],
        ),
        (
            owned(&[
                "sf",
                "--endpoint",
                &uri,
                "app",
                "status",
                "my\u{1b}]0;x\u{7}app",
            ]),
            vec![],
        ),
        (
            owned(&[
                "sf",
                "--endpoint",
                &uri,
                "--api-version",
                &long,
                "cluster",
                "status",
            ]),
            vec![],
        ),
        (
            owned(&["sf", "--endpoint", &long_path, "cluster", "status"]),
            vec![],
        ),
        (
            owned(&[
                "sf",
                "--endpoint",
                &format!("{uri}/a\nb"),
                "cluster",
                "status",
            ]),
            vec![],
        ),
        (
            owned(&["sf", "--endpoint", &uri, "cluster", "status"]),
            vec![("ROLLBACK_SF_TOKEN", "tok\r\nX-Evil: 1")],
        ),
        (
            owned(&["arcgis", "--url", &arcgis, "start", "--to", &long]),
            token.to_vec(),
        ),
        (
            owned(&["arcgis", "--url", &arcgis, "start", "--to", "pat\u{85}_1"]),
            token.to_vec(),
        ),
        (
            owned(&["arcgis", "--url", &arcgis, "--username", &long, "status"]),
            vec![("ROLLBACK_ARCGIS_PASSWORD", "p")],
        ),
        (
            owned(&[
                "arcgis",
                "--url",
                &arcgis,
                "--username",
                "ad\nmin",
                "status",
            ]),
            vec![("ROLLBACK_ARCGIS_PASSWORD", "p")],
        ),
        (
            owned(&["arcgis", "--url", &arcgis, "status"]),
            vec![("ROLLBACK_ARCGIS_TOKEN", "a\u{1}b")],
        ),
    ];
    let long_sub = format!("{}-0000", "0".repeat(100_000));
    let (long_service, long_sub) = (long.as_str(), long_sub.as_str());
    cases.extend([
        (
            cs(&[
                "--subscription",
                SUB,
                "--service",
                long_service,
                "--slot",
                "production",
                "status",
            ]),
            token.to_vec(),
        ),
        (
            cs(&[
                "--subscription",
                SUB,
                "--service",
                "svc",
                "--deployment",
                long_service,
                "status",
            ]),
            token.to_vec(),
        ),
        (
            cs(&[
                "--subscription",
                SUB,
                "--service",
                "s\u{9}vc",
                "--slot",
                "production",
                "status",
            ]),
            token.to_vec(),
        ),
        (
            cs(&[
                "--subscription",
                long_sub,
                "--service",
                "svc",
                "--slot",
                "production",
                "status",
            ]),
            token.to_vec(),
        ),
    ]);
    for (argv, env) in &cases {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let run = run_args(&argv, env).await;
        let what = format!(
            "{:?}",
            argv.iter()
                .map(|a| a.chars().take(30).collect::<String>())
                .collect::<Vec<_>>()
        );
        assert_short_usage_error(&run, &what);
        assert!(
            !run.stderr.contains("X-Evil") || run.stderr.contains("control character"),
            "{what}"
        );
        assert!(
            !run.stdout.contains(&long[..2000]),
            "{what}: the value is echoed on stdout"
        );
    }
    let run = run_args(
        &["sf", "--endpoint", &uri, "app", "status", &long, "--json"],
        &[],
    )
    .await;
    let doc = run.json();
    assert_eq!(doc["error"]["kind"], "usage");
    assert_eq!(
        doc["error"]["message"],
        format!(
            "the application \"{}\"… (100000 bytes) is longer than 1024 bytes",
            &long[..40]
        )
    );
    assert_eq!(doc["target"], format!("{}…", &long[..40]));
    let run = run_args(
        &["sf", "--endpoint", &uri, "cluster", "status"],
        &[("ROLLBACK_SF_TOKEN", "tok\r\nX-Evil: 1")],
    )
    .await;
    assert_eq!(
        run.stderr,
        "error: ROLLBACK_SF_TOKEN contains a control character\n"
    );
    assert!(requests(&server).await.is_empty(), "nothing was sent");
    // 1 KiB is the limit, not less.
    let kib = "b".repeat(1024);
    let run = run_args(&["sf", "--endpoint", &uri, "app", "status", &kib], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_oversize_files_are_refused_quickly() {
    let server = catch_all().await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 * 1024 * 1024))).unwrap();
    let token_dev = dir.path().join("token-dev.toml");
    std::fs::write(
        &token_dev,
        "[profiles.default.sf]\ntoken_file = \"/dev/zero\"\n",
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--config",
                "/dev/zero",
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            "cannot read config file /dev/zero: a character device, not a regular file",
        ),
        (
            vec![
                "--config",
                big.to_str().unwrap(),
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            "larger than 1 MiB",
        ),
        (
            vec![
                "--config",
                dir.path().to_str().unwrap(),
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            "a directory, not a regular file",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--cert",
                "/dev/zero",
                "cluster",
                "status",
            ],
            "cannot read certificate /dev/zero: a character device, not a regular file",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--ca",
                "/dev/zero",
                "cluster",
                "status",
            ],
            "cannot read CA file /dev/zero: a character device",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--cert",
                big.to_str().unwrap(),
                "--key",
                "/dev/zero",
                "cluster",
                "status",
            ],
            "neither PEM",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "svc",
                "--slot",
                "production",
                "--publish-settings",
                "/dev/zero",
                "status",
            ],
            "cannot read publish settings /dev/zero: a character device",
        ),
        (
            vec![
                "--config",
                token_dev.to_str().unwrap(),
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            "token_file: cannot read /dev/zero: a character device, neither a regular file nor a FIFO",
        ),
    ];
    for (argv, needle) in cases {
        let started = std::time::Instant::now();
        let run = run_args(&argv, &[]).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{argv:?} took {:?}",
            started.elapsed()
        );
        assert_short_usage_error(&run, &format!("{argv:?}"));
        assert!(run.stderr.contains(needle), "{argv:?}: {}", run.stderr);
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

/// Runs `argv` with a stdin that stays open (nothing written, never closed) and returns the run
/// and how long it took; `signal` is sent once the tool waits on its reading thread.
async fn with_stdin_held_open(argv: &[&str], signal: Option<&str>) -> (Run, std::time::Duration) {
    let mut cmd = rollback();
    cmd.args(argv)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = std::time::Instant::now();
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
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(waits(), "the tool never waited on its reading thread");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let pid = child.id().to_string();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let output = match tokio::time::timeout(std::time::Duration::from_secs(20), waiting).await {
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
    let server = catch_all().await;
    let uri = server.uri();
    let arcgis = format!("{uri}/arcgis");
    for argv in [
        vec![
            "--timeout",
            "1s",
            "sf",
            "--endpoint",
            &uri,
            "--token-stdin",
            "cluster",
            "status",
        ],
        vec![
            "--timeout",
            "1s",
            "arcgis",
            "--url",
            &arcgis,
            "--username",
            "admin",
            "--password-stdin",
            "status",
        ],
        vec![
            "--timeout",
            "1s",
            "--json",
            "arcgis",
            "--url",
            &arcgis,
            "--token-stdin",
            "status",
        ],
    ] {
        let (run, elapsed) = with_stdin_held_open(&argv, None).await;
        assert_eq!(run.code, 5, "{argv:?}: {run:?}");
        assert!(
            elapsed < std::time::Duration::from_secs(8),
            "{argv:?}: {elapsed:?}"
        );
        assert_eq!(
            run.stderr.lines().last(),
            Some("error: timed out after 1s; no state was read; no rollback was sent"),
            "{argv:?}"
        );
    }
    let (run, elapsed) = with_stdin_held_open(
        &[
            "--json",
            "sf",
            "--endpoint",
            &uri,
            "--token-stdin",
            "cluster",
            "status",
        ],
        Some("-INT"),
    )
    .await;
    assert_eq!(run.code, 130, "{run:?}");
    assert!(elapsed < std::time::Duration::from_secs(8), "{elapsed:?}");
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
    let status = |timeout: &'static str| {
        let argv: Vec<String> = [
            "--timeout",
            timeout,
            "--config",
            config.to_str().unwrap(),
            "sf",
            "--endpoint",
            &uri,
            "cluster",
            "status",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            run_args(&argv, &[]).await
        }
    };
    let started = std::time::Instant::now();
    let run = status("1s").await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert!(requests(&server).await.is_empty(), "nothing was sent");

    // A FIFO that is written is read.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "fifo-MARKER-token\n").unwrap())
    };
    let run = status("10s").await;
    writer.join().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let seen = server.received_requests().await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers["authorization"], "Bearer fifo-MARKER-token");
}
