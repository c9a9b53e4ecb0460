//! Where requests may go: what counts as this machine, redirects, and proxies. Every test
//! asserts what each loopback server received, so that "nothing was sent there" is checked.

use wiremock::MockServer;

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
