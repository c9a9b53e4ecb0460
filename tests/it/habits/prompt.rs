//! The question on the controlling terminal: it names what is abandoned and what is restored on
//! every platform, and it is asked on `/dev/tty` even when stdout and stderr go to a file.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::scenario::{arcgis, cloudsvc};
use crate::terminal::{Act, on_a_terminal, on_a_terminal_then};

async fn route(server: &MockServer, verb: &str, at: &str, answer: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// myapp~app1 upgrading from 1.0.0 (its type version in place) to 2.0.0.
async fn application() -> MockServer {
    let server = MockServer::start().await;
    let progress = json!({"Name": "fabric:/myapp/app1", "TargetApplicationTypeVersion": "2.0.0",
        "UpgradeState": "RollingForwardInProgress"});
    let info = json!({"Id": "myapp~app1", "Name": "fabric:/myapp/app1", "TypeVersion": "1.0.0"});
    let ok = |body| ResponseTemplate::new(200).set_body_json(body);
    route(
        &server,
        "GET",
        "/Applications/myapp~app1/$/GetUpgradeProgress",
        ok(progress),
    )
    .await;
    route(&server, "GET", "/Applications/myapp~app1", ok(info)).await;
    route(
        &server,
        "POST",
        "/Applications/myapp~app1/$/RollbackUpgrade",
        ResponseTemplate::new(200),
    )
    .await;
    server
}

/// Runs `ARGS` on a terminal and answers no; returns the screen.
async fn declined(args: String, env: &[(&str, &str)]) -> String {
    let (code, screen) = on_a_terminal(&args, b"n", env).await;
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("not confirmed; nothing was sent"),
        "{screen}"
    );
    screen
}

#[tokio::test(flavor = "multi_thread")]
async fn the_application_question_names_both_versions_and_the_application() {
    let server = application().await;
    let screen = declined(
        format!(
            "sf --endpoint {} --color never app start myapp~app1",
            server.uri()
        ),
        &[],
    )
    .await;
    assert!(
        screen.contains("Abandon 2.0.0 and return fabric:/myapp/app1 to 1.0.0?"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            "Application fabric:/myapp/app1 on {}/: RollingForwardInProgress",
            server.uri()
        )),
        "{screen}"
    );
    assert!(!screen.contains("Cluster "), "{screen}");
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cloud_services_question_names_the_deployment() {
    let server = MockServer::start().await;
    let xml = |body: String| ResponseTemplate::new(200).set_body_raw(body, "application/xml");
    route(&server, "GET", cloudsvc::SLOT, xml(cloudsvc::updating())).await;
    let screen = declined(
        format!(
            "cloudsvc --endpoint {} --subscription {} --service mysvc --slot production start",
            server.uri(),
            cloudsvc::SUB
        ),
        &[cloudsvc::TOKEN],
    )
    .await;
    assert!(
        screen.contains(
            "Abandon the update in progress and return mysvc/production to its previous deployment (Auto mode)?"
        ),
        "{screen}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_arcgis_question_names_the_patch_by_name_version_and_build() {
    let server = MockServer::start().await;
    route(&server, "POST", arcgis::UP, arcgis::ok(arcgis::installed())).await;
    route(
        &server,
        "POST",
        arcgis::CHECK,
        arcgis::ok(arcgis::options()),
    )
    .await;
    let screen = declined(
        format!("arcgis --url {}/arcgis start --to previous", server.uri()),
        &[arcgis::TOKEN_ENV],
    )
    .await;
    assert!(
        screen.contains(&format!(
            "Abandon the patches after build 505 and return {}/arcgis to Security patch 2 (10.9.0, build 505)?",
            server.uri()
        )),
        "{screen}"
    );
    assert!(!screen.contains("pat_345432_505"), "{screen}");
    let posts: Vec<String> = requests(&server).await;
    assert!(!posts.iter().any(|r| r.contains("/rollback")), "{posts:?}");
}

/// `rollback … > FILE 2>&1` on a terminal: the question still reaches the person.
#[tokio::test(flavor = "multi_thread")]
async fn the_question_goes_to_the_terminal_when_output_goes_to_a_file() {
    let server = application().await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let args = format!(
        "sf --endpoint {} --color never app start myapp~app1 > {} 2>&1",
        server.uri(),
        log.path().display()
    );
    let (code, screen) = on_a_terminal(&args, b"n", &[]).await;
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("Abandon 2.0.0 and return fabric:/myapp/app1 to 1.0.0?"),
        "{screen}"
    );
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(!logged.contains("Abandon"), "{logged}");
    assert!(
        logged.ends_with("error: not confirmed; nothing was sent\n"),
        "{logged:?}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_a_prompt_on_the_terminal_shows_the_cursor_again() {
    let server = application().await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let args = format!(
        "sf --endpoint {} --color never app start myapp~app1 2> {}",
        server.uri(),
        log.path().display()
    );
    let (code, screen) = on_a_terminal_then(&args, Act::Keys(b"\x03"), &[]).await;
    assert_eq!(code, 130, "{screen}");
    let hidden = screen
        .rfind("\x1b[?25l")
        .expect("the prompt hides the cursor");
    assert!(screen[hidden..].contains("\x1b[?25h"), "{screen:?}");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        logged.ends_with("error: interrupted at the prompt; nothing was sent\n"),
        "{logged:?}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}
