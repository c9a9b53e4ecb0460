//! Progress: a live line on a terminal (the domain being rolled back, the time so far), plain
//! timestamped lines otherwise.

use regex::Regex;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::terminal::on_a_terminal;

fn progress(state: &str, done: usize) -> serde_json::Value {
    let domains: Vec<_> = (0..3)
        .map(|i| {
            let state = if i < done {
                "Completed"
            } else if i == done {
                "InProgress"
            } else {
                "Pending"
            };
            json!({"Name": format!("UD{i}"), "State": state})
        })
        .collect();
    json!({"UpgradeState": state, "TargetApplicationTypeVersion": "2.0.0", "UpgradeDomains": domains,
        "CurrentUpgradeDomainProgress": {"DomainName": format!("UD{done}")}})
}

async fn application() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/Applications/myapp~app1/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![
            progress("RollingForwardInProgress", 1),
            progress("RollingBackInProgress", 1),
            progress("RollingBackInProgress", 1),
            progress("RollingBackInProgress", 2),
            progress("RollingBackCompleted", 3),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/Applications/myapp~app1/$/RollbackUpgrade"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn off_a_terminal_each_change_is_one_timestamped_line() {
    let server = application().await;
    let run = run_args(
        &[
            "sf",
            "--endpoint",
            &server.uri(),
            "--poll-interval",
            "10ms",
            "app",
            "start",
            "myapp~app1",
            "--yes",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let stamp = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ").unwrap();
    assert!(
        run.stderr.lines().all(|l| stamp.is_match(l)),
        "{}",
        run.stderr
    );
    assert_eq!(
        normalize(&run.stderr, &server.uri()),
        "UD 1/3 (UD1): RollingForwardInProgress, 1/3 upgrade domains done, in UD1\n\
         Rollback accepted (HTTP 200).\n\
         UD 1/3 (UD1): RollingBackInProgress, 1/3 upgrade domains done, in UD1\n\
         UD 2/3 (UD2): RollingBackInProgress, 2/3 upgrade domains done, in UD2\n\
         UD 3/3 (UD3): RollingBackCompleted, 3/3 upgrade domains done, in UD3\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_one_live_line_shows_the_domain_and_the_time() {
    let server = application().await;
    let (code, screen) = on_a_terminal(
        &format!(
            "sf --endpoint {} --poll-interval 300ms --color never app start myapp~app1 --yes",
            server.uri()
        ),
        b"",
        &[],
    )
    .await;
    assert_eq!(code, 0, "{screen}");
    // The live line: a spinner, the time so far, where the rollback is; redrawn in place.
    let live = Regex::new(
        r"\[\d+m?s\] UD 2/3 \(UD2\): RollingBackInProgress, 2/3 upgrade domains done, in UD2",
    )
    .unwrap();
    assert!(live.is_match(&screen), "{screen:?}");
    assert!(
        screen.contains("\x1b[2K"),
        "not redrawn in place: {screen:?}"
    );
    // Under a second, the time so far is in milliseconds, as every duration is shown.
    let millis = Regex::new(r"\[[1-9]\d*ms\] ").unwrap();
    assert!(millis.is_match(&screen), "{screen:?}");
    // No timestamps on a terminal.
    let stamp = Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ").unwrap();
    assert!(!stamp.is_match(&screen), "{screen:?}");
    assert!(
        screen.contains("Rolled back myapp~app1 from 2.0.0"),
        "{screen:?}"
    );
}
