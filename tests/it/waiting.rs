//! Waiting: `Retry-After` never makes a tight loop, `--poll-interval` has a floor, and a run cut
//! short by `--timeout` says what it last saw and what it sent, nothing more.

use std::time::Duration;

use wiremock::ResponseTemplate;

use crate::scenario::Scenario;
use crate::scenario::sf::{ROLLBACK, cluster};

const PAST: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

/// The cluster whose progress answers `progress`, with a rollback POST that is accepted.
fn cluster_answering(progress: impl crate::scenario::Answers) -> Scenario {
    Scenario::sf_cluster(progress).post(ROLLBACK, 202)
}

/// `Retry-After: 0` (or a date already past) on every poll: the wait keeps the poll interval,
/// so a 1 s timeout with a 200 ms interval sees a handful of polls, not a tight loop.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_zero_on_every_poll_waits_the_poll_interval() {
    for value in ["0", PAST] {
        let answer = ResponseTemplate::new(200)
            .insert_header("Retry-After", value)
            .set_body_json(cluster("RollingBackInProgress", 1));
        let outcome = cluster_answering(answer)
            .poll_interval("200ms")
            .args(["--timeout", "1s", "cluster", "status", "--watch", "--json"])
            .run()
            .await;
        outcome.code(5);
        assert_eq!(
            outcome.json()["error"]["message"],
            "timed out after 1s; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster"
        );
        let polls = outcome.requests.len();
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
        let outcome = cluster_answering(answer)
            .args(["cluster", "status", "--json"])
            .run()
            .await;
        outcome.code(6);
        assert_eq!(outcome.requests.len(), 4, "{value}");
        assert!(
            outcome.elapsed >= Duration::from_millis(875),
            "{value}: {:?}",
            outcome.elapsed
        );
    }
}

/// `--poll-interval` below 10 ms, from the flag, the environment or a profile: exit 2, nothing
/// sent. 10 ms itself is accepted.
#[tokio::test(flavor = "multi_thread")]
async fn a_poll_interval_below_10ms_is_exit_2_with_nothing_sent() {
    let config = tempfile::NamedTempFile::new().unwrap();
    let cfg = config.path().to_str().unwrap();
    let flag_or_env = "the poll interval (--poll-interval or ROLLBACK_POLL_INTERVAL) is 5ms: it must be at least 10ms";
    let profile = "profile setting poll_interval = \"1ms\": it must be at least 10ms";
    let status = ["cluster", "status", "--json"];
    // The preset's own `--poll-interval` would beat the environment and the profile.
    type Case<'a> = (Box<dyn Fn(Scenario) -> Scenario + 'a>, &'a str);
    let cases: [Case; 3] = [
        (Box::new(|s| s.poll_interval("5ms")), flag_or_env),
        (
            Box::new(|s| s.no_poll_interval().env("ROLLBACK_POLL_INTERVAL", "5ms")),
            flag_or_env,
        ),
        (
            Box::new(|s| {
                s.no_poll_interval()
                    .file(
                        config.path(),
                        "[profiles.default]\npoll_interval = \"1ms\"\n",
                    )
                    .args(["--config", cfg])
            }),
            profile,
        ),
    ];
    for (case, message) in cases {
        let outcome = case(cluster_answering(cluster("RollingForwardCompleted", 3)))
            .args(status)
            .run()
            .await;
        outcome
            .code(2)
            .stderr(&format!("error: {message}\n"))
            .requests(Vec::<String>::new());
        assert_eq!(outcome.json()["error"]["message"], message);
    }
    cluster_answering(cluster("RollingForwardCompleted", 3))
        .poll_interval("10ms")
        .args(["cluster", "status"])
        .run()
        .await
        .code(0);
}

/// The rollback was accepted, and the next read never came back: the message says the request
/// was accepted and what was last seen, not that a rollback is running.
#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_before_the_rollback_shows_says_what_was_last_seen() {
    let stalled = ResponseTemplate::new(200)
        .set_delay(Duration::from_secs(10))
        .set_body_json(cluster("RollingBackInProgress", 1));
    let first = ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress", 1));
    let message = "timed out after 1s; last seen: upgrading (RollingForwardInProgress); the rollback request was accepted, but the cluster had not shown it running yet";
    let outcome = cluster_answering([first, stalled])
        .args(["--timeout", "1s", "cluster", "start", "--json"])
        .run()
        .await;
    outcome
        .code(5)
        .stderr_ends_with(&format!("error: {message}\n"))
        .posts(1);
    assert_eq!(outcome.json()["error"]["message"], message);
}

/// Watching an upgrade that never rolls back: nothing was sent, and the message claims no more
/// than the state last seen.
#[tokio::test(flavor = "multi_thread")]
async fn a_watched_upgrade_that_times_out_says_no_rollback_was_sent() {
    let outcome = cluster_answering(cluster("RollingForwardInProgress", 1))
        .args(["--timeout", "1s", "cluster", "status", "--watch", "--json"])
        .run()
        .await;
    outcome.code(5).posts(0);
    assert_eq!(
        outcome.json()["error"]["message"],
        "timed out after 1s; last seen: upgrading (RollingForwardInProgress); no rollback was sent"
    );
}
