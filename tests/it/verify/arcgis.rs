//! `--verify` on ArcGIS Enterprise on Kubernetes: the version after the rollback, then the
//! health check (11.2 and later), or `unknown` with a note on an older deployment.

use serde_json::{Value, json};

use crate::scenario::arcgis::*;
use crate::scenario::{Scenario, error};

/// `start --to previous --verify` on a deployment whose rollback completes and whose
/// currentVersion, health check run and report answer as given.
fn rolled_back(
    current: impl crate::scenario::Answers,
    run: impl crate::scenario::Answers,
    report: impl crate::scenario::Answers,
) -> Scenario {
    Scenario::arcgis([
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, MIDWAY, DONE]),
    ])
    .post(CURRENT, current)
    .post(HEALTH_RUN, run)
    .post(REPORT, report)
    .args(["start", "--to", "previous", "--json", "--verify"])
}

/// The result of that rollback, its health as given.
fn rolled_back_doc(health: Value) -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "success", "to_version": "10.9.0.505",
        "requests": rollback_sent("pat_345432_505").0, "health": health,
        "detail": job("success", 3, &[STARTED, MIDWAY, DONE]),
    })
}

/// The requests of that rollback, then `health` after it.
fn requests(health: &[&str]) -> Vec<String> {
    let mut all = rollback_requests(2);
    all.extend(health.iter().map(|path| format!("POST {path}")));
    all
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_version_rolled_back_to_and_a_passed_health_check_are_exit_0_health_ok() {
    let out = rolled_back(current("10.9.0", "505"), health_run(), report(&[]))
        .run()
        .await;
    out.requests(requests(&[CURRENT, HEALTH_RUN, REPORT]));
    out.doc(rolled_back_doc(
        json!({"state": "ok", "checked_at": "TIME", "details": []}),
    ))
    .stderr_contains("health: ok\n")
    .never_shows("MARKER");
    let run = out.received_with("POST")[6];
    assert_eq!(run.url.path(), HEALTH_RUN);
    let fields = form(&run.body);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["suiteIds", "runName", "async", "f", "token"]);
    assert_eq!(fields[0].1, "BSHC-001");
    assert!(fields[1].1.starts_with("rollback-verify-"), "{fields:?}");
    assert_eq!(fields[2].1, "false");
    assert_eq!(run.headers["x-esri-authorization"], "Bearer tok-MARKER-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_health_check_until_the_bound_is_exit_7_naming_the_test() {
    let out = rolled_back(
        current("10.9.0", "505"),
        health_run(),
        report(&["healthcheck_objectStore"]),
    )
    .args(["--verify-timeout", "700ms"])
    .run()
    .await;
    let named = "critical test healthcheck_objectStore (Object store health check): fail";
    let message = format!(
        "rolled back, but SERVER/arcgis was not healthy within 700ms (last read error: {named})"
    );
    let mut expected = rolled_back_doc(json!({
        "state": "error", "checked_at": "TIME", "details": [named],
    }));
    expected["exit_code"] = json!(7);
    expected["error"] = error("unhealthy", &message, None, None);
    out.doc(expected);
    out.stderr_ends_with(&format!("error: {}\n", message.replace("SERVER", &out.uri)));
    // The version is read again and again; the health check ran once: a run leaves a report
    // in the organization, so a failed one is run again only a minute later.
    let runs = out.requests.iter().filter(|r| r.ends_with("/run")).count();
    let versions = out
        .requests
        .iter()
        .filter(|r| r.ends_with("/currentVersion"))
        .count();
    assert_eq!(runs, 1, "{:?}", out.requests);
    assert!(versions >= 3, "{:?}", out.requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_version_after_the_rollback_is_exit_7_naming_it_at_once() {
    let out = rolled_back(current("10.9.0", "506"), health_run(), report(&[]))
        .run()
        .await;
    let named =
        "the deployment reports version 10.9.0.506, not 10.9.0.505, the version rolled back to";
    let message = format!("rolled back, but SERVER/arcgis is error: {named}");
    let mut expected = rolled_back_doc(json!({
        "state": "error", "checked_at": "TIME", "details": [named],
    }));
    expected["exit_code"] = json!(7);
    expected["error"] = error("unhealthy", &message, None, None);
    out.doc(expected).requests(requests(&[CURRENT]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_without_a_health_check_is_unknown_with_a_note_not_a_failure() {
    let not_found = json!({"error": {"code": 404, "message": "Not Found", "details": ["The requested resource was not found."]}});
    let invalid = json!({"error": {"code": 400, "message": "Invalid URL", "details": []}});
    let cases: [(wiremock::ResponseTemplate, &str); 3] = [
        (
            ok(not_found),
            "/arcgis/admin/healthCheck/run answered error 404: Not Found (The requested resource was not found.)",
        ),
        (
            ok(invalid),
            "/arcgis/admin/healthCheck/run answered error 400: Invalid URL",
        ),
        (
            wiremock::ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"),
            "/arcgis/admin/healthCheck/run answered HTTP 404: <html>Not Found</html>",
        ),
    ];
    for (answer, said) in cases {
        let out = rolled_back(current("10.9.0", "505"), answer, report(&[]))
            .run()
            .await;
        let detail = format!(
            "version 10.9.0.505 as rolled back to; this deployment has no health check (ArcGIS Enterprise on Kubernetes 11.2 and later have one): {said}"
        );
        out.doc(rolled_back_doc(json!({
            "state": "unknown", "checked_at": "TIME", "details": [detail],
        })))
        .requests(requests(&[CURRENT, HEALTH_RUN]));
        out.stderr_contains(&format!("health: unknown ({detail})"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reads_that_fail_are_unknown_read_again_and_never_a_success() {
    // Pods restart after the rollback: the upgrades children answer "a job is in progress" a
    // moment longer; then the version and the health check answer.
    let busy =
        json!({"status": "error", "messages": ["An upgrade job is in progress."], "code": 409});
    let out = rolled_back(
        [busy.clone(), current("10.9.0", "505")],
        health_run(),
        report(&[]),
    )
    .run()
    .await;
    out.doc(rolled_back_doc(
        json!({"state": "ok", "checked_at": "TIME", "details": []}),
    ))
    .requests(requests(&[CURRENT, CURRENT, HEALTH_RUN, REPORT]))
    .stderr_contains("health: unknown (the health read failed: /arcgis/admin/system/upgrades/currentVersion answered error 409: An upgrade job is in progress.)");

    // Never anything else: not healthy in time, exit 7 with the last read.
    let out = rolled_back(busy, health_run(), report(&[]))
        .args(["--verify-timeout", "300ms"])
        .run()
        .await;
    out.code(7).stderr_contains(
        "was not healthy within 300ms (last read unknown: the health read failed: /arcgis/admin/system/upgrades/currentVersion answered error 409: An upgrade job is in progress.)",
    );
    assert_eq!(out.json()["health"]["state"], "unknown");
    assert!(!out.requests.iter().any(|r| r.ends_with("/run")));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_watch_verify_compares_with_the_version_the_rollback_job_names() {
    // Attached to a running rollback: no option was chosen, the job's "rollback started"
    // message names the version (10.9.0.505).
    let out = Scenario::arcgis([
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, MIDWAY, DONE]),
    ])
    .post(CURRENT, current("10.9.0", "505"))
    .post(HEALTH_RUN, health_run())
    .post(REPORT, report(&[]))
    .args(["status", "--watch", "--verify", "--json"])
    .run()
    .await;
    out.code(0).requests([
        format!("POST {UP}"),
        format!("POST {UP}"),
        format!("POST {CURRENT}"),
        format!("POST {HEALTH_RUN}"),
        format!("POST {REPORT}"),
    ]);
    assert_eq!(out.json()["health"]["state"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_health_check_run_that_fails_is_sent_once_unknown_and_not_run_again_at_once() {
    let out = rolled_back(
        current("10.9.0", "505"),
        wiremock::ResponseTemplate::new(500).set_body_string("upstream busy"),
        report(&[]),
    )
    .args(["--verify-timeout", "700ms"])
    .run()
    .await;
    out.code(7).stderr_contains(
        "was not healthy within 700ms (last read unknown: the health check run failed: /arcgis/admin/healthCheck/run answered HTTP 500: upstream busy)",
    );
    assert_eq!(out.json()["health"]["state"], "unknown");
    // No retry of the run (reads are retried on 5xx; a run leaves a report), and no second
    // run within the minute; the version is read on every round.
    let runs = out.requests.iter().filter(|r| r.ends_with("/run")).count();
    assert_eq!(runs, 1, "{:?}", out.requests);
    assert!(
        out.requests
            .iter()
            .filter(|r| r.ends_with("/currentVersion"))
            .count()
            >= 3,
        "{:?}",
        out.requests
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_not_found_is_a_failed_run_not_a_deployment_without_health_check() {
    let gone = json!({"error": {"code": 404, "message": "Report not found.", "details": []}});
    let out = rolled_back(current("10.9.0", "505"), health_run(), gone)
        .args(["--verify-timeout", "500ms"])
        .run()
        .await;
    out.code(7).stderr_contains(
        "(last read unknown: the health check run failed: /arcgis/admin/healthCheck/reports/vegcl1xm6u answered error 404: Report not found.)",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_refused_by_the_health_check_run_is_replaced_once_and_the_run_sent_again() {
    let expired = json!({"status": "error", "messages": ["Token Expired."], "code": 498});
    let out = rolled_back(
        current("10.9.0", "505"),
        [expired, health_run()],
        report(&[]),
    )
    .without_env(TOKEN_ENV.0)
    .post(
        GENERATE,
        [
            json!({"token": "gen-MARKER-1", "expires": 4_102_444_800_000_i64}),
            json!({"token": "gen-MARKER-2", "expires": 4_102_444_800_000_i64}),
        ],
    )
    .env("ROLLBACK_ARCGIS_PASSWORD", "pw-MARKER-4")
    .args(["--username", "admin"])
    .run()
    .await;
    out.code(0);
    assert_eq!(out.json()["health"]["state"], "ok");
    let paths: Vec<&str> = out.received.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths[paths.len() - 5..],
        [CURRENT, HEALTH_RUN, GENERATE, HEALTH_RUN, REPORT]
    );
    let second_run = &out.received[out.received.len() - 2];
    assert_eq!(
        second_run.headers["x-esri-authorization"],
        "Bearer gen-MARKER-2"
    );
    out.never_shows("MARKER");
}
