//! `rollback arcgis …` against a wiremock Administrator API.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::raw::{self, Action, RawServer};

const UP: &str = "/arcgis/admin/system/upgrades";
const TOKEN_ENV: (&str, &str) = ("ROLLBACK_ARCGIS_TOKEN", "tok-MARKER-1");

/// The upgrades resource: `messages` = (text, when, code).
fn job(state: &str, code: i64, messages: &[(&str, i64, i64)]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(m, w, c)| json!({"message": m, "when": w, "code": c}))
        .collect();
    json!({"status": {"state": state, "code": code, "messages": messages}})
}

/// The last job: the patch install, long done.
fn installed() -> Value {
    job(
        "success",
        3,
        &[("Update to 10.9.0.505 complete.", 1_600_000_000_000, 2030)],
    )
}

fn options() -> Value {
    json!({"updates": [
        {"id": "pat_345431_503", "name": "Security patch 1", "version": "10.9.0", "build": "503", "updateType": "patch", "previousVersion": "10.9.0.500", "description": "x"},
        {"id": "pat_345432_505", "name": "Security patch 2", "version": "10.9.0", "build": "505", "updateType": "patch", "previousVersion": "10.9.0.503", "description": "y"},
    ]})
}

const STARTED: (&str, i64, i64) = (
    "Starting the rollback process from 10.9.0.506 to 10.9.0.505.",
    1_700_000_000_000,
    2072,
);
const MIDWAY: (&str, i64, i64) = ("Rolling back the containers.", 1_700_000_060_000, 2073);
const DONE: (&str, i64, i64) = ("Rollback complete.", 1_700_000_120_000, 2074);

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount(server: &MockServer, at: &str, seq: Seq) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(seq)
        .mount(server)
        .await;
}

