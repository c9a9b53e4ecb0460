//! Hostile and malformed command-line input: every value is refused with exit 2 before anything
//! is sent, or travels escaped so that it can never reach another resource.

mod stdin;

use std::time::Duration;

use crate::common::*;
use crate::scenario::cloudsvc::SUB;
use crate::scenario::{Outcome, Scenario};

const NOTHING: [&str; 0] = [];

/// `cloudsvc` with a subscription and a service: the deployment is for each case to name.
const CLOUDSVC: [&str; 7] = [
    "cloudsvc",
    "--endpoint",
    "SERVER",
    "--subscription",
    SUB,
    "--service",
    "svc",
];

/// `rollback ARGV` with `env`, `SERVER` in them for a server that answers anything.
async fn run_against_any<S: AsRef<str>>(
    argv: impl IntoIterator<Item = S>,
    env: &[(&str, &str)],
) -> Outcome {
    let mut scenario = Scenario::catch_all().args(argv);
    for (key, value) in env {
        scenario = scenario.env(key, value);
    }
    scenario.run().await
}

#[tokio::test(flavor = "multi_thread")]
async fn application_ids_cannot_leave_their_path_segment() {
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
        let argv = ["sf", "--endpoint", "SERVER", "app", "status", id, "--json"];
        let outcome = run_against_any(&argv, &[]).await;
        match outcome.run.code {
            0 => {
                assert_eq!(outcome.received.len(), 1, "{id:?}");
                let request = &outcome.received[0];
                assert!(
                    segment.is_match(request.url.path()),
                    "{id:?} reached {}",
                    request.url
                );
                assert_eq!(request.url.query(), Some("api-version=6.0"), "{id:?}");
            }
            2 => {
                assert!(outcome.received.is_empty(), "{id:?}: nothing sent");
                assert!(
                    outcome.run.stderr.starts_with("error: the application"),
                    "{id:?}: {}",
                    outcome.run.stderr
                );
                assert_eq!(outcome.json()["error"]["kind"], "usage");
            }
            other => panic!("{id:?}: exit {other}: {:?}", outcome.run),
        }
    }
}

/// The words of `parts`, one after the other.
fn words(parts: &[&[&str]]) -> Vec<String> {
    parts.concat().iter().map(|s| s.to_string()).collect()
}

