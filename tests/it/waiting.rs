//! Waiting: `Retry-After` never makes a tight loop, `--poll-interval` has a floor, and a run cut
//! short by `--timeout` says what it last saw and what it sent, nothing more.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const PROGRESS: &str = "/$/GetUpgradeProgress";
const ROLLBACK: &str = "/$/RollbackUpgrade";
const PAST: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

fn cluster(state: &str) -> Value {
    json!({
        "CodeVersion": "7.0.470.9590",
        "UpgradeDescription": {"CodeVersion": "7.1.0", "ConfigVersion": "1"},
        "UpgradeState": state,
        "UpgradeDomains": [{"Name": "UD0", "State": "InProgress"}],
        "FailureReason": "None",
    })
}

async fn progress_server(seq: Seq) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(seq)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROLLBACK))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    server
}

fn sf<'a>(uri: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["sf", "--endpoint", uri];
    all.extend_from_slice(rest);
    all
}

/// `Retry-After: 0` (or a date already past) on every poll: the wait keeps the poll interval,
/// so a 1 s timeout with a 200 ms interval sees a handful of polls, not a tight loop.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_zero_on_every_poll_waits_the_poll_interval() {
    for value in ["0", PAST] {
        let answer = ResponseTemplate::new(200)
            .insert_header("Retry-After", value)
            .set_body_json(cluster("RollingBackInProgress"));
        let server = progress_server(Seq::new(vec![answer])).await;
        let uri = server.uri();
        let run = run_args(
            &sf(
                &uri,
                &[
                    "--poll-interval",
                    "200ms",
                    "--timeout",
                    "1s",
                    "cluster",
                    "status",
                    "--watch",
                    "--json",
                ],
            ),
            &[],
        )
        .await;
        assert_eq!(run.code, 5, "{value}: {run:?}");
        assert_eq!(
            run.json()["error"]["message"],
            "timed out after 1s; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster"
        );
        let polls = requests(&server).await.len();
        // 1 s / 200 ms = 5 waits: at most 6 reads, and one more for scheduling slack.
        assert!((3..=7).contains(&polls), "{value}: {polls} polls");
    }
}

/// A read answered 503 with `Retry-After: 0` (or a past date) is retried after the backoff
/// (≥ 125 + 250 + 500 ms over three retries), never at once.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_zero_on_a_failing_read_waits_the_backoff() {
    for value in ["0", PAST] {
        let answer = ResponseTemplate::new(503).insert_header("Retry-After", value);
        let server = progress_server(Seq::new(vec![answer])).await;
        let uri = server.uri();
        let started = Instant::now();
        let run = run_args(&sf(&uri, &["cluster", "status", "--json"]), &[]).await;
        let elapsed = started.elapsed();
        assert_eq!(run.code, 6, "{value}: {run:?}");
        assert_eq!(requests(&server).await.len(), 4, "{value}");
        assert!(
            elapsed >= Duration::from_millis(875),
            "{value}: {elapsed:?}"
        );
    }
}

/// `--poll-interval` below 10 ms, from the flag, the environment or a profile: exit 2, nothing
/// sent. 10 ms itself is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn a_poll_interval_below_10ms_is_exit_2_with_nothing_sent() {
    let server = progress_server(Seq::json(vec![cluster("RollingForwardCompleted")])).await;
    let uri = server.uri();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[profiles.default]\npoll_interval = \"1ms\"\n",
    )
    .unwrap();
    let cfg = config.path().to_str().unwrap();
    let flag_or_env = "the poll interval (--poll-interval or ROLLBACK_POLL_INTERVAL) is 5ms: it must be at least 10ms";
    let cases: [(Vec<&str>, Env, String); 3] = [
        (
            sf(
                &uri,
                &["--poll-interval", "5ms", "cluster", "status", "--json"],
            ),
            vec![],
            flag_or_env.to_string(),
        ),
        (
            sf(&uri, &["cluster", "status", "--json"]),
            vec![("ROLLBACK_POLL_INTERVAL", "5ms")],
            flag_or_env.to_string(),
        ),
        (
            [
                vec!["--config", cfg],
                sf(&uri, &["cluster", "status", "--json"]),
            ]
            .concat(),
            vec![],
            "profile setting poll_interval = \"1ms\": it must be at least 10ms".to_string(),
        ),
    ];
    for (argv, env, message) in cases {
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 2, "{argv:?}: {run:?}");
        assert_eq!(run.stderr, format!("error: {message}\n"));
        assert_eq!(run.json()["error"]["message"], message.as_str());
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
    let run = run_args(
        &sf(&uri, &["--poll-interval", "10ms", "cluster", "status"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
}

/// The rollback was accepted, and the next read never came back: the message says the request
/// was accepted and what was last seen, not that a rollback is running.
#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_before_the_rollback_shows_says_what_was_last_seen() {
    let stalled = ResponseTemplate::new(200)
        .set_delay(Duration::from_secs(10))
        .set_body_json(cluster("RollingBackInProgress"));
    let server = progress_server(Seq::new(vec![
        ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress")),
        stalled,
    ]))
    .await;
    let uri = server.uri();
    let run = run_args(
        &sf(
            &uri,
            &[
                "--poll-interval",
                "20ms",
                "--timeout",
                "1s",
                "cluster",
                "start",
                "--json",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    let message = "timed out after 1s; last seen: upgrading (RollingForwardInProgress); the rollback request was accepted, but the cluster had not shown it running yet";
    assert_eq!(run.json()["error"]["message"], message);
    assert!(
        run.stderr.ends_with(&format!("error: {message}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}

/// Watching an upgrade that never rolls back: nothing was sent, and the message claims no more
/// than the state last seen.
#[tokio::test(flavor = "multi_thread")]
async fn a_watched_upgrade_that_times_out_says_no_rollback_was_sent() {
    let server = progress_server(Seq::json(vec![cluster("RollingForwardInProgress")])).await;
    let uri = server.uri();
    let run = run_args(
        &sf(
            &uri,
            &[
                "--poll-interval",
                "20ms",
                "--timeout",
                "1s",
                "cluster",
                "status",
                "--watch",
                "--json",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "timed out after 1s; last seen: upgrading (RollingForwardInProgress); no rollback was sent"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}
