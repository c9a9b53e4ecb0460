//! The confirmation prompt, on a real pseudo-terminal (util-linux `script`): asked only when
//! stdin and stderr are terminals, without `--yes` and without `CI`.

use serde_json::json;

use crate::injection::{EVIL, SHOWN};
use crate::scenario::Scenario;
use crate::scenario::sf::ROLLBACK;
use crate::scenario::terminal::Act;

const QUESTION: &str = "Abandon 7.1.0 and return the cluster to its previous version?";

/// `sf cluster start` on a cluster rolling forward to 7.1.0, rolled back once asked.
fn cluster_start() -> Scenario {
    let progress = |state: &str| json!({"UpgradeState": state, "UpgradeDescription": {"CodeVersion": "7.1.0"}});
    Scenario::sf_cluster([
        progress("RollingForwardInProgress"),
        progress("RollingBackCompleted"),
    ])
    .post(ROLLBACK, 202)
    .args(["cluster", "start"])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_is_asked_and_no_means_nothing_is_sent() {
    cluster_start()
        .on_terminal(Act::Keys(b"n"))
        .await
        .code(130)
        .screen_contains(QUESTION)
        .screen_contains("not confirmed; nothing was sent")
        .posts(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_prompt_sends_nothing() {
    cluster_start()
        .on_terminal(Act::Keys(b"\x03"))
        .await
        .code(130)
        .screen_contains("interrupted at the prompt; nothing was sent")
        .cursor_shown_again()
        .posts(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_at_the_prompt_rolls_back() {
    cluster_start()
        .on_terminal(Act::Keys(b"y"))
        .await
        .code(0)
        .screen_contains(QUESTION)
        .posts(1);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_flag_and_ci_mean_no_prompt() {
    for scenario in [
        cluster_start().args(["--yes"]),
        cluster_start().env("CI", "true"),
    ] {
        let outcome = scenario.on_terminal(Act::Keys(b"")).await;
        outcome.code(0).posts(1);
        assert!(!outcome.run.stdout.contains(QUESTION), "{:?}", outcome.run);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_cannot_rewrite_the_prompt() {
    let outcome = Scenario::sf_cluster(crate::injection::progress("RollingForwardInProgress"))
        .args(["--color", "never", "cluster", "start"])
        .on_terminal(Act::Keys(b"n"))
        .await;
    // The question and its context show the server's words escaped, on their own lines.
    outcome
        .code(130)
        .screen_contains(&format!(
            "Abandon {SHOWN} and return the cluster to its previous version?"
        ))
        .screen_contains(&format!(
            ": RollingForwardInProgress, 0/1 upgrade domains done, in {SHOWN}\r\n"
        ))
        .screen_contains("not confirmed; nothing was sent")
        .posts(0);
    let screen = &outcome.run.stdout;
    for raw in ["\x1b[2J", "\x1b]52", "\u{9b}", "\u{202e}", "\x07"] {
        assert!(
            !screen.contains(raw),
            "{raw:?} reached the terminal: {screen:?}"
        );
    }
    assert!(
        !screen.lines().any(|l| l.starts_with("error: all good")),
        "{screen:?}"
    );
    assert!(!screen.contains(EVIL), "{screen:?}");
}

async fn signal_at_the_prompt(signal: &'static str, code: i32, said: &str) {
    cluster_start()
        .args(["--color", "never"])
        .on_terminal(Act::Signal(signal))
        .await
        .code(code)
        .screen_contains(QUESTION)
        .screen_contains(&format!(
            "error: {said}; last seen: upgrading (RollingForwardInProgress); no rollback was sent"
        ))
        .posts(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_at_the_prompt_exits_143_and_sends_nothing() {
    signal_at_the_prompt("TERM", 143, "terminated (SIGTERM)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_ended_by_a_signal_gives_the_terminal_back_as_it_was() {
    let outcome = cluster_start()
        .args(["--color", "never"])
        .on_terminal_then(Act::Signal("TERM"), "; echo exit=$?; stty -a")
        .await;
    outcome
        .code(0)
        .screen_contains("exit=143")
        .cursor_shown_again();
    // Line editing, echo and signal keys are back on: the prompt's raw mode did not outlive
    // the run; and the cursor it hid is shown again.
    let modes: Vec<&str> = outcome.run.stdout.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(modes.contains(&mode), "{mode} is off: {:?}", outcome.run);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_at_the_prompt_exits_129_and_sends_nothing() {
    signal_at_the_prompt("HUP", 129, "hung up (SIGHUP)").await;
}