/// Refused before anything is sent: exit 2, and stderr starts with `error: `.
#[track_caller]
fn refused(outcome: &Outcome, what: &str) {
    assert_eq!(outcome.run.code, 2, "{what}: {:?}", outcome.run);
    assert!(
        outcome.run.stderr.starts_with("error: "),
        "{what}: {}",
        outcome.run.stderr
    );
    outcome.requests(NOTHING);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_numbers_conflicts_and_names_exit_2_with_nothing_sent() {
    let cs = |rest: &[&'static str]| [&CLOUDSVC[..], rest].concat();
    let sf = |rest: &[&'static str]| [&["sf", "--endpoint", "SERVER"][..], rest].concat();
    let cases: Vec<Vec<&str>> = vec![
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
            "arcgis",
            "--url",
            "SERVER",
            "--token-stdin",
            "--password-stdin",
            "status",
        ],
        vec!["arcgis", "--url", "SERVER/arcgis?token=x", "status"],
    ];
    let tokens = [
        ("ROLLBACK_CLOUDSVC_TOKEN", "t"),
        ("ROLLBACK_ARCGIS_TOKEN", "t"),
    ];
    for argv in cases {
        let outcome = run_against_any(&argv, &tokens).await;
        refused(&outcome, &format!("{argv:?}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_durations_exit_2_with_nothing_sent() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.long]\ntimeout = \"500000000000y\"\n[profiles.slow]\npoll_interval = \"18446744073709551615s\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let status = ["sf", "--endpoint", "SERVER", "cluster", "status"];
    let start = ["sf", "--endpoint", "SERVER", "cluster", "start"];
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (
            [&["--timeout", "18446744073709551615s"][..], &status].concat(),
            vec![],
        ),
        (
            [&["--timeout", "500000000000y"][..], &start].concat(),
            vec![],
        ),
        (
            vec![
                "--timeout",
                "31d",
                "arcgis",
                "--url",
                "SERVER/arcgis",
                "status",
            ],
            vec![("ROLLBACK_ARCGIS_TOKEN", "t")],
        ),
        (
            [&["--poll-interval", "18446744073709551615s"][..], &status].concat(),
            vec![],
        ),
        (
            status.to_vec(),
            vec![("ROLLBACK_TIMEOUT", "18446744073709551615s")],
        ),
        (
            [&["--config", config, "--profile", "long"][..], &status].concat(),
            vec![],
        ),
        (
            [&["--config", config, "--profile", "slow"][..], &status].concat(),
            vec![],
        ),
    ];
    for (argv, env) in cases {
        let outcome = run_against_any(&argv, &env).await;
        refused(&outcome, &format!("{argv:?} {env:?}"));
        let stderr = &outcome.run.stderr;
        assert!(stderr.contains("at most 30 days"), "{argv:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The longest accepted timeout runs normally.
    run_against_any(&[&["--timeout", "30d"][..], &status].concat(), &[])
        .await
        .code(0);
}

/// Refused with nothing sent, the error on the last line, and every stderr line short: the value
/// is shown as a prefix at most.
#[track_caller]
fn refused_shortly(outcome: &Outcome, what: &str) {
    let stderr = &outcome.run.stderr;
    assert_eq!(outcome.run.code, 2, "{what}: {:?}", outcome.run);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{what}: {stderr}");
    for line in stderr.lines() {
        assert!(line.len() < 300, "{what}: a line of {} bytes", line.len());
    }
    assert!(!stderr.contains('\u{1b}'), "{what}: raw escape");
    outcome.requests(NOTHING);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_or_controlled_ids_names_and_header_values_exit_2_with_nothing_sent() {
    let long = "a".repeat(100_000);
    let long_path = format!("SERVER/{long}");
    let fabric_long = format!("fabric:/{long}");
    let tokens = [
        ("ROLLBACK_CLOUDSVC_TOKEN", "t"),
        ("ROLLBACK_ARCGIS_TOKEN", "t"),
    ];
    let password = [("ROLLBACK_ARCGIS_PASSWORD", "p")];
    let sf = |rest: &[&str]| words(&[&["sf", "--endpoint", "SERVER"], rest]);
    let arcgis = |rest: &[&str]| words(&[&["arcgis", "--url", "SERVER/arcgis"], rest]);
    let cs = |rest: &[&str]| {
        words(&[
            &["cloudsvc", "--endpoint", "SERVER", "--subscription"],
            rest,
        ])
    };
    let long_sub = format!("{}-0000", "0".repeat(100_000));
    let production = ["--slot", "production", "status"];
    let cases: Vec<(Vec<String>, Env)> = vec![
        (sf(&["app", "status", &long, "--json"]), vec![]),
        (sf(&["app", "start", &fabric_long]), vec![]),
        (sf(&["app", "status", "my\u{1b}]0;x\u{7}app"]), vec![]),
        (sf(&["--api-version", &long, "cluster", "status"]), vec![]),
        (
            ["sf", "--endpoint", &long_path, "cluster", "status"]
                .map(String::from)
                .to_vec(),
            vec![],
        ),
        (
            ["sf", "--endpoint", "SERVER/a\nb", "cluster", "status"]
                .map(String::from)
                .to_vec(),
            vec![],
        ),
        (
            sf(&["cluster", "status"]),
            vec![("ROLLBACK_SF_TOKEN", "tok\r\nX-Evil: 1")],
        ),
        (arcgis(&["start", "--to", &long]), tokens.to_vec()),
        (arcgis(&["start", "--to", "pat\u{85}_1"]), tokens.to_vec()),
        (arcgis(&["--username", &long, "status"]), password.to_vec()),
        (
            arcgis(&["--username", "ad\nmin", "status"]),
            password.to_vec(),
        ),
        (
            arcgis(&["status"]),
            vec![("ROLLBACK_ARCGIS_TOKEN", "a\u{1}b")],
        ),
        (
            cs(&[&[SUB, "--service", &long][..], &production].concat()),
            tokens.to_vec(),
        ),
        (
            cs(&[SUB, "--service", "svc", "--deployment", &long, "status"]),
            tokens.to_vec(),
        ),
        (
            cs(&[&[SUB, "--service", "s\u{9}vc"][..], &production].concat()),
            tokens.to_vec(),
        ),
        (
            cs(&[&[long_sub.as_str(), "--service", "svc"][..], &production].concat()),
            tokens.to_vec(),
        ),
    ];
    for (argv, env) in &cases {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let outcome = run_against_any(&argv, env).await;
        let what = format!(
            "{:?}",
            argv.iter()
                .map(|a| a.chars().take(30).collect::<String>())
                .collect::<Vec<_>>()
        );
        refused_shortly(&outcome, &what);
        let stderr = &outcome.run.stderr;
        assert!(
            !stderr.contains("X-Evil") || stderr.contains("control character"),
            "{what}"
        );
        assert!(
            !outcome.run.stdout.contains(&long[..2000]),
            "{what}: the value is echoed on stdout"
        );
    }
    let outcome = run_against_any(sf(&["app", "status", &long, "--json"]), &[]).await;
    let doc = outcome.json();
    assert_eq!(doc["error"]["kind"], "usage");
    assert_eq!(
        doc["error"]["message"],
        format!(
            "the application \"{}\"… (100000 bytes) is longer than 1024 bytes",
            &long[..40]
        )
    );
    assert_eq!(doc["target"], format!("{}…", &long[..40]));
    run_against_any(
        &["sf", "--endpoint", "SERVER", "cluster", "status"],
        &[("ROLLBACK_SF_TOKEN", "tok\r\nX-Evil: 1")],
    )
    .await
    .stderr("error: ROLLBACK_SF_TOKEN contains a control character\n")
    .requests(NOTHING);
    // 1 KiB is the limit, not less.
    let kib = "b".repeat(1024);
    run_against_any(&["sf", "--endpoint", "SERVER", "app", "status", &kib], &[])
        .await
        .code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn devices_and_oversize_files_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(2 * 1024 * 1024))).unwrap();
    let big = big.to_str().unwrap();
    let token_dev = dir.path().join("token-dev.toml");
    std::fs::write(
        &token_dev,
        "[profiles.default.sf]\ntoken_file = \"/dev/zero\"\n",
    )
    .unwrap();
    let status = ["sf", "--endpoint", "SERVER", "cluster", "status"];
    // `sf --endpoint SERVER FLAGS cluster status`.
    let with = |flags: &[&str]| words(&[&status[..3], flags, &status[3..]]);
    let config = |path: &str| words(&[&["--config", path], &status]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            config("/dev/zero"),
            "cannot read config file /dev/zero: a character device, not a regular file",
        ),
        (config(big), "larger than 1 MiB"),
        (
            config(dir.path().to_str().unwrap()),
            "a directory, not a regular file",
        ),
        (
            with(&["--cert", "/dev/zero"]),
            "cannot read certificate /dev/zero: a character device, not a regular file",
        ),
        (
            with(&["--ca", "/dev/zero"]),
            "cannot read CA file /dev/zero: a character device",
        ),
        (with(&["--cert", big, "--key", "/dev/zero"]), "neither PEM"),
        (
            words(&[
                &CLOUDSVC,
                &["--slot", "production", "--publish-settings", "/dev/zero"],
                &["status"],
            ]),
            "cannot read publish settings /dev/zero: a character device",
        ),
        (
            config(token_dev.to_str().unwrap()),
            "token_file: cannot read /dev/zero: a character device, neither a regular file nor a FIFO",
        ),
    ];
    for (argv, needle) in cases {
        let outcome = run_against_any(&argv, &[]).await;
        assert!(
            outcome.elapsed < Duration::from_secs(10),
            "{argv:?} took {:?}",
            outcome.elapsed
        );
        refused_shortly(&outcome, &format!("{argv:?}"));
        outcome.stderr_contains(needle);
    }
}
