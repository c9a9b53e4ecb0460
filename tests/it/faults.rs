//! Transport faults through the shared HTTP layer: resets, stalls, cut-off bodies, oversize
//! answers, redirect loops. The rollback request is never sent twice after an ambiguous failure.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::raw::{self, Action, RawServer};

fn app(state: &str) -> serde_json::Value {
    json!({"Name": "fabric:/myapp/app1", "TargetApplicationTypeVersion": "2.0.0", "UpgradeState": state})
}

const PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
const ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

fn sf(uri: &str, rest: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = [
        "sf",
        "--endpoint",
        uri,
        "--poll-interval",
        "20ms",
        "app",
        "start",
        "myapp~app1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(rest.iter().map(|s| s.to_string()));
    all
}

async fn run_owned(argv: Vec<String>) -> Run {
    let mut cmd = rollback();
    cmd.args(argv);
    run(cmd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_after_the_post_rereads_instead_of_resending() {
    let server = RawServer::routes(vec![
        (
            PROGRESS,
            vec![
                raw::json(200, app("RollingForwardInProgress")),
                raw::json(200, app("RollingBackInProgress")),
                raw::json(200, app("RollingBackCompleted")),
            ],
        ),
        (ROLLBACK, vec![Action::Reset]),
        (
            "/Applications/myapp~app1?",
            vec![raw::json(200, json!({"TypeVersion": "1.0.0"}))],
        ),
    ])
    .await;
    let run = run_owned(sf(&server.uri, &["--json"])).await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = server.seen();
    assert_eq!(
        seen.iter().filter(|s| s.line.starts_with("POST")).count(),
        1,
        "sent once"
    );
    assert!(
        seen[2].line.starts_with(&format!("GET {PROGRESS}")),
        "re-read after the reset: {seen:?}"
    );
    assert!(
        run.stderr
            .contains("reading the state again instead of sending the request twice"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["outcome"], "rolled_back");
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_after_the_post_without_a_rollback_exits_1_after_one_post() {
    let server = RawServer::routes(vec![
        (
            PROGRESS,
            vec![raw::json(200, app("RollingForwardInProgress"))],
        ),
        (ROLLBACK, vec![Action::Reset]),
    ])
    .await;
    let run = run_owned(sf(&server.uri, &["--json"])).await;
    // The server may have acted: never "unreachable" (6) once the request has left.
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        server
            .seen()
            .iter()
            .filter(|s| s.line.starts_with("POST"))
            .count(),
        1
    );
    let doc = run.json();
    assert_eq!(doc["error"]["kind"], "unconfirmed");
    let message = doc["error"]["message"].as_str().unwrap().to_string();
    let shape = regex::Regex::new(
        r"^the rollback request may or may not have been received \(the connection to 127\.0\.0\.1:\d+ failed: .+\); myapp~app1 is now upgrading \(RollingForwardInProgress\); check with `status` before trying again$",
    )
    .unwrap();
    assert!(shape.is_match(&message), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_post_that_outlives_the_timeout_says_it_may_have_arrived() {
    let server = RawServer::routes(vec![
        (
            PROGRESS,
            vec![raw::json(200, app("RollingForwardInProgress"))],
        ),
        (
            ROLLBACK,
            vec![Action::Stall(std::time::Duration::from_secs(30))],
        ),
    ])
    .await;
    let run = run_owned(sf(&server.uri, &["--timeout", "1s", "--json"])).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "timed out after 1s; last seen: upgrading (RollingForwardInProgress); the rollback request may have reached the cluster: check with `status` before trying again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_read_is_bounded_by_the_timeout() {
    let server = RawServer::start(vec![Action::Stall(std::time::Duration::from_secs(30))]).await;
    let run = run_owned(sf(&server.uri, &["--timeout", "1s", "--json"])).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "timed out after 1s; no state was read; no rollback was sent"
    );
    assert!(server.seen().iter().all(|s| s.line.starts_with("GET")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_cut_short_is_retried_then_exits_6() {
    let server = RawServer::start(vec![Action::Truncate(
        500,
        "{\"UpgradeState\":\"Roll".into(),
    )])
    .await;
    let run = run_owned(sf(&server.uri, &["--json"])).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(server.seen().len(), 4, "1 read + 3 retries");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the connection to 127.0.0.1:")
    );
    let first = &server.seen()[0];
    assert_eq!(first.header("accept"), Some("application/json"));
    assert_eq!(first.body, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_answer_is_refused_without_reading_it_all() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b' '; 9 * 1024 * 1024], "application/json"),
        )
        .mount(&server)
        .await;
    let run = run_owned(sf(&server.uri(), &["--json"])).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        normalize(
            run.json()["error"]["message"].as_str().unwrap(),
            &server.uri()
        ),
        "the answer from SERVER/Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0 is larger than 8 MiB; stopped reading it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_redirect_loop_stops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", PROGRESS))
        .mount(&server)
        .await;
    let run = run_owned(sf(&server.uri(), &["--json"])).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("more than 5 redirects, starting at")
    );
    assert_eq!(requests(&server).await.len(), 6);
}

async fn read_answered(responses: Vec<ResponseTemplate>) -> (MockServer, Run, std::time::Duration) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(Seq::new(responses))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let mut argv = sf(&server.uri(), &["--json"]);
    argv[6] = "status".into();
    let run = run_owned(argv).await;
    (server, run, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn error_statuses_on_reads_are_retried_then_exit_6() {
    for status in [500u16, 502, 503, 504] {
        let (server, run, _) = read_answered(vec![
            ResponseTemplate::new(status).set_body_raw("<html>proxy error</html>", "text/html"),
        ])
        .await;
        assert_eq!(run.code, 6, "{status}: {run:?}");
        assert_eq!(
            requests(&server).await.len(),
            4,
            "{status}: 1 read + 3 retries"
        );
        let error = &run.json()["error"];
        assert_eq!(error["http_status"], status);
        assert_eq!(
            error["message"],
            format!(
                "GET /Applications/myapp~app1/$/GetUpgradeProgress answered HTTP {status}: <html>proxy error</html>"
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_in_seconds_and_as_a_date_is_honoured() {
    for status in [429u16, 503] {
        // An HTTP date has whole seconds: three seconds ahead is at least two.
        let retry_after = match status {
            429 => "1".to_string(),
            _ => httpdate::fmt_http_date(
                std::time::SystemTime::now() + std::time::Duration::from_secs(3),
            ),
        };
        let (server, run, elapsed) = read_answered(vec![
            ResponseTemplate::new(status).insert_header("Retry-After", retry_after.as_str()),
            ResponseTemplate::new(200).set_body_json(app("RollingForwardInProgress")),
        ])
        .await;
        assert_eq!(run.code, 0, "{status}: {run:?}");
        assert!(
            elapsed >= std::time::Duration::from_millis(950),
            "{status} {retry_after}: waited {elapsed:?}"
        );
        assert_eq!(requests(&server).await.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_content_type_is_not_trusted_the_body_is_read() {
    let (_, run, _) =
        read_answered(vec![ResponseTemplate::new(200).set_body_raw(
            app("RollingForwardInProgress").to_string(),
            "text/plain",
        )])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["phase"], "upgrading");
    let (_, run, _) = read_answered(vec![
        ResponseTemplate::new(200).set_body_raw("<Deployment/>", "application/json"),
    ])
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("): <Deployment/>")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_platform_reports_an_unreachable_endpoint_with_6() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    // Each names where it looked and how to try the tool without a platform.
    let commands: Vec<(Vec<&str>, Env, &str)> = vec![
        (
            vec!["sf", "--endpoint", &uri, "cluster", "status"],
            vec![],
            "check --endpoint (or its variable or profile key); to try the tool without a platform: `rollback --sandbox sf cluster status`",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                "0123abcd-0000-4000-8000-0123456789ab",
                "--service",
                "s",
                "--slot",
                "staging",
                "status",
            ],
            vec![("ROLLBACK_CLOUDSVC_TOKEN", "t")],
            "check --endpoint (or its variable or profile key); to try the tool without a platform: `rollback --sandbox cloudsvc status`",
        ),
        (
            vec!["arcgis", "--url", &uri, "status"],
            vec![("ROLLBACK_ARCGIS_TOKEN", "t")],
            "check --url (or its variable or profile key); to try the tool without a platform: `rollback --sandbox arcgis status`",
        ),
    ];
    for (argv, env, next) in commands {
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 6, "{argv:?}: {run:?}");
        assert_eq!(
            run.stderr,
            format!(
                "error: cannot connect to 127.0.0.1:{port}: Connection refused (os error 111)\nnext: {next}\n"
            )
        );
    }
}
