//! Where requests may go: what counts as this machine, redirects, and proxies. Every test
//! asserts what each loopback server received, so that "nothing was sent there" is checked.

use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

/// `*.localhost` is a name like any other: only `localhost` and loopback IP literals are this
/// machine, so a token over plain http to `x.localhost` is refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_over_plain_http_to_a_localhost_subdomain_is_refused() {
    let server = MockServer::start().await;
    let port = server.address().port();
    let endpoint = format!("http://x.localhost:{port}");
    let run = run_args(
        &["sf", "--endpoint", &endpoint, "cluster", "status", "--json"],
        &[("ROLLBACK_SF_TOKEN", "tok-MARKER")],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: refusing to send a credential over plain http:// to x.localhost: use https (plain http is allowed only to this machine)\n"
    );
    assert_eq!(run.json()["error"]["kind"], "usage");
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

const PROGRESS: &str = "/$/GetUpgradeProgress";
const ROLLBACK: &str = "/$/RollbackUpgrade";

/// A Service Fabric cluster upgrade in `state`.
fn cluster(state: &str) -> serde_json::Value {
    json!({
        "CodeVersion": "7.0.470.9590",
        "UpgradeDescription": {"CodeVersion": "7.1.0", "ConfigVersion": "1"},
        "UpgradeState": state,
        "UpgradeDomains": [{"Name": "UD0", "State": "Completed"}],
        "FailureReason": "None",
    })
}

/// A server that answers anything with 200: it stands for where a redirect must not lead.
async fn elsewhere() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    server
}

fn refused(method: &str, url: &str, status: u16, location: &str, why: &str) -> String {
    format!(
        "{method} {url} answered HTTP {status} with Location {location}: {why}; the redirect was not followed and nothing was sent there"
    )
}

/// ArcGIS generateToken answering 307 to another origin: the form with the password is not
/// sent again, neither to a name that cannot resolve nor to a live server on another port.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirected_generate_token_sends_the_password_nowhere_else() {
    let other = elsewhere().await;
    let locations = [
        "http://evil.invalid/steal".to_string(),
        "https://evil.invalid/steal".to_string(),
        format!("{}/steal", other.uri()),
    ];
    for location in locations {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/arcgis/sharing/rest/generateToken"))
            .respond_with(ResponseTemplate::new(307).insert_header("Location", location.as_str()))
            .mount(&server)
            .await;
        let url = format!("{}/arcgis", server.uri());
        let run = run_args(
            &[
                "arcgis",
                "--url",
                &url,
                "--username",
                "admin",
                "status",
                "--json",
            ],
            &[("ROLLBACK_ARCGIS_PASSWORD", "pw-MARKER")],
        )
        .await;
        assert_eq!(run.code, 1, "{location}: {run:?}");
        let message = refused(
            "POST",
            &format!("{url}/sharing/rest/generateToken"),
            307,
            &location,
            &format!("it leads to another origin than {}", server.uri()),
        );
        assert_eq!(run.stderr, format!("error: {message}\n"), "{location}");
        assert_eq!(
            run.json()["error"],
            json!({"kind": "platform", "message": message, "http_status": 307, "platform_code": null})
        );
        assert_eq!(
            requests(&server).await,
            ["POST /arcgis/sharing/rest/generateToken"],
            "{location}: one request, not retried"
        );
        assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
    }
    assert!(
        requests(&other).await.is_empty(),
        "nothing reached the other origin"
    );
}

