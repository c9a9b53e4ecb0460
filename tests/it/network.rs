//! Where requests may go: what counts as this machine, redirects, and proxies. Every test
//! asserts what each loopback server received, so that "nothing was sent there" is checked.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
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

/// A "proxy" on 127.0.0.1 that records the head of every request it receives, then closes the
/// connection: it never tunnels or forwards anything.
struct RecordingProxy {
    uri: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buffer).to_string());
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { uri, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

const SF_TOKEN: (&str, &str) = ("ROLLBACK_SF_TOKEN", "tok-MARKER");

/// Every proxy variable set: a loopback endpoint is still reached directly, with its token,
/// and the proxy receives nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_endpoint_is_never_proxied() {
    let proxy = RecordingProxy::start().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress")))
        .mount(&server)
        .await;
    let port = server.address().port();
    let endpoints = [
        server.uri(),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ];
    let p = proxy.uri.as_str();
    let sets: [Env; 4] = [
        vec![("http_proxy", p)],
        vec![("ALL_PROXY", p)],
        vec![("all_proxy", p), ("HTTPS_PROXY", p), ("HTTP_PROXY", p)],
        vec![("http_proxy", p), ("https_proxy", p), ("NO_PROXY", "")],
    ];
    let mut runs = 0;
    for endpoint in &endpoints {
        for env in &sets {
            let mut env = env.clone();
            env.push(SF_TOKEN);
            let run = run_args(&sf_status(endpoint), &env).await;
            if endpoint.contains("[::1]") {
                // The mock listens on 127.0.0.1 only: [::1] is refused, directly, not by way
                // of the proxy (which records nothing, checked below).
                assert_eq!(run.code, 6, "{run:?}");
                assert!(
                    run.stderr.contains("cannot connect to [::1]"),
                    "{}",
                    run.stderr
                );
                continue;
            }
            assert_eq!(run.code, 0, "{endpoint} {env:?}: {run:?}");
            assert!(
                run.stderr.contains(&format!(
                    "{endpoint}: no proxy (a loopback address is never proxied)"
                )),
                "{}",
                run.stderr
            );
            runs += 1;
        }
    }
    assert!(
        proxy.seen().is_empty(),
        "the proxy received {:?}",
        proxy.seen()
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), runs);
    for request in received {
        assert_eq!(request.headers["authorization"], "Bearer tok-MARKER");
    }
}

fn sf_status(endpoint: &str) -> Vec<&str> {
    vec![
        "sf",
        "--endpoint",
        endpoint,
        "-v",
        "cluster",
        "status",
        "--json",
    ]
}

/// An https target through a proxy: a CONNECT tunnel, so the proxy sees the host and port and
/// never the token; when the proxy fails, the error names it (exit 6).
#[tokio::test(flavor = "multi_thread")]
async fn an_https_target_is_tunnelled_and_the_proxy_never_sees_a_credential() {
    let proxy = RecordingProxy::start().await;
    let p = proxy.uri.as_str();
    let cases: [(&str, Env); 4] = [
        ("HTTPS_PROXY", vec![("HTTPS_PROXY", p)]),
        (
            "https_proxy",
            vec![("https_proxy", p), ("HTTPS_PROXY", "http://127.0.0.2:9")],
        ),
        (
            "ALL_PROXY",
            vec![("ALL_PROXY", p), ("http_proxy", "http://127.0.0.2:9")],
        ),
        (
            "all_proxy",
            vec![("all_proxy", p), ("NO_PROXY", "example.invalid,10.0.0.0/8")],
        ),
    ];
    for (var, env) in cases {
        let before = proxy.seen().len();
        let mut env = env.clone();
        env.push(SF_TOKEN);
        let run = run_args(&sf_status("https://sf.invalid"), &env).await;
        assert_eq!(run.code, 6, "{var}: {run:?}");
        let message = run.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.starts_with(&format!(
                "cannot connect to sf.invalid:443 through the proxy {p} (from {var}): "
            )),
            "{var}: {message}"
        );
        assert!(
            run.stderr.contains(&format!(
                "https://sf.invalid: through the proxy {p} (from {var})"
            )),
            "{var}: {}",
            run.stderr
        );
        let seen = proxy.seen();
        assert!(seen.len() > before, "{var}: the proxy was asked");
        for head in &seen[before..] {
            assert!(
                head.starts_with("CONNECT sf.invalid:443 HTTP/1.1\r\n"),
                "{var}: {head}"
            );
            assert!(
                !head.to_ascii_lowercase().contains("authorization"),
                "{head}"
            );
            assert!(!head.contains("MARKER"), "{head}");
        }
        assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
    }
}

