//! Progress: a live line on a terminal (the domain being rolled back, the time so far), plain
//! timestamped lines otherwise.

use regex::Regex;
use serde_json::json;

use crate::scenario::Scenario;
use crate::scenario::sf::APP_ROLLBACK;
use crate::scenario::terminal::Act;

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

/// `sf app start myapp~app1 --yes` on an application rolled back through its three domains.
fn application_start() -> Scenario {
    Scenario::sf_app([
        progress("RollingForwardInProgress", 1),
        progress("RollingBackInProgress", 1),
        progress("RollingBackInProgress", 1),
        progress("RollingBackInProgress", 2),
        progress("RollingBackCompleted", 3),
    ])
    .post(APP_ROLLBACK, 200)
    .args(["app", "start", "myapp~app1", "--yes"])
}

#[tokio::test(flavor = "multi_thread")]
async fn off_a_terminal_each_change_is_one_timestamped_line() {
    let outcome = application_start().poll_interval("10ms").run().await;
    outcome.code(0);
    let stamp = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ").unwrap();
    assert!(
        outcome.run.stderr.lines().all(|l| stamp.is_match(l)),
        "{}",
        outcome.run.stderr
    );
    outcome.stderr_normalized(
        "UD 1/3 (UD1): RollingForwardInProgress, 1/3 upgrade domains done, in UD1\n\
         Rollback accepted (HTTP 200).\n\
         UD 1/3 (UD1): RollingBackInProgress, 1/3 upgrade domains done, in UD1\n\
         UD 2/3 (UD2): RollingBackInProgress, 2/3 upgrade domains done, in UD2\n\
         UD 3/3 (UD3): RollingBackCompleted, 3/3 upgrade domains done, in UD3\n",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_one_live_line_shows_the_domain_and_the_time() {
    let outcome = application_start()
        .poll_interval("300ms")
        .args(["--color", "never"])
        .on_terminal(Act::Keys(b""))
        .await;
    let screen = &outcome.run.stdout;
    outcome.code(0);
    // The live line: a spinner, the time so far, where the rollback is; redrawn in place.
    let live = Regex::new(
        r"\[\d+m?s\] UD 2/3 \(UD2\): RollingBackInProgress, 2/3 upgrade domains done, in UD2",
    )
    .unwrap();
    assert!(live.is_match(screen), "{screen:?}");
    assert!(
        screen.contains("\x1b[2K"),
        "not redrawn in place: {screen:?}"
    );
    // Under a second, the time so far is in milliseconds, as every duration is shown.
    let millis = Regex::new(r"\[[1-9]\d*ms\] ").unwrap();
    assert!(millis.is_match(screen), "{screen:?}");
    // No timestamps on a terminal.
    let stamp = Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ").unwrap();
    assert!(!stamp.is_match(screen), "{screen:?}");
    assert!(
        screen.contains("Rolled back myapp~app1 from 2.0.0"),
        "{screen:?}"
    );
}