fn args<'a>(url: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["arcgis", "--url", url, "--poll-interval", "20ms"];
    all.extend_from_slice(rest);
    all
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// No request carried a token in its URL.
async fn assert_no_token_in_urls(server: &MockServer) {
    for r in server.received_requests().await.unwrap() {
        assert!(r.url.query().is_none(), "a query string: {}", r.url);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_lists_the_options() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, UP, Seq::json(vec![installed()])).await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    let run = run_args(&args(&url, &["targets"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "ID  VERSION  TYPE  NAME\npat_345431_503  10.9.0.503  patch  Security patch 1\npat_345432_505  10.9.0.505  patch  Security patch 2\n"
    );
    assert_eq!(
        requests(&server).await,
        [format!("POST {UP}"), format!("POST {UP}/checkRollback")]
    );
    for r in server.received_requests().await.unwrap() {
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            "f=json&token=tok-MARKER-1"
        );
        assert_eq!(r.headers["x-esri-authorization"], "Bearer tok-MARKER-1");
        assert_eq!(
            r.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
    }
    assert_no_token_in_urls(&server).await;
    assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));

    let run = run_args(&args(&url, &["targets", "--json"]), &[TOKEN_ENV]).await;
    let doc = run.json();
    assert_eq!(doc["action"], "targets");
    assert_eq!(doc["outcome"], "status");
    assert_eq!(doc["detail"], options());
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_empty_exits_3() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![
            json!({"status": {"state": "no_upgrade", "code": 0, "messages": []}}),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![json!({"updates": []})]),
    )
    .await;
    let run = run_args(&args(&url, &["targets"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("error: no patch is installed on {url}: there is no version to roll back to\n")
    );
}

/// A rollback to `to`, polled through `in_progress` to `success`.
async fn rollback_to(to: &str, expect_id: &str) {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![
            installed(),
            job("in_progress", 1, &[STARTED]),
            job("in_progress", 1, &[STARTED, MIDWAY]),
            job("in_progress", 1, &[STARTED, MIDWAY]),
            job("success", 3, &[STARTED, MIDWAY, DONE]),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;

    let run = run_args(&args(&url, &["start", "--to", to, "--json"]), &[TOKEN_ENV]).await;

    assert_eq!(run.code, 0, "{run:?}");
    let seen = requests(&server).await;
    assert_eq!(
        seen,
        [
            format!("POST {UP}"),
            format!("POST {UP}/checkRollback"),
            format!("POST {UP}/rollback"),
            format!("POST {UP}"),
            format!("POST {UP}"),
            format!("POST {UP}"),
            format!("POST {UP}"),
        ]
    );
    let post = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/rollback"))
        .unwrap();
    let body = format!(
        "versionManifest=%7B%22id%22%3A%22{expect_id}%22%7D&rollbackSettings=%7B%7D&f=json&token=tok-MARKER-1"
    );
    assert_eq!(String::from_utf8(post.body.clone()).unwrap(), body);
    assert_eq!(
        form(&post.body),
        [
            (
                "versionManifest".to_string(),
                format!("{{\"id\":\"{expect_id}\"}}")
            ),
            ("rollbackSettings".into(), "{}".into()),
            ("f".into(), "json".into()),
            ("token".into(), "tok-MARKER-1".into()),
        ]
    );
    assert_eq!(post.headers["x-esri-authorization"], "Bearer tok-MARKER-1");
    assert_no_token_in_urls(&server).await;
    let shown = body.replace("token=tok-MARKER-1", "token=<redacted>");
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "arcgis", "target": url, "action": "start",
            "outcome": "rolled_back", "exit_code": 0, "phase": "rolled_back", "platform_state": "success",
            "from_version": null, "to_version": if expect_id.ends_with("505") { "10.9.0.505" } else { "10.9.0.503" },
            "operation_id": null, "dry_run": false,
            "requests": [{
                "method": "POST", "url": format!("{url}/admin/system/upgrades/rollback"),
                "headers": {
                    "User-Agent": format!("rollback/{VERSION}"), "X-Esri-Authorization": "Bearer <redacted>",
                    "Content-Type": "application/x-www-form-urlencoded", "Content-Length": body.len().to_string(),
                },
                "body": shown,
            }],
            "error": null, "detail": job("success", 3, &[STARTED, MIDWAY, DONE]),
        }),
    );
    // Each job message once, in order, with the server's time.
    assert_eq!(
        normalize(&run.stderr, &url),
        "job success (code 3): Update to 10.9.0.505 complete.\n\
         Rollback accepted (HTTP 200).\n\
         [2023-11-14T22:13:20Z] Starting the rollback process from 10.9.0.506 to 10.9.0.505.\n\
         job in_progress (code 1): Starting the rollback process from 10.9.0.506 to 10.9.0.505.\n\
         [2023-11-14T22:14:20Z] Rolling back the containers.\n\
         job in_progress (code 1): Rolling back the containers.\n\
         [2023-11-14T22:15:20Z] Rollback complete.\n\
         job success (code 3): Rollback complete.\n"
    );
    assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn start_to_previous_picks_the_newest_build() {
    rollback_to("previous", "pat_345432_505").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn start_to_an_id() {
    rollback_to("pat_345431_503", "pat_345431_503").await;
}

async fn refused_choice(to: &str, exit: i32, message: &str) {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, UP, Seq::json(vec![installed()])).await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    let run = run_args(&args(&url, &["start", "--to", to]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, exit, "{run:?}");
    assert_eq!(
        normalize(&run.stderr, &url).lines().last().unwrap(),
        format!("error: {message}")
    );
    assert!(
        !requests(&server)
            .await
            .iter()
            .any(|r| r.ends_with("/rollback"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_id_exits_3_listing_the_options() {
    refused_choice(
        "pat_999_999",
        3,
        "pat_999_999 is not among the versions SERVER can roll back to: pat_345431_503  10.9.0.503  patch  Security patch 1; pat_345432_505  10.9.0.505  patch  Security patch 2",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn release_ids_are_refused() {
    refused_choice(
        "rel_345400_500",
        2,
        "--to rel_345400_500: that is a release; only patches can be rolled back",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_job_running_exits_3_and_a_rollback_job_is_attached() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![job(
            "in_progress",
            1,
            &[("Upgrading to 11.0.", 1_700_000_000_000, 2020)],
        )]),
    )
    .await;
    let run = run_args(&args(&url, &["start", "--to", "previous"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("an upgrade job is running (in_progress)"),
        "{}",
        run.stderr
    );

    let server = MockServer::start().await;
    mount(
        &server,
        UP,
        Seq::json(vec![
            job("in_progress", 1, &[STARTED]),
            job("success", 3, &[STARTED, DONE]),
        ]),
    )
    .await;
    let url = format!("{}/arcgis", server.uri());
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "rolled_back");
    assert_eq!(
        requests(&server).await.len(),
        2,
        "attached: no checkRollback, no rollback"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_terminal_state_exits_1_with_raw_detail() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    let broken = job(
        "failed",
        2,
        &[
            STARTED,
            (
                "Container arcgis-portal did not start.",
                1_700_000_300_000,
                2090,
            ),
        ],
    );
    mount(
        &server,
        UP,
        Seq::json(vec![
            installed(),
            job("in_progress", 1, &[STARTED]),
            broken.clone(),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["outcome"], "error");
    assert_eq!(doc["phase"], "unknown");
    assert_eq!(doc["platform_state"], "failed");
    assert_eq!(doc["detail"], broken);
    assert_eq!(
        doc["error"]["message"],
        "the upgrades job reports state \"failed\" (code 2): Starting the rollback process from 10.9.0.506 to 10.9.0.505. / Container arcgis-portal did not start."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn error_498_in_a_200_exits_4() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::new(vec![ok(
            json!({"error": {"code": 498, "message": "Invalid token.", "details": []}}),
        )]),
    )
    .await;
    let run = run_args(&args(&url, &["status", "--json"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(
        run.json()["error"],
        json!({"kind": "auth", "message": "/arcgis/admin/system/upgrades answered error 498: Invalid token.", "http_status": null, "platform_code": "498"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_error_envelope_on_the_rollback_exits_1() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, UP, Seq::json(vec![installed()])).await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![json!({"status": "error", "messages": ["A release upgrade cannot be rolled back."], "code": 500})]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.json()["error"],
        json!({"kind": "platform", "message": "/arcgis/admin/system/upgrades/rollback answered error 500: A release upgrade cannot be rolled back.", "http_status": null, "platform_code": "500"})
    );
    assert_eq!(
        requests(&server)
            .await
            .iter()
            .filter(|r| r.ends_with("/rollback"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn html_instead_of_json_is_an_error_quoting_it() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::new(vec![ResponseTemplate::new(200).set_body_raw(
            "<html><title>Sign in</title></html>",
            "text/html",
        )]),
    )
    .await;
    let run = run_args(&args(&url, &["status"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: /arcgis/admin/system/upgrades answered something that is not JSON (a login or proxy page?): <html><title>Sign in</title></html>\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_gateway_and_reset_mid_wait_are_survived() {
    let server = RawServer::routes(vec![
        (
            UP,
            vec![
                raw::json(200, installed()),
                raw::json(200, job("in_progress", 1, &[STARTED])),
                Action::Respond(502, vec![], "<html>Bad Gateway</html>".into()),
                Action::Reset,
                Action::Reset,
                Action::Reset,
                Action::Reset,
                raw::json(200, job("success", 3, &[STARTED, DONE])),
            ],
        ),
        (
            &format!("{UP}/checkRollback"),
            vec![raw::json(200, options())],
        ),
        (
            &format!("{UP}/rollback"),
            vec![raw::json(200, job("in_progress", 1, &[STARTED]))],
        ),
    ])
    .await;
    let url = format!("{}/arcgis", server.uri);
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "rolled_back");
    let posts = server
        .seen()
        .iter()
        .filter(|s| s.line.contains("/rollback "))
        .count();
    assert_eq!(posts, 1);
    assert!(
        run.stderr.contains("the admin API is not answering"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn job_dates_after_9999_and_huge_numbers_mid_wait_are_shown_raw() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    // Written by hand: the literal 1e300 as a server sends it.
    let started = r#"{"message": "Starting the rollback process from 10.9.0.506 to 10.9.0.505.", "when": 1700000000000, "code": 2072}"#;
    let far = r#"{"message": "Clock says year 10000.", "when": 253402300800000, "code": 2073}"#;
    let huge = r#"{"message": "Clock says 1e300.", "when": 1e300, "code": 1e300}"#;
    let done = r#"{"message": "Rollback complete.", "when": 1700000120000, "code": 2074}"#;
    let answer = |state: &str, code: &str, messages: &[&str]| {
        ResponseTemplate::new(200).set_body_raw(
            format!(
                r#"{{"status": {{"state": "{state}", "code": {code}, "messages": [{}]}}}}"#,
                messages.join(", ")
            ),
            "application/json",
        )
    };
    mount(
        &server,
        UP,
        Seq::new(vec![
            ok(installed()),
            answer("in_progress", "1", &[started, far]),
            answer("in_progress", "1e300", &[started, far, huge]),
            answer("success", "3", &[started, far, huge, done]),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "success");
    assert_eq!(doc["detail"]["status"]["messages"][2]["when"], 1e300);
    assert_eq!(
        requests(&server).await,
        [
            format!("POST {UP}"),
            format!("POST {UP}/checkRollback"),
            format!("POST {UP}/rollback"),
            format!("POST {UP}"),
            format!("POST {UP}"),
            format!("POST {UP}"),
        ]
    );
    let stderr = normalize(&run.stderr, &url);
    for line in [
        "[2023-11-14T22:13:20Z] Starting the rollback process from 10.9.0.506 to 10.9.0.505.\n",
        "[253402300800000] Clock says year 10000.\n",
        "[1e+300] Clock says 1e300.\n",
    ] {
        assert_eq!(stderr.matches(line).count(), 1, "{line}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn password_login_and_refresh_on_498() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        "/arcgis/sharing/rest/generateToken",
        Seq::json(vec![
            json!({"token": "gen-MARKER-1", "expires": 4_102_444_800_000_i64, "ssl": true}),
            json!({"token": "gen-MARKER-2", "expires": "4102444800000", "ssl": true}),
        ]),
    )
    .await;
    mount(
        &server,
        UP,
        Seq::new(vec![
            ok(installed()),
            ok(json!({"status": "error", "messages": ["Token Expired."], "code": 498})),
            ok(job("in_progress", 1, &[STARTED])),
            ok(job("success", 3, &[STARTED, DONE])),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(
            &url,
            &[
                "start",
                "--to",
                "previous",
                "--username",
                "admin",
                "--timeout",
                "2h",
                "--json",
            ],
        ),
        &[("ROLLBACK_ARCGIS_PASSWORD", "pw-MARKER-&=")],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let all = server.received_requests().await.unwrap();
    let paths: Vec<&str> = all.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/arcgis/sharing/rest/generateToken",
            UP,
            "/arcgis/admin/system/upgrades/checkRollback",
            "/arcgis/admin/system/upgrades/rollback",
            UP,
            "/arcgis/sharing/rest/generateToken",
            UP,
            UP,
        ]
    );
    let origin = server.uri();
    let generate = &all[0];
    assert_eq!(
        form(&generate.body),
        [
            ("username".to_string(), "admin".to_string()),
            ("password".into(), "pw-MARKER-&=".into()),
            ("client".into(), "referer".into()),
            ("referer".into(), origin.clone()),
            ("expiration".into(), "135".into()),
            ("f".into(), "json".into()),
        ]
    );
    assert!(generate.headers.get("x-esri-authorization").is_none());
    assert_eq!(
        all[1].headers["x-esri-authorization"],
        "Bearer gen-MARKER-1"
    );
    assert_eq!(all[1].headers["referer"], origin.as_str());
    assert_eq!(
        all[6].headers["x-esri-authorization"],
        "Bearer gen-MARKER-2"
    );
    assert!(form(&all[6].body).contains(&("token".into(), "gen-MARKER-2".into())));
    assert_no_token_in_urls(&server).await;
    assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_mid_wait_without_password_exits_4() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::new(vec![
            ok(installed()),
            ok(job("in_progress", 1, &[STARTED])),
            ok(json!({"error": {"code": 498, "message": "Token expired."}})),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("the token expired or is no longer valid (/arcgis/admin/system/upgrades answered error 498: Token expired.); the rollback job had run for "),
        "{message}"
    );
    assert!(
        message.ends_with(" and continues on the ArcGIS deployment"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_token_refusal_exits_4() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, "/arcgis/sharing/rest/generateToken", Seq::json(vec![json!({"error": {"code": 400, "message": "Unable to generate token.", "details": ["Invalid username or password."]}})])).await;
    let run = run_args(
        &args(&url, &["status"]),
        &[
            ("ROLLBACK_ARCGIS_USERNAME", "admin"),
            ("ROLLBACK_ARCGIS_PASSWORD", "wrong"),
        ],
    )
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: generateToken refused the credentials of admin: /arcgis/sharing/rest/generateToken answered error 400: Unable to generate token. (Invalid username or password.)\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![installed(), job("in_progress", 1, &[STARTED])]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(
            &url,
            &["start", "--to", "previous", "--timeout", "1s", "--json"],
        ),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "timed out after 1s; last seen: rolling_back (in_progress); the rollback continues on the ArcGIS deployment"
    );
}

/// The rollback was accepted but its job has not shown yet (the grace rounds): a timeout says
/// so, and does not claim a rollback is running.
#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_before_the_rollback_job_shows_says_so() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, UP, Seq::json(vec![installed()])).await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![json!({"status": "success"})]),
    )
    .await;
    let run = run_args(
        &[
            "arcgis",
            "--url",
            &url,
            "--poll-interval",
            "700ms",
            "start",
            "--to",
            "previous",
            "--timeout",
            "1s",
            "--json",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    let message = "timed out after 1s; last seen: idle (success); the rollback request was accepted, but the ArcGIS deployment had not shown it running yet";
    assert_eq!(run.json()["error"]["message"], message);
    assert_eq!(run.json()["phase"], "idle");
    assert!(
        run.stderr.ends_with(&format!("error: {message}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(
        requests(&server)
            .await
            .iter()
            .filter(|r| r.ends_with("/rollback"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_rollback() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(&server, UP, Seq::json(vec![installed()])).await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--dry-run"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let body = "versionManifest=%7B%22id%22%3A%22pat_345432_505%22%7D&rollbackSettings=%7B%7D&f=json&token=<redacted>";
    assert_eq!(
        normalize(&run.stdout, &url),
        format!(
            "Dry run: SERVER/arcgis is idle (success); nothing was sent. Would send:\n\n\
             POST SERVER/arcgis/admin/system/upgrades/rollback\n\
             User-Agent: rollback/{VERSION}\n\
             X-Esri-Authorization: Bearer <redacted>\n\
             Content-Type: application/x-www-form-urlencoded\n\
             Content-Length: {}\n\n{body}\n",
            body.len() - "<redacted>".len() + "tok-MARKER-1".len()
        )
        .replace("SERVER/arcgis", "SERVER")
    );
    assert_eq!(
        requests(&server).await,
        [format!("POST {UP}"), format!("POST {UP}/checkRollback")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_and_url_errors_exit_2() {
    let cases: Vec<(Vec<&str>, Env, &str)> = vec![
        (
            vec!["arcgis", "status"],
            vec![TOKEN_ENV],
            "--url https://HOST/CONTEXT is required",
        ),
        (
            vec!["arcgis", "--url", "http://gis.invalid/arcgis", "status"],
            vec![TOKEN_ENV],
            "refusing to send a credential over plain http:// to gis.invalid",
        ),
        (
            vec!["arcgis", "--url", "https://gis.invalid/arcgis", "status"],
            vec![],
            "no credential",
        ),
        (
            vec![
                "arcgis",
                "--url",
                "https://gis.invalid/arcgis",
                "--username",
                "admin",
                "status",
            ],
            vec![],
            "give the password in ROLLBACK_ARCGIS_PASSWORD",
        ),
        (
            vec![
                "arcgis",
                "--url",
                "https://gis.invalid/arcgis",
                "--token-stdin",
                "--password-stdin",
                "status",
            ],
            vec![],
            "cannot be used with",
        ),
        (
            vec![
                "arcgis",
                "--url",
                "https://gis.invalid/arcgis",
                "start",
                "--to",
                "",
            ],
            vec![TOKEN_ENV],
            "--to \"\"",
        ),
        (
            vec!["arcgis", "--url", "https://gis.invalid/arcgis", "start"],
            vec![TOKEN_ENV],
            "--to",
        ),
    ];
    for (argv, env, needle) in cases {
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 2, "{argv:?}: {run:?}");
        assert!(run.stderr.contains(needle), "{argv:?}: {}", run.stderr);
        assert!(!run.stderr.contains("MARKER"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_names_the_password_by_variable_or_file() {
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        "/arcgis/sharing/rest/generateToken",
        Seq::json(vec![
            json!({"token": "gen-1", "expires": 4_102_444_800_000_i64}),
        ]),
    )
    .await;
    mount(&server, UP, Seq::json(vec![installed()])).await;
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, "from-file\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.env.arcgis]\nurl = \"{url}\"\nusername = \"admin\"\npassword_env = \"GIS_PW\"\n\n\
             [profiles.file.arcgis]\nurl = \"{url}\"\nusername = \"admin\"\npassword_file = \"{}\"\n",
            password_file.display()
        ),
    )
    .unwrap();
    for (profile, expected) in [("env", "from-env"), ("file", "from-file")] {
        let run = run_args(
            &[
                "--config",
                config.to_str().unwrap(),
                "--profile",
                profile,
                "arcgis",
                "status",
            ],
            &[("GIS_PW", "from-env")],
        )
        .await;
        assert_eq!(run.code, 0, "{profile}: {run:?}");
        let generate = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .rev()
            .find(|r| r.url.path().ends_with("generateToken"))
            .unwrap();
        assert!(
            form(&generate.body).contains(&("password".into(), expected.into())),
            "{profile}"
        );
        assert!(!run.stderr.contains(expected));
    }
    let run = run_args(
        &[
            "--config",
            config.to_str().unwrap(),
            "--profile",
            "env",
            "arcgis",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("profile setting arcgis.password_env names GIS_PW, which is not set"),
        "{}",
        run.stderr
    );
}

/// A job that logs without end: only the last messages are kept, and the drop is said.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_with_100k_messages_keeps_the_last_500() {
    let many = |n: usize, state: &str| {
        let mut messages: Vec<Value> =
            vec![json!({"message": STARTED.0, "when": STARTED.1, "code": STARTED.2})];
        messages.extend((0..n).map(|i| json!({"message": format!("step {i}"), "when": STARTED.1 + 1 + i as i64, "code": 2073})));
        json!({"status": {"state": state, "code": 1, "messages": messages}})
    };
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![
            installed(),
            many(100_000, "in_progress"),
            many(100_010, "success"),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(
        &args(&url, &["start", "--to", "previous", "--json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    let status = &doc["detail"]["status"];
    let kept = status["messages"].as_array().unwrap();
    assert_eq!(kept.len(), 500);
    assert_eq!(status["messages_dropped"], 100_011 - 500);
    assert_eq!(kept.last().unwrap()["message"], "step 100009");
    assert!(
        run.stderr
            .contains("(99501 older job messages not kept; the last 500 are)\n"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    // The ten new messages of the last reading are shown, once each.
    for i in 100_000..100_010 {
        assert_eq!(
            run.stderr.matches(&format!("] step {i}\n")).count(),
            1,
            "step {i}"
        );
    }
}

/// Messages with the same `when`, or none, are each shown once, in the server's order.
#[tokio::test(flavor = "multi_thread")]
async fn messages_with_equal_or_no_time_are_shown_once_each() {
    let twin = |text: &str| json!({"message": text, "when": STARTED.1 + 5, "code": 2073});
    let started = json!({"message": STARTED.0, "when": STARTED.1, "code": STARTED.2});
    let untimed = json!({"message": "no clock here", "code": 2075});
    let doc = |state: &str, messages: Vec<Value>| json!({"status": {"state": state, "code": 1, "messages": messages}});
    let server = MockServer::start().await;
    let url = format!("{}/arcgis", server.uri());
    mount(
        &server,
        UP,
        Seq::json(vec![
            installed(),
            doc("in_progress", vec![started.clone(), twin("first twin")]),
            doc(
                "in_progress",
                vec![started.clone(), twin("first twin"), twin("second twin")],
            ),
            doc(
                "in_progress",
                vec![
                    started.clone(),
                    twin("first twin"),
                    twin("second twin"),
                    untimed.clone(),
                ],
            ),
            doc(
                "success",
                vec![started, twin("first twin"), twin("second twin"), untimed],
            ),
        ]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    let run = run_args(&args(&url, &["start", "--to", "previous"]), &[TOKEN_ENV]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let events: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("] "))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        events,
        [STARTED.0, "first twin", "second twin", "no clock here"],
        "{}",
        run.stderr
    );
}
