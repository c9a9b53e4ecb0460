//! `--help`: a command's own options first, the global ones after them under their own heading,
//! examples on every leaf; `status` and `targets` refuse what only `start` uses.

use serde_json::json;

use crate::common::*;
use crate::scenario::{Scenario, sf};

const NOTHING: [&str; 0] = [];

/// Every leaf command, as typed after `rollback`.
const LEAVES: [&[&str]; 10] = [
    &["sf", "cluster", "start"],
    &["sf", "cluster", "status"],
    &["sf", "app", "start"],
    &["sf", "app", "status"],
    &["cloudsvc", "start"],
    &["cloudsvc", "status"],
    &["cloudsvc", "walk"],
    &["arcgis", "targets"],
    &["arcgis", "start"],
    &["arcgis", "status"],
];

const SENDING_ONLY: [&str; 4] = ["--yes", "--dry-run", "--no-wait", "--if-upgrading"];

async fn help(leaf: &[&str]) -> String {
    let mut args = leaf.to_vec();
    args.push("--help");
    let run = run_args(&args, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn every_leaf_shows_its_own_options_then_the_global_ones_then_examples() {
    for leaf in LEAVES {
        let text = help(leaf).await;
        let own = text.find("\nOptions:\n").expect("own options");
        let global = text.find("\nGlobal options:\n").expect("a global heading");
        let examples = text.find("\nExamples:\n").expect("an examples section");
        assert!(own < global && global < examples, "{leaf:?}:\n{text}");
        // The global options are all under their heading, none among the command's own.
        for option in ["--output", "--profile", "--timeout", "--no-audit"] {
            let at = text
                .find(option)
                .unwrap_or_else(|| panic!("{leaf:?}: {option}"));
            assert!(
                at > global,
                "{leaf:?}: {option} before the heading:\n{text}"
            );
        }
        let first_example = &text[examples..];
        assert!(
            first_example.contains(&format!("\n  rollback {}", leaf.join(" "))),
            "{leaf:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_help_lists_no_sending_only_option_and_start_help_does() {
    for leaf in LEAVES {
        let text = help(leaf).await;
        let read_only = matches!(leaf.last(), Some(&"status" | &"targets"));
        for flag in SENDING_ONLY {
            assert_eq!(
                text.lines()
                    .any(|l| l.split_whitespace().any(|word| word == flag)),
                !read_only,
                "{leaf:?} {flag}:\n{text}"
            );
        }
    }
}

/// A cluster rolling forward to 7.1 whose rollback is accepted; the whole command line is the
/// test's (`SERVER` for the cluster).
fn cluster() -> Scenario {
    let progress = json!({"UpgradeState": "RollingForwardInProgress", "UpgradeDescription": {"CodeVersion": "7.1"}});
    Scenario::new()
        .get(sf::PROGRESS, progress)
        .post(sf::ROLLBACK, 202)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_refuses_sending_only_flags_wherever_they_stand() {
    for flag in SENDING_ONLY {
        for args in [
            vec![flag, "sf", "--endpoint", "SERVER", "cluster", "status"],
            vec!["sf", "--endpoint", "SERVER", flag, "cluster", "status"],
            vec!["sf", "--endpoint", "SERVER", "cluster", "status", flag],
            vec!["sf", "--endpoint", "SERVER", "app", "status", "a~b", flag],
            vec!["arcgis", "--url", "SERVER", "targets", flag],
            vec!["cloudsvc", "status", flag],
        ] {
            cluster()
                .args(args)
                .run()
                .await
                .code(2)
                .stderr_starts_with(&format!("error: {flag} does nothing with `"))
                .stdout("")
                .requests(NOTHING);
        }
    }
    // The short form too.
    cluster()
        .args(["sf", "--endpoint", "SERVER", "cluster", "status", "-wy"])
        .run()
        .await
        .code(2)
        .stderr_starts_with("error: --yes does nothing with `sf cluster status`")
        .requests(NOTHING);
}

#[tokio::test(flavor = "multi_thread")]
async fn sending_only_flags_still_work_before_the_platform() {
    cluster()
        .args([
            "--yes",
            "--no-wait",
            "sf",
            "--endpoint",
            "SERVER",
            "cluster",
            "start",
        ])
        .run()
        .await
        .code(0)
        .posts(1);
}