/// NO_PROXY (or no_proxy) names the target, a parent domain, or `*`: no proxy is asked.
/// Upper-case HTTP_PROXY is ignored for http targets, as curl does.
#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_and_upper_case_http_proxy_are_honoured_as_curl_does() {
    let proxy = RecordingProxy::start().await;
    let p = proxy.uri.as_str();
    let cases: [(&str, Env, &str); 6] = [
        (
            "https://sf.invalid",
            vec![("HTTPS_PROXY", p), ("NO_PROXY", "sf.invalid")],
            "NO_PROXY exempts it",
        ),
        (
            "https://a.sf.invalid",
            vec![("HTTPS_PROXY", p), ("no_proxy", "x.invalid, .sf.invalid")],
            "no_proxy exempts it",
        ),
        (
            "https://sf.invalid:8443",
            vec![("ALL_PROXY", p), ("NO_PROXY", "*")],
            "NO_PROXY exempts it",
        ),
        (
            "https://sf.invalid",
            vec![
                ("HTTPS_PROXY", p),
                ("NO_PROXY", "10.0.0.0/8, [fd00::1] sf.invalid"),
            ],
            "NO_PROXY exempts it",
        ),
        (
            "http://sf.invalid:19080",
            vec![("HTTP_PROXY", p)],
            "no proxy variable applies; HTTP_PROXY is not read for http://, as curl does: set http_proxy",
        ),
        (
            "https://sf.invalid",
            vec![("http_proxy", p)],
            "no proxy variable applies",
        ),
    ];
    for (endpoint, env, why) in cases {
        let run = run_args(&sf_status(endpoint), &env).await;
        assert_eq!(run.code, 6, "{endpoint} {env:?}: {run:?}");
        let origin = endpoint.trim_end_matches(":443");
        assert!(
            run.stderr.contains(&format!("{origin}: no proxy ({why})")),
            "{endpoint} {env:?}: {}",
            run.stderr
        );
        assert!(
            !run.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("proxy"),
            "{run:?}"
        );
    }
    assert!(
        proxy.seen().is_empty(),
        "the proxy received {:?}",
        proxy.seen()
    );
}

/// A plain http target without a credential goes through http_proxy as an absolute-form
/// request; a proxy variable that is not an http(s) URL is exit 2 before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn plain_http_goes_through_http_proxy_and_bad_proxies_exit_2() {
    let proxy = RecordingProxy::start().await;
    let run = run_args(
        &sf_status("http://sf.invalid:19080"),
        &[("http_proxy", proxy.uri.as_str())],
    )
    .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "sf.invalid:19080 through the proxy {} (from http_proxy)",
                proxy.uri
            )),
        "{run:?}"
    );
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for head in &seen {
        assert!(
            head.starts_with(
                "GET http://sf.invalid:19080/$/GetUpgradeProgress?api-version=6.0 HTTP/1.1\r\n"
            ),
            "{head}"
        );
    }
    let before = seen.len();
    for value in [
        "socks5://127.0.0.1:1080",
        "http://user:pw-MARKER@[::1",
        "ftp://127.0.0.1/",
    ] {
        let run = run_args(
            &sf_status("https://sf.invalid"),
            &[("HTTPS_PROXY", value), SF_TOKEN],
        )
        .await;
        assert_eq!(run.code, 2, "{value}: {run:?}");
        // After -v's line on the settings.
        let stderr: String = run
            .stderr
            .lines()
            .filter(|l| !l.contains(" INFO settings: "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(stderr.starts_with("error: HTTPS_PROXY: "), "{}", run.stderr);
        assert!(!run.stderr.contains("MARKER") && !run.stdout.contains("MARKER"));
    }
    assert_eq!(proxy.seen().len(), before);
}
