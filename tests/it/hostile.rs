//! Hostile and malformed command-line input: every value is refused with exit 2 before anything
//! is sent, or travels escaped so that it can never reach another resource.

use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

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
    let sub = "0123abcd-0000-4000-8000-0123456789ab";
    let cs = |rest: &[&'static str]| {
        let mut v: Vec<String> = [
            "cloudsvc",
            "--endpoint",
            &uri,
            "--subscription",
            sub,
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
