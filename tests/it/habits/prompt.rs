//! The question on the controlling terminal: it names what is abandoned and what is restored on
//! every platform, and it is asked on `/dev/tty` even when stdout and stderr go to a file.

use serde_json::json;

use crate::scenario::sf::APP_ROLLBACK;
use crate::scenario::terminal::Act;
use crate::scenario::{Outcome, Scenario, arcgis, cloudsvc};

/// `sf app start myapp~app1 --color never` on myapp~app1 upgrading from 1.0.0 (its type
/// version in place) to 2.0.0.
fn application_start() -> Scenario {
    let progress = json!({"Name": "fabric:/myapp/app1", "TargetApplicationTypeVersion": "2.0.0",
        "UpgradeState": "RollingForwardInProgress"});
    Scenario::sf_app(progress)
        .app_info()
        .post(APP_ROLLBACK, 200)
        .args(["--color", "never", "app", "start", "myapp~app1"])
}

/// Runs on a terminal and answers no: exit 130, "nothing was sent".
async fn declined(scenario: Scenario) -> Outcome {
    let outcome = scenario.on_terminal(Act::Keys(b"n")).await;
    outcome
        .code(130)
        .screen_contains("not confirmed; nothing was sent");
    outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn the_application_question_names_both_versions_and_the_application() {
    let outcome = declined(application_start()).await;
    outcome
        .screen_contains("Abandon 2.0.0 and return fabric:/myapp/app1 to 1.0.0?")
        .screen_contains("Application fabric:/myapp/app1 on SERVER/: RollingForwardInProgress")
        .posts(0);
    assert!(
        !outcome.run.stdout.contains("Cluster "),
        "{:?}",
        outcome.run
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_services_question_names_the_deployment() {
    declined(Scenario::cloudsvc(cloudsvc::updating()).args(["start"]))
        .await
        .screen_contains(
            "Abandon the update in progress and return mysvc/production to its previous deployment (Auto mode)?",
        )
        .posts(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_arcgis_question_names_the_patch_by_name_version_and_build() {
    let outcome = declined(
        Scenario::arcgis_cli()
            .post(arcgis::UP, arcgis::installed())
            .post(arcgis::CHECK, arcgis::options())
            .args(["start", "--to", "previous"]),
    )
    .await;
    outcome.screen_contains(
        "Abandon the patches after build 505 and return SERVER/arcgis to Security patch 2 (10.9.0, build 505)?",
    );
    assert!(
        !outcome.run.stdout.contains("pat_345432_505"),
        "{:?}",
        outcome.run
    );
    assert!(
        !outcome.requests.iter().any(|r| r.contains("/rollback")),
        "{:?}",
        outcome.requests
    );
}

/// `rollback … > FILE 2>&1` on a terminal: the question still reaches the person.
#[tokio::test(flavor = "multi_thread")]
async fn the_question_goes_to_the_terminal_when_output_goes_to_a_file() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let outcome = application_start()
        .on_terminal_then(Act::Keys(b"n"), &format!("> {} 2>&1", log.path().display()))
        .await;
    outcome
        .code(130)
        .screen_contains("Abandon 2.0.0 and return fabric:/myapp/app1 to 1.0.0?")
        .posts(0);
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(!logged.contains("Abandon"), "{logged}");
    assert!(
        logged.ends_with("error: not confirmed; nothing was sent\n"),
        "{logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_a_prompt_on_the_terminal_shows_the_cursor_again() {
    let log = tempfile::NamedTempFile::new().unwrap();
    application_start()
        .on_terminal_then(Act::Keys(b"\x03"), &format!("2> {}", log.path().display()))
        .await
        .code(130)
        .cursor_shown_again()
        .posts(0);
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.ends_with("error: interrupted at the prompt; nothing was sent\n"),
        "{logged:?}"
    );
}
