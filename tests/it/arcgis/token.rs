//! A long rollback job outlives its generated token: the token is renewed before it expires,
//! by time, while the wait goes on (the refusal path, 498 mid-wait, is
//! `password_login_and_refresh_on_498`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::scenario::Scenario;
use crate::scenario::arcgis::*;

/// How long before expiry the tool renews a generated token (`http::token::REFRESH_MARGIN`).
const MARGIN: Duration = Duration::from_secs(300);
/// How long after it is given out the first token falls due.
const DUE_AFTER: Duration = Duration::from_millis(2500);

/// generateToken: first a token due `DUE_AFTER` after it was given out (its `expires`
/// computed when it is answered), then one that lasts.
struct TokenService(AtomicUsize);

impl Respond for TokenService {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let (token, expires) = if n == 0 {
            let at = SystemTime::now() + MARGIN + DUE_AFTER;
            let ms = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            ("gen-MARKER-1", json!(ms as u64))
        } else {
            ("gen-MARKER-2", json!(4_102_444_800_000_i64))
        };
        ResponseTemplate::new(200)
            .set_body_json(json!({"token": token, "expires": expires, "ssl": true}))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_about_to_expire_mid_wait_is_renewed_in_time_without_a_second_rollback() {
    // The job runs for at least 250 polls of 20 ms: longer than the first token is good for.
    let mut jobs = vec![installed()];
    jobs.extend(vec![job("in_progress", 1, &[STARTED]); 250]);
    jobs.push(job("success", 3, &[STARTED, DONE]));
    let out = Scenario::arcgis(jobs)
        .without_env(TOKEN_ENV.0)
        .mock(
            Mock::given(method("POST"))
                .and(path(GENERATE))
                .respond_with(TokenService(AtomicUsize::new(0))),
        )
        .env("ROLLBACK_ARCGIS_PASSWORD", "pw-MARKER-3")
        .args(["start", "--to", "previous", "--username", "admin", "--json"])
        .run()
        .await;
    out.code(0);
    assert_eq!(out.json()["outcome"], "rolled_back");
    let paths: Vec<&str> = out.received.iter().map(|r| r.url.path()).collect();
    let at =
        |wanted: &str| -> Vec<usize> { (0..paths.len()).filter(|&i| paths[i] == wanted).collect() };
    let (generates, rollbacks) = (at(GENERATE), at(ROLLBACK));
    assert_eq!(rollbacks.len(), 1, "one rollback POST: {paths:?}");
    assert_eq!(generates.len(), 2, "one renewal: {paths:?}");
    assert_eq!(generates[0], 0);
    // Renewed during the wait: after the rollback, before the job's last reading.
    let renewed = generates[1];
    assert!(renewed > rollbacks[0] + 1, "{paths:?}");
    assert!(renewed < paths.len() - 1, "{paths:?}");
    // Renewed before anything was refused: each request carries the token then current.
    for (i, request) in out.received.iter().enumerate() {
        if paths[i] == GENERATE {
            continue;
        }
        let token = if i < renewed {
            "gen-MARKER-1"
        } else {
            "gen-MARKER-2"
        };
        assert_eq!(
            request.headers["x-esri-authorization"],
            format!("Bearer {token}").as_str(),
            "request {i} of {paths:?}"
        );
    }
    out.never_shows("MARKER");
}
