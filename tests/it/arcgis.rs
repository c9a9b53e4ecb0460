//! `rollback arcgis …` against a wiremock Administrator API.

mod token;

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::common::*;
use crate::raw::{self, Action, RawServer};
use crate::scenario::arcgis::*;
use crate::scenario::{Outcome, Scenario, error};

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// No request carried a token in its URL.
fn assert_no_token_in_urls(out: &Outcome) {
    for r in &out.received {
        assert!(r.url.query().is_none(), "a query string: {}", r.url);
    }
}

/// How many rollback requests the server received.
fn rollbacks(out: &Outcome) -> usize {
    out.requests
        .iter()
        .filter(|r| r.ends_with("/rollback"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_lists_the_options() {
    let out = Scenario::arcgis(installed()).args(["targets"]).run().await;
    out.code(0)
        .stdout(
            "ID              VERSION     TYPE   NAME\n\
             pat_345431_503  10.9.0.503  patch  Security patch 1\n\
             pat_345432_505  10.9.0.505  patch  Security patch 2\n",
        )
        .requests([format!("POST {UP}"), format!("POST {CHECK}")]);
    for r in &out.received {
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
    assert_no_token_in_urls(&out);
    out.never_shows("MARKER");

    out.again()
        .args(["targets", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "targets", "phase": "idle", "platform_state": "success", "detail": options(),
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_empty_exits_3() {
    Scenario::arcgis(json!({"status": {"state": "no_upgrade", "code": 0, "messages": []}}))
        .post(CHECK, json!({"updates": []}))
        .args(["targets"])
        .run()
        .await
        .code(3)
        .stderr(
            "error: no patch is installed on SERVER/arcgis: there is no version to roll back to\n",
        );
}

/// A rollback to `to`, polled through `in_progress` to `success`.
async fn rollback_to(to: &str, expect_id: &str) {
    let out = Scenario::arcgis([
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("in_progress", 1, &[STARTED, MIDWAY]),
        job("in_progress", 1, &[STARTED, MIDWAY]),
        job("success", 3, &[STARTED, MIDWAY, DONE]),
    ])
    .args(["start", "--to", to, "--json"])
    .run()
    .await;

    out.code(0).requests(rollback_requests(4));
    let post = out
        .received
        .iter()
        .find(|r| r.url.path().ends_with("/rollback"))
        .unwrap();
    let (sent, body) = rollback_sent(expect_id);
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
    assert_no_token_in_urls(&out);
    out.doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back", "platform_state": "success",
        "to_version": if expect_id.ends_with("505") { "10.9.0.505" } else { "10.9.0.503" },
        "requests": sent, "detail": job("success", 3, &[STARTED, MIDWAY, DONE]),
    }))
    // Each job message once, in order, with the server's time, though the job repeats them
    // in every reading: the progress line names the job's state, not its last message again.
    .stderr_normalized(
        "job success (code 3): Update to 10.9.0.505 complete.\n\
         Rollback accepted (HTTP 200).\n\
         [2023-11-14T22:13:20Z] Starting the rollback process from 10.9.0.506 to 10.9.0.505.\n\
         job in_progress (code 1)\n\
         [2023-11-14T22:14:20Z] Rolling back the containers.\n\
         [2023-11-14T22:15:20Z] Rollback complete.\n\
         job success (code 3)\n",
    )
    .never_shows("MARKER");
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
    let out = Scenario::arcgis(installed())
        .args(["start", "--to", to])
        .run()
        .await;
    out.code(exit);
    assert_eq!(
        normalize(&out.run.stderr, &out.uri).lines().last().unwrap(),
        format!("error: {message}")
    );
    assert_eq!(rollbacks(&out), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_id_exits_3_listing_the_options() {
    refused_choice(
        "pat_999_999",
        3,
        "pat_999_999 is not among the versions SERVER/arcgis can roll back to: pat_345431_503  10.9.0.503  patch  Security patch 1; pat_345432_505  10.9.0.505  patch  Security patch 2",
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
    let upgrading = job(
        "in_progress",
        1,
        &[("Upgrading to 11.0.", 1_700_000_000_000, 2020)],
    );
    let out = Scenario::arcgis(upgrading.clone())
        .args(["start", "--to", "previous"])
        .run()
        .await;
    out.code(3)
        .stderr_contains("an upgrade job is running (in_progress)");
    let message = "nothing to roll back for SERVER/arcgis: an upgrade job is running (in_progress); a patch can be rolled back once it has ended";
    out.again()
        .args(["start", "--to", "previous", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "upgrading",
            "platform_state": "in_progress",
            "error": error("nothing_to_roll_back", message, None, None), "detail": upgrading,
        }));

    let out = Scenario::arcgis([
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ])
    .args(["start", "--to", "previous", "--json"])
    .run()
    .await;
    out.doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "success", "detail": job("success", 3, &[STARTED, DONE]),
    }));
    assert_eq!(
        out.requests.len(),
        2,
        "attached: no checkRollback, no rollback"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_terminal_state_exits_1_with_raw_detail() {
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
    let message = "the upgrades job reports state \"failed\" (code 2): Starting the rollback process from 10.9.0.506 to 10.9.0.505. / Container arcgis-portal did not start.";
    Scenario::arcgis([
        installed(),
        job("in_progress", 1, &[STARTED]),
        broken.clone(),
    ])
    .args(["start", "--to", "previous", "--json"])
    .run()
    .await
    .doc(json!({
        "action": "start", "outcome": "error", "exit_code": 1, "platform_state": "failed",
        "requests": rollback_sent("pat_345432_505").0,
        "error": error("unexpected_answer", message, None, None),
        // The job's last message is why.
        "reason": "Container arcgis-portal did not start.", "detail": broken,
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_498_in_a_200_exits_4() {
    let message = "/arcgis/admin/system/upgrades answered error 498: Invalid token.";
    Scenario::arcgis(json!({"error": {"code": 498, "message": "Invalid token.", "details": []}}))
        .args(["status", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "status", "outcome": "error", "exit_code": 4,
            "error": error("auth", message, None, Some("498")),
            "next": ACCESS,
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_error_envelope_on_the_rollback_exits_1() {
    let message = "/arcgis/admin/system/upgrades/rollback answered error 500: A release upgrade cannot be rolled back.";
    let out = Scenario::arcgis(installed())
        .post(
            ROLLBACK,
            json!({"status": "error", "messages": ["A release upgrade cannot be rolled back."], "code": 500}),
        )
        .args(["start", "--to", "previous", "--json"])
        .run()
        .await;
    out.doc(json!({
        "action": "start", "outcome": "error", "exit_code": 1, "phase": "idle",
        "platform_state": "success", "requests": rollback_sent("pat_345432_505").0,
        "error": error("platform", message, None, Some("500")), "detail": installed(),
    }));
    assert_eq!(rollbacks(&out), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn html_instead_of_json_is_an_error_quoting_it() {
    Scenario::arcgis(
        ResponseTemplate::new(200)
            .set_body_raw("<html><title>Sign in</title></html>", "text/html"),
    )
    .args(["status"])
    .run()
    .await
    .code(1)
    .stderr("error: /arcgis/admin/system/upgrades answered something that is not JSON (a login or proxy page?): <html><title>Sign in</title></html>\n");
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
        (CHECK, vec![raw::json(200, options())]),
        (
            ROLLBACK,
            vec![raw::json(200, job("in_progress", 1, &[STARTED]))],
        ),
    ])
    .await;
    let out = Scenario::arcgis_cli()
        .at(&server.uri)
        .args(["start", "--to", "previous", "--json"])
        .run()
        .await;
    out.code(0)
        .stderr_contains("the admin API is not answering")
        .doc(json!({
            "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
            "platform_state": "success", "to_version": "10.9.0.505",
            "requests": rollback_sent("pat_345432_505").0,
            "detail": job("success", 3, &[STARTED, DONE]),
        }));
    let posts = server
        .seen()
        .iter()
        .filter(|s| s.line.contains("/rollback "))
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn job_dates_after_9999_and_huge_numbers_mid_wait_are_shown_raw() {
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
    let out = Scenario::arcgis([
        ok(installed()),
        answer("in_progress", "1", &[started, far]),
        answer("in_progress", "1e300", &[started, far, huge]),
        answer("success", "3", &[started, far, huge, done]),
    ])
    .args(["start", "--to", "previous", "--json"])
    .run()
    .await;
    out.code(0);
    assert!(!out.run.stderr.contains("panicked"), "{}", out.run.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "success");
    assert_eq!(doc["detail"]["status"]["messages"][2]["when"], 1e300);
    out.requests(rollback_requests(3));
    let stderr = normalize(&out.run.stderr, &out.uri);
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
    let out = Scenario::arcgis([
        installed(),
        json!({"status": "error", "messages": ["Token Expired."], "code": 498}),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ])
    .without_env(TOKEN_ENV.0)
    .post(
        GENERATE,
        [
            json!({"token": "gen-MARKER-1", "expires": 4_102_444_800_000_i64, "ssl": true}),
            json!({"token": "gen-MARKER-2", "expires": "4102444800000", "ssl": true}),
        ],
    )
    .env("ROLLBACK_ARCGIS_PASSWORD", "pw-MARKER-&=")
    .args(["start", "--to", "previous", "--username", "admin"])
    .args(["--timeout", "2h", "--json"])
    .run()
    .await;
    out.code(0);
    let all = &out.received;
    let paths: Vec<&str> = all.iter().map(|r| r.url.path()).collect();
    // The 498 answers the first reading after the rollback (mid-wait): one new token, the
    // same reading again with it, and no second rollback POST.
    assert_eq!(paths, [GENERATE, UP, CHECK, ROLLBACK, UP, GENERATE, UP, UP]);
    assert_eq!(rollbacks(&out), 1);
    assert_eq!(out.json()["outcome"], "rolled_back");
    assert_eq!(out.json()["requests"].as_array().map(Vec::len), Some(1));
    let origin = out.uri.clone();
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
    // The token refused was the first one; every reading after the renewal has the new one.
    assert_eq!(
        all[4].headers["x-esri-authorization"],
        "Bearer gen-MARKER-1"
    );
    assert_eq!(
        all[7].headers["x-esri-authorization"],
        "Bearer gen-MARKER-2"
    );
    assert_eq!(
        all[6].headers["x-esri-authorization"],
        "Bearer gen-MARKER-2"
    );
    assert!(form(&all[6].body).contains(&("token".into(), "gen-MARKER-2".into())));
    assert_no_token_in_urls(&out);
    out.never_shows("MARKER");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_mid_wait_without_password_exits_4() {
    let out = Scenario::arcgis([
        installed(),
        job("in_progress", 1, &[STARTED]),
        json!({"error": {"code": 498, "message": "Token expired."}}),
    ])
    .args(["start", "--to", "previous", "--json"])
    .run()
    .await;
    out.code(4);
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("the token expired or is no longer valid (/arcgis/admin/system/upgrades answered error 498: Token expired.); the rollback job had run for "),
        "{message}"
    );
    assert!(
        message.ends_with(" and continues on the ArcGIS deployment"),
        "{message}"
    );
}

/// The `next:` of refused credentials.
const ACCESS: &str = "the ArcGIS deployment refused these credentials: rolling back needs a token (ROLLBACK_ARCGIS_TOKEN) or an account (--username) with the Administrator role of the organization; an expired token must be generated again";

#[tokio::test(flavor = "multi_thread")]
async fn generate_token_refusal_exits_4() {
    Scenario::arcgis(installed())
        .without_env(TOKEN_ENV.0)
        .post(GENERATE, json!({"error": {"code": 400, "message": "Unable to generate token.", "details": ["Invalid username or password."]}}))
        .env("ROLLBACK_ARCGIS_USERNAME", "admin")
        .env("ROLLBACK_ARCGIS_PASSWORD", "wrong")
        .args(["status"])
        .run()
        .await
        .code(4)
        .stderr(&format!("error: generateToken refused the credentials of admin: /arcgis/sharing/rest/generateToken answered error 400: Unable to generate token. (Invalid username or password.)\nnext: {ACCESS}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5() {
    let message = "timed out after 1s; last seen: rolling_back (in_progress); the rollback continues on the ArcGIS deployment";
    Scenario::arcgis([installed(), job("in_progress", 1, &[STARTED])])
        .args(["start", "--to", "previous", "--timeout", "1s", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "start", "outcome": "timed_out", "exit_code": 5, "phase": "rolling_back",
            "platform_state": "in_progress", "requests": rollback_sent("pat_345432_505").0,
            "error": error("timed_out", message, None, None),
            "detail": job("in_progress", 1, &[STARTED]),
            "next": "attach with `rollback arcgis status --watch --url SERVER/arcgis --poll-interval 20ms --timeout 1s --json`",
        }));
}

/// The rollback was accepted but its job has not shown yet (the grace rounds): a timeout says
/// so, and does not claim a rollback is running.
#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_before_the_rollback_job_shows_says_so() {
    let message = "timed out after 1s; last seen: idle (success); the rollback request was accepted, but the ArcGIS deployment had not shown it running yet";
    let out = Scenario::arcgis(installed())
        .post(ROLLBACK, json!({"status": "success"}))
        .poll_interval("700ms")
        .args(["start", "--to", "previous", "--timeout", "1s", "--json"])
        .run()
        .await;
    out.code(5)
        .doc(json!({
            "action": "start", "outcome": "timed_out", "exit_code": 5, "phase": "idle",
            "platform_state": "success", "requests": rollback_sent("pat_345432_505").0,
            "error": error("timed_out", message, None, None), "detail": installed(),
            "next": "attach with `rollback arcgis status --watch --url SERVER/arcgis --poll-interval 700ms --timeout 1s --json`",
        }))
        .stderr_ends_with(&format!("error: {message}\n"));
    assert_eq!(rollbacks(&out), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_rollback() {
    let out = Scenario::arcgis(installed())
        .args(["start", "--to", "previous", "--dry-run"])
        .run()
        .await;
    let body = "versionManifest=%7B%22id%22%3A%22pat_345432_505%22%7D&rollbackSettings=%7B%7D&f=json&token=<redacted>";
    out.code(0)
        .stdout_normalized(&format!(
            "Dry run: SERVER/arcgis is idle (success); nothing was sent. Would send:\n\n\
             POST SERVER/arcgis/admin/system/upgrades/rollback\n\
             User-Agent: rollback/{VERSION}\n\
             X-Esri-Authorization: Bearer <redacted>\n\
             Content-Type: application/x-www-form-urlencoded\n\
             Content-Length: {}\n\n{body}\n",
            body.len() - "<redacted>".len() + "tok-MARKER-1".len()
        ))
        .requests([format!("POST {UP}"), format!("POST {CHECK}")]);

    out.again()
        .args(["start", "--to", "previous", "--dry-run", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "start", "outcome": "would_send", "phase": "idle", "platform_state": "success",
            "dry_run": true, "requests": rollback_sent("pat_345432_505").0, "detail": installed(),
        }));
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
        let scenario = env
            .iter()
            .fold(Scenario::new().args(&argv), |s, (k, v)| s.env(k, v));
        let out = scenario.run().await;
        assert_eq!(out.run.code, 2, "{argv:?}: {:?}", out.run);
        assert!(
            out.run.stderr.contains(needle),
            "{argv:?}: {}",
            out.run.stderr
        );
        assert!(!out.run.stderr.contains("MARKER"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_names_the_password_by_variable_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw");
    std::fs::write(&password_file, "from-file\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.path().join("config.toml");
    let profile = |name: &str| {
        [
            "--config",
            config.to_str().unwrap(),
            "--profile",
            name,
            "arcgis",
            "status",
        ]
        .map(String::from)
    };
    let mut scenario = Scenario::new()
        .post(
            GENERATE,
            json!({"token": "gen-1", "expires": 4_102_444_800_000_i64}),
        )
        .post(UP, installed())
        .file(
            &config,
            &format!(
                "[profiles.env.arcgis]\nurl = \"SERVER/arcgis\"\nusername = \"admin\"\npassword_env = \"GIS_PW\"\n\n\
                 [profiles.file.arcgis]\nurl = \"SERVER/arcgis\"\nusername = \"admin\"\npassword_file = \"{}\"\n",
                password_file.display()
            ),
        )
        .env("GIS_PW", "from-env");
    for (name, expected) in [("env", "from-env"), ("file", "from-file")] {
        let out = scenario.args(profile(name)).run().await;
        out.code(0);
        let generate = out
            .received
            .iter()
            .rev()
            .find(|r| r.url.path().ends_with("generateToken"))
            .unwrap();
        assert!(
            form(&generate.body).contains(&("password".into(), expected.into())),
            "{name}"
        );
        assert!(!out.run.stderr.contains(expected));
        scenario = out.again();
    }
    scenario
        .without_env("GIS_PW")
        .args(profile("env"))
        .run()
        .await
        .code(2)
        .stderr_contains("profile setting arcgis.password_env names GIS_PW, which is not set");
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
    let out = Scenario::arcgis([
        installed(),
        many(100_000, "in_progress"),
        many(100_010, "success"),
    ])
    .args(["start", "--to", "previous", "--json"])
    .run()
    .await;
    out.code(0);
    let doc = out.json();
    let status = &doc["detail"]["status"];
    let kept = status["messages"].as_array().unwrap();
    assert_eq!(kept.len(), 500);
    assert_eq!(status["messages_dropped"], 100_011 - 500);
    assert_eq!(kept.last().unwrap()["message"], "step 100009");
    let stderr = &out.run.stderr;
    assert!(
        stderr.contains("(99501 older job messages not kept; the last 500 are)\n"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    // The ten new messages of the last reading are shown, once each.
    for i in 100_000..100_010 {
        assert_eq!(
            stderr.matches(&format!("] step {i}\n")).count(),
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
    let out = Scenario::arcgis([
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
    ])
    .args(["start", "--to", "previous"])
    .run()
    .await;
    out.code(0);
    let events: Vec<&str> = out
        .run
        .stderr
        .lines()
        .filter(|l| l.contains("] "))
        .map(|l| l.split_once("] ").unwrap().1)
        .collect();
    assert_eq!(
        events,
        [STARTED.0, "first twin", "second twin", "no clock here"],
        "{}",
        out.run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_returns_once_accepted() {
    Scenario::arcgis(installed())
        .args(["start", "--to", "previous", "--no-wait", "--json"])
        .run()
        .await
        .posts(3)
        .doc(json!({
            "action": "start", "outcome": "accepted", "phase": "idle", "platform_state": "success",
            "requests": rollback_sent("pat_345432_505").0, "detail": installed(),
        }));
}

/// `--no-wait` on a rollback job that runs already: nothing is sent, the job is in progress.
#[tokio::test(flavor = "multi_thread")]
async fn no_wait_on_a_running_rollback_is_in_progress() {
    Scenario::arcgis(job("in_progress", 1, &[STARTED]))
        .args(["start", "--to", "previous", "--no-wait", "--json"])
        .run()
        .await
        .requests([format!("POST {UP}")])
        .doc(json!({
            "action": "start", "outcome": "in_progress", "phase": "rolling_back",
            "platform_state": "in_progress", "detail": job("in_progress", 1, &[STARTED]),
        }));
}

/// A rollback job that was running when the run attached to it, then vanished: a failure.
#[tokio::test(flavor = "multi_thread")]
async fn an_attached_rollback_job_that_vanishes_is_a_failure() {
    let gone = json!({"status": {"state": "no_upgrade", "code": 0, "messages": []}});
    let message = "the upgrade ended as no_upgrade instead of rolling back";
    Scenario::arcgis([job("in_progress", 1, &[STARTED]), gone.clone()])
        .args(["start", "--to", "previous", "--json"])
        .run()
        .await
        .posts(2)
        .doc(json!({
            "action": "start", "outcome": "failed", "exit_code": 1, "phase": "idle",
            "platform_state": "no_upgrade", "error": error("rollback_failed", message, None, None),
            "detail": gone,
        }));
}