async fn sf_upgrading(rollback: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(Seq::json(vec![
            cluster("RollingForwardInProgress"),
            cluster("RollingBackInProgress"),
            cluster("RollingBackCompleted"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROLLBACK))
        .respond_with(rollback)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/$/GetClusterVersion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Version": "7.0.470.9590"})))
        .mount(&server)
        .await;
    server
}

fn sf_start(uri: &str) -> Vec<&str> {
    vec![
        "sf",
        "--endpoint",
        uri,
        "--poll-interval",
        "20ms",
        "cluster",
        "start",
        "--json",
    ]
}

/// The rollback POST answered 307 to another origin (another port on this machine, or another
/// https host): not followed, exit 1 naming the Location, the POST sent once.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_post_redirected_to_another_origin_is_not_followed() {
    let other = elsewhere().await;
    let locations = [
        format!("{}{ROLLBACK}?api-version=6.0", other.uri()),
        format!("https://sf.invalid{ROLLBACK}?api-version=6.0"),
    ];
    for location in locations {
        let server =
            sf_upgrading(ResponseTemplate::new(307).insert_header("Location", location.as_str()))
                .await;
        let uri = server.uri();
        let run = run_args(&sf_start(&uri), &[("ROLLBACK_SF_TOKEN", "tok-MARKER")]).await;
        assert_eq!(run.code, 1, "{location}: {run:?}");
        let url = format!("{uri}{ROLLBACK}?api-version=6.0");
        let message = refused(
            "POST",
            &url,
            307,
            &location,
            &format!("it leads to another origin than {uri}"),
        );
        let doc = run.json();
        assert_eq!(doc["error"]["message"], message.as_str());
        assert_eq!(doc["error"]["kind"], "platform");
        assert_eq!(doc["outcome"], "error");
        assert_eq!(doc["requests"][0]["url"], url.as_str());
        assert!(
            run.stderr.ends_with(&format!("error: {message}\n")),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("accepted"), "{}", run.stderr);
        assert_eq!(
            requests(&server).await,
            [
                "GET /$/GetUpgradeProgress?api-version=6.0",
                "POST /$/RollbackUpgrade?api-version=6.0",
            ],
            "{location}"
        );
    }
    assert!(
        requests(&other).await.is_empty(),
        "nothing reached the other origin"
    );
}

/// A 307 within the endpoint's origin is followed with the method, body and token, and the
/// result document shows the URL the rollback was finally sent to.
#[tokio::test(flavor = "multi_thread")]
async fn a_same_origin_307_is_followed_and_the_result_shows_the_final_url() {
    let server = sf_upgrading(
        ResponseTemplate::new(307)
            .insert_header("Location", "/moved/$/RollbackUpgrade?api-version=6.0"),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/moved/$/RollbackUpgrade"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = run_args(&sf_start(&uri), &[("ROLLBACK_SF_TOKEN", "tok-MARKER")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(
        doc["requests"][0]["url"],
        format!("{uri}/moved/$/RollbackUpgrade?api-version=6.0")
    );
    assert_eq!(doc["requests"].as_array().unwrap().len(), 1);
    let posts = requests_with_method(&server, "POST").await;
    let paths: Vec<&str> = posts.iter().map(|r| r.url.path()).collect();
    assert_eq!(paths, [ROLLBACK, "/moved/$/RollbackUpgrade"]);
    for post in &posts {
        assert_eq!(post.headers["authorization"], "Bearer tok-MARKER");
    }
}

/// 301, 302 and 303 would turn a POST into a GET: refused even within the origin, naming the
/// Location, with nothing sent there.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_that_would_turn_a_post_into_a_get_is_refused() {
    for status in [301, 302, 303] {
        let server =
            sf_upgrading(ResponseTemplate::new(status).insert_header("Location", "/elsewhere"))
                .await;
        let uri = server.uri();
        let run = run_args(&sf_start(&uri), &[]).await;
        assert_eq!(run.code, 1, "{status}: {run:?}");
        assert_eq!(
            run.json()["error"]["message"],
            refused(
                "POST",
                &format!("{uri}{ROLLBACK}?api-version=6.0"),
                status,
                &format!("{uri}/elsewhere"),
                &format!("a {status} would turn the POST into a GET"),
            )
        );
        assert_eq!(
            requests(&server).await,
            [
                "GET /$/GetUpgradeProgress?api-version=6.0",
                "POST /$/RollbackUpgrade?api-version=6.0",
            ],
            "{status}"
        );
    }
}

/// A read may be moved with 301/302/303/307/308 within the origin: it stays a GET.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_redirected_within_the_origin_is_followed() {
    for status in [301, 302, 303, 307, 308] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PROGRESS))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", "/v2/progress?api-version=6.0"),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/progress"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress")),
            )
            .mount(&server)
            .await;
        let run = run_args(
            &[
                "sf",
                "--endpoint",
                &server.uri(),
                "cluster",
                "status",
                "--json",
            ],
            &[],
        )
        .await;
        assert_eq!(run.code, 0, "{status}: {run:?}");
        assert_eq!(run.json()["phase"], "upgrading");
        assert_eq!(
            requests(&server).await,
            [
                "GET /$/GetUpgradeProgress?api-version=6.0",
                "GET /v2/progress?api-version=6.0",
            ]
        );
    }
}
