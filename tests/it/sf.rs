//! `rollback sf …` against a wiremock Service Fabric gateway.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::common::VERSION;
use crate::scenario::sf::*;
use crate::scenario::{Answers, Outcome, Scenario, error};

async fn cluster_rollback_answered(status: u16) {
    let out = Scenario::sf_cluster([
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackInProgress", 1),
        cluster("RollingBackCompleted", 3),
    ])
    .post(ROLLBACK, status)
    .cluster_version()
    .args(["cluster", "start", "--json"])
    .run()
    .await;

    out.code(0).requests([
        "GET /$/GetUpgradeProgress?api-version=6.0",
        "POST /$/RollbackUpgrade?api-version=6.0",
        "GET /$/GetUpgradeProgress?api-version=6.0",
        "GET /$/GetUpgradeProgress?api-version=6.0",
        "GET /$/GetClusterVersion?api-version=6.4",
    ]);
    let post = out.received_with("POST")[0];
    assert_eq!(post.headers["accept"], "application/json");
    assert_eq!(post.headers["content-length"], "0");
    assert_eq!(post.headers.get_all("content-length").iter().count(), 1);
    assert!(post.headers.get("content-type").is_none());
    assert!(post.headers.get("authorization").is_none());
    assert!(post.body.is_empty());
    out.doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "7.1.0", "to_version": "7.0.470.9590",
        "requests": [post_record("/$/RollbackUpgrade?api-version=6.0")],
        "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": cluster("RollingBackCompleted", 3),
    }))
    .stderr_normalized(&format!(
        "UD 1/3 (UD1): RollingForwardInProgress, 1/3 upgrade domains done\n\
         Rollback accepted (HTTP {status}).\n\
         UD 1/3 (UD1): RollingBackInProgress, 1/3 upgrade domains done\n\
         UD 3/3: RollingBackCompleted, 3/3 upgrade domains done\n"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_rollback_answered_200() {
    cluster_rollback_answered(200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_rollback_answered_202() {
    cluster_rollback_answered(202).await;
}

async fn app_rollback(app_arg: &str) {
    Scenario::sf_app([
        app("RollingForwardInProgress", 1),
        app("RollingBackInProgress", 2),
        app("RollingBackCompleted", 3),
    ])
    .post(APP_ROLLBACK, 200)
    .app_info()
    .args(["app", "start", app_arg])
    .run()
    .await
    .code(0)
    .requests([
        "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
        "POST /Applications/myapp~app1/$/RollbackUpgrade?api-version=6.0",
        "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
        "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
        "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true",
    ])
    .stdout_normalized(
        "Rolled back myapp~app1 from 2.0.0 to 1.0.0 (RollingBackCompleted) in ELAPSED.\n\
         reason: a rollback was requested (by this tool or an operator) during upgrade domain UD1\n",
    )
    .stderr_normalized(
        "UD 1/3 (UD1): RollingForwardInProgress, 1/3 upgrade domains done\n\
         Rollback accepted (HTTP 200).\n\
         UD 2/3 (UD2): RollingBackInProgress, 2/3 upgrade domains done\n\
         UD 3/3: RollingBackCompleted, 3/3 upgrade domains done\n",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn app_rollback_by_id() {
    app_rollback("myapp~app1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_rollback_by_fabric_name() {
    app_rollback("fabric:/myapp/app1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hierarchical_and_escaped_names_reach_the_right_path() {
    let expected = "/Applications/my%20app~sub~a%23b%3Fc/$/GetUpgradeProgress";
    Scenario::sf()
        .get(expected, app("RollingForwardCompleted", 3))
        .args(["app", "status", "fabric:/my app/sub/a#b?c", "--json"])
        .run()
        .await
        .requests([format!("GET {expected}?api-version=6.0")])
        .doc(json!({
            "platform": "sf-app", "target": "my app~sub~a#b?c", "action": "status",
            "phase": "idle", "platform_state": "RollingForwardCompleted", "from_version": "2.0.0",
            "reason": reason_of("RollingForwardCompleted"), "progress": progress_of("RollingForwardCompleted", 3), "detail": app("RollingForwardCompleted", 3),
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn already_rolling_back_attaches_without_a_post() {
    Scenario::sf_app_start(
        [
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ],
        200,
    )
    .app_info()
    .run()
    .await
    .posts(0)
    .stderr_normalized(
        "UD 1/3 (UD1): RollingBackInProgress, 1/3 upgrade domains done\n\
         A rollback is already running (RollingBackInProgress); waiting for it instead of sending another.\n\
         UD 3/3: RollingBackCompleted, 3/3 upgrade domains done\n",
    )
    .doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
        "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_upgrading_exits_3_or_0_with_if_upgrading() {
    let message = "nothing to roll back for myapp~app1: no upgrade is rolling forward (RollingForwardCompleted)";
    let nothing = json!({
        "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "idle",
        "platform_state": "RollingForwardCompleted", "from_version": "2.0.0",
        "error": error("nothing_to_roll_back", message, None, None),
        "reason": reason_of("RollingForwardCompleted"), "progress": progress_of("RollingForwardCompleted", 3), "detail": app("RollingForwardCompleted", 3),
    });
    let out = Scenario::sf_app(app("RollingForwardCompleted", 3))
        .args(["app", "start", "myapp~app1", "--json"])
        .run()
        .await;
    out.doc(nothing.clone()).stderr_normalized(&format!(
        "UD 3/3: RollingForwardCompleted, 3/3 upgrade domains done\nerror: {message}\n"
    ));

    let out = out
        .again()
        .args(["app", "start", "myapp~app1", "--if-upgrading"])
        .run()
        .await;
    out.code(0).stdout("").stderr_normalized(&format!(
        "UD 3/3: RollingForwardCompleted, 3/3 upgrade domains done\n{message} (--if-upgrading: exit 0)\n"
    ));

    let out = out
        .again()
        .args(["app", "start", "myapp~app1", "--if-upgrading", "-o", "json"])
        .run()
        .await;
    let mut quiet = nothing;
    quiet["exit_code"] = json!(0);
    quiet["error"] = Value::Null;
    out.doc(quiet).posts(0);
}

/// `cluster start` on a cluster that answers `progress` sends nothing and ends with `exit`
/// and the document `fields`.
async fn cluster_start_refused(progress: Value, exit: i32, fields: Value) {
    Scenario::sf_cluster(progress)
        .args(["cluster", "start", "--json"])
        .run()
        .await
        .code(exit)
        .posts(0)
        .doc(fields);
}

#[tokio::test(flavor = "multi_thread")]
async fn rolled_back_already_is_nothing_to_roll_back() {
    let message =
        "nothing to roll back for SERVER: no upgrade is rolling forward (RollingBackCompleted)";
    cluster_start_refused(
        cluster("RollingBackCompleted", 3),
        3,
        json!({
            "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "rolled_back",
            "platform_state": "RollingBackCompleted", "from_version": "7.1.0",
            "error": error("nothing_to_roll_back", message, None, None),
            "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": cluster("RollingBackCompleted", 3),
        }),
    )
    .await;
}

/// The POST is refused with `status`/`code`: the expected exit code, error fields and message.
async fn post_refused(status: u16, code: &str, then_state: &str, exit: i32, kind: &str) -> Outcome {
    let out = Scenario::sf_app_start(
        [app("RollingForwardInProgress", 1), app(then_state, 1)],
        fabric_error(status, code, "refused"),
    )
    .run()
    .await;
    let message = format!(
        "POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP {status} {code}: refused"
    );
    // A "not upgrading" answer is checked against a fresh read; other refusals are final.
    let reread = kind == "nothing_to_roll_back";
    let state = if reread {
        then_state
    } else {
        "RollingForwardInProgress"
    };
    let mut doc = json!({
        "action": "start",
        "outcome": if reread { "nothing_to_roll_back" } else { "error" },
        "exit_code": exit,
        "phase": if reread { "idle" } else { "upgrading" },
        "platform_state": state, "from_version": "2.0.0",
        "requests": app_rollback_sent(),
        "error": error(kind, &message, Some(status), Some(code)),
        "reason": reason_of(state), "progress": progress_of(state, 1), "detail": app(state, 1),
    });
    // A refusal of the credentials says which access is missing.
    if kind == "auth" {
        doc["next"] = json!(ACCESS);
    }
    // The rollback is sent once.
    out.code(exit).posts(1).doc(doc);
    out
}

/// The `next:` of a refused credential.
const ACCESS: &str = "the cluster refused these credentials: rolling back needs a client certificate the cluster knows as admin (--cert), or a token with the Admin role (ROLLBACK_SF_TOKEN); a read-only (user) certificate can read but not roll back";

#[tokio::test(flavor = "multi_thread")]
async fn post_400_not_upgrading_rereads_then_exits_3() {
    let out = post_refused(
        400,
        "FABRIC_E_APPLICATION_NOT_UPGRADING",
        "RollingForwardCompleted",
        3,
        "nothing_to_roll_back",
    )
    .await;
    assert_eq!(out.requests.len(), 3, "read, POST, read again");
}

#[tokio::test(flavor = "multi_thread")]
async fn post_400_invalid_argument_exits_1() {
    let out = post_refused(
        400,
        "E_INVALIDARG",
        "RollingForwardInProgress",
        1,
        "platform",
    )
    .await;
    assert_eq!(out.requests.len(), 2, "no re-read after a definite refusal");
}

#[tokio::test(flavor = "multi_thread")]
async fn post_409_exits_1() {
    post_refused(
        409,
        "FABRIC_E_APPLICATION_UPGRADE_IN_PROGRESS",
        "RollingForwardInProgress",
        1,
        "platform",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn post_403_exits_4() {
    post_refused(
        403,
        "FABRIC_E_ACCESS_DENIED",
        "RollingForwardInProgress",
        4,
        "auth",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn e_accessdenied_exits_4() {
    post_refused(400, "E_ACCESSDENIED", "RollingForwardInProgress", 4, "auth").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn post_503_is_resent_after_rechecking_then_exits_6() {
    let out = Scenario::sf_app_start(
        app("RollingForwardInProgress", 1),
        fabric_error(503, "FABRIC_E_NOT_READY", "not ready"),
    )
    .run()
    .await;
    // 503 proves the server did not act on it, so the POST may be repeated (1 + 2 resends),
    // each time after reading the precondition again.
    let (read, post) = (
        format!("GET {APP_PROGRESS}?api-version=6.0"),
        format!("POST {APP_ROLLBACK}?api-version=6.0"),
    );
    out.code(6)
        .requests([&read, &post, &read, &post, &read, &post]);
    assert_eq!(
        out.run.stderr.matches("Rollback not taken (POST").count(),
        2,
        "{}",
        out.run.stderr
    );
    let message = "POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 503 FABRIC_E_NOT_READY: not ready";
    out.doc(json!({
        "action": "start", "outcome": "error", "exit_code": 6, "phase": "upgrading",
        "platform_state": "RollingForwardInProgress", "from_version": "2.0.0",
        "requests": app_rollback_sent(),
        "error": error("unreachable", message, Some(503), Some("FABRIC_E_NOT_READY")),
        "reason": reason_of("RollingForwardInProgress"), "progress": progress_of("RollingForwardInProgress", 1), "detail": app("RollingForwardInProgress", 1),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_500_on_post_rereads_and_attaches() {
    Scenario::sf_app_start(
        [
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ],
        fabric_error(500, "E_FAIL", "oops"),
    )
    .app_info()
    .run()
    .await
    // Never re-sent after an ambiguous answer.
    .posts(1)
    .stderr_contains(
        "POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 500 E_FAIL: oops; reading the state again instead of sending the request twice.",
    )
    .doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
        "requests": app_rollback_sent(),
        "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_504_on_post_without_rollback_exits_1_unconfirmed() {
    let message = "the rollback request may or may not have been received (POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 504 FABRIC_E_TIMEOUT: slow); myapp~app1 is now upgrading (RollingForwardInProgress); check with `status` before trying again";
    Scenario::sf_app_start(
        app("RollingForwardInProgress", 1),
        fabric_error(504, "FABRIC_E_TIMEOUT", "slow"),
    )
    .run()
    .await
    .posts(1)
    .doc(json!({
        "action": "start", "outcome": "error", "exit_code": 1, "phase": "upgrading",
        "platform_state": "RollingForwardInProgress", "from_version": "2.0.0",
        "requests": app_rollback_sent(),
        "error": error("unconfirmed", message, Some(504), Some("FABRIC_E_TIMEOUT")),
        "reason": reason_of("RollingForwardInProgress"), "progress": progress_of("RollingForwardInProgress", 1), "detail": app("RollingForwardInProgress", 1),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_404_app_not_found_exits_1() {
    let message = "GET /Applications/myapp~app1/$/GetUpgradeProgress answered HTTP 404 FABRIC_E_APPLICATION_NOT_FOUND: Application not found";
    let out = Scenario::sf_app(fabric_error(
        404,
        "FABRIC_E_APPLICATION_NOT_FOUND",
        "Application not found",
    ))
    .args(["app", "status", "myapp~app1", "--json"])
    .run()
    .await;
    out.code(1);
    assert_eq!(out.requests.len(), 1, "a 404 is not retried");
    out.doc(json!({
        "action": "status", "outcome": "error", "exit_code": 1,
        "error": error("platform", message, Some(404), Some("FABRIC_E_APPLICATION_NOT_FOUND")),
    }))
    .stderr(&format!("error: {message}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bodyless_404_exits_1() {
    Scenario::sf_cluster(404)
        .args(["cluster", "status", "--json"])
        .run()
        .await
        .stderr("error: GET /$/GetUpgradeProgress answered HTTP 404\n")
        .doc(json!({
            "action": "status", "outcome": "error", "exit_code": 1,
            "error": error("platform", "GET /$/GetUpgradeProgress answered HTTP 404", Some(404), None),
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn get_503_is_retried_then_exits_6() {
    let out = Scenario::sf_cluster(fabric_error(503, "FABRIC_E_NO_WRITE_QUORUM", "no quorum"))
        .args(["cluster", "status", "--json"])
        .run()
        .await;
    out.code(6);
    assert_eq!(out.requests.len(), 4, "1 read + 3 retries");
    let message = "GET /$/GetUpgradeProgress answered HTTP 503 FABRIC_E_NO_WRITE_QUORUM: no quorum";
    out.doc(json!({
        "action": "status", "outcome": "error", "exit_code": 6,
        "error": error("unreachable", message, Some(503), Some("FABRIC_E_NO_WRITE_QUORUM")),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_503_then_success() {
    let out = Scenario::sf_cluster([
        fabric_error(503, "FABRIC_E_NOT_READY", "wait").insert_header("Retry-After", "1"),
        ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress", 0)),
    ])
    .args(["cluster", "status", "--json"])
    .run()
    .await;
    out.code(0);
    assert!(
        out.elapsed >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(out.requests.len(), 2);
    out.doc(json!({
        "action": "status", "phase": "upgrading", "platform_state": "RollingForwardInProgress",
        "from_version": "7.1.0", "reason": reason_of("RollingForwardInProgress"), "progress": progress_of("RollingForwardInProgress", 0), "detail": cluster("RollingForwardInProgress", 0),
    }));
}

/// `app start` whose rollback is accepted while the application answers `progress`, and
/// whose wait ends in a failure: exit 1, and `fields` of the document (state, error, detail).
async fn failed_after_the_post(progress: impl Answers, fields: Value) {
    let mut doc = json!({
        "action": "start", "outcome": "failed", "exit_code": 1, "from_version": "2.0.0",
        "requests": app_rollback_sent(),
    });
    doc.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    Scenario::sf_app_start(progress, 200).run().await.doc(doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_during_wait_exits_1_with_reason() {
    let mut failed = app("Failed", 1);
    failed["FailureReason"] = json!("HealthCheck");
    failed["UpgradeStatusDetails"] = json!("Health policy violated");
    failed["UnhealthyEvaluations"] = json!([{"HealthEvaluation": {"Kind": "Services", "Description": "Service fabric:/myapp/app1/svc is in Error"}}]);
    let message = "the upgrade failed: FailureReason HealthCheck; Health policy violated; Services: Service fabric:/myapp/app1/svc is in Error";
    failed_after_the_post(
        [
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            failed.clone(),
        ],
        json!({
            "phase": "failed", "platform_state": "Failed",
            "error": error("rollback_failed", message, None, None),
            "reason": "the health check failed: Services: Service fabric:/myapp/app1/svc is in Error",
            "progress": progress_of("Failed", 1), "detail": failed,
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_before_start_sends_nothing() {
    cluster_start_refused(
        cluster("Failed", 1),
        1,
        json!({
            "action": "start", "outcome": "failed", "exit_code": 1, "phase": "failed",
            "platform_state": "Failed", "from_version": "7.1.0",
            "error": error("rollback_failed", "the upgrade failed: FailureReason None", None, None),
            "reason": reason_of("Failed"), "progress": progress_of("Failed", 1), "detail": cluster("Failed", 1),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_forward_completed_after_the_post_is_a_failure() {
    let message = "the upgrade ended as RollingForwardCompleted instead of rolling back";
    failed_after_the_post(
        [
            app("RollingForwardInProgress", 2),
            app("RollingForwardCompleted", 3),
        ],
        json!({
            "phase": "idle", "platform_state": "RollingForwardCompleted",
            "error": error("rollback_failed", message, None, None),
            "reason": reason_of("RollingForwardCompleted"), "progress": progress_of("RollingForwardCompleted", 3), "detail": app("RollingForwardCompleted", 3),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_state_is_refused_with_detail() {
    cluster_start_refused(
        cluster("Invalid", 0),
        1,
        json!({
            "action": "start", "outcome": "error", "exit_code": 1, "platform_state": "Invalid",
            "from_version": "7.1.0",
            "error": error("unexpected_answer", "unrecognised state Invalid; no rollback was sent", None, None),
            "reason": reason_of("Invalid"), "progress": progress_of("Invalid", 0), "detail": cluster("Invalid", 0),
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5_and_says_the_rollback_continues() {
    let message = "timed out after 1s; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster";
    Scenario::sf_cluster([
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackInProgress", 1),
    ])
    .post(ROLLBACK, 202)
    .args(["cluster", "start", "--timeout", "1s", "--json"])
    .run()
    .await
    .stderr_ends_with(&format!("error: {message}\n"))
    .posts(1)
    .doc(json!({
        "action": "start", "outcome": "timed_out", "exit_code": 5, "phase": "rolling_back",
        "platform_state": "RollingBackInProgress", "from_version": "7.1.0",
        "requests": [post_record(&format!("{ROLLBACK}?api-version=6.0"))],
        "error": error("timed_out", message, None, None),
        "reason": reason_of("RollingBackInProgress"), "progress": progress_of("RollingBackInProgress", 1), "detail": cluster("RollingBackInProgress", 1),
        "next": "attach with `rollback sf cluster status --watch --endpoint SERVER --poll-interval 20ms --timeout 1s --json`",
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_returns_once_accepted() {
    let out = Scenario::sf_cluster(cluster("RollingForwardInProgress", 1))
        .post(ROLLBACK, 202)
        .args(["cluster", "start", "--no-wait", "--json"])
        .run()
        .await;
    out.code(0)
        .requests([
            "GET /$/GetUpgradeProgress?api-version=6.0",
            "POST /$/RollbackUpgrade?api-version=6.0",
        ])
        .doc(json!({
            "action": "start", "outcome": "accepted", "phase": "upgrading",
            "platform_state": "RollingForwardInProgress", "from_version": "7.1.0",
            "requests": [post_record("/$/RollbackUpgrade?api-version=6.0")],
            "reason": reason_of("RollingForwardInProgress"), "progress": progress_of("RollingForwardInProgress", 1), "detail": cluster("RollingForwardInProgress", 1),
        }));
    out.again()
        .args(["cluster", "start", "--no-wait"])
        .run()
        .await
        .stdout_normalized(
            "Rollback of SERVER accepted (RollingForwardInProgress); not waiting for it.\n",
        );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_post() {
    let cmd = [
        "app",
        "start",
        "fabric:/myapp/app1",
        "--dry-run",
        "--server-timeout",
        "120",
        "--api-version",
        "6.0",
    ];
    let out = Scenario::sf_app(app("RollingForwardInProgress", 1))
        .post(APP_ROLLBACK, 200)
        .env("ROLLBACK_SF_TOKEN", "tok-SECRET-1")
        .args(cmd)
        .run()
        .await;
    out.code(0)
        .stdout_normalized(&format!(
            "Dry run: myapp~app1 is upgrading (RollingForwardInProgress); nothing was sent. Would send:\n\n\
             POST SERVER/Applications/myapp~app1/$/RollbackUpgrade?api-version=6.0&timeout=120\n\
             User-Agent: rollback/{VERSION}\n\
             Accept: application/json\n\
             Authorization: Bearer <redacted>\n\
             Content-Length: 0\n"
        ))
        .never_shows("SECRET");

    out.again()
        .without_env("ROLLBACK_SF_TOKEN")
        .args(cmd)
        .args(["--json"])
        .run()
        .await
        .doc(json!({
            "action": "start", "outcome": "would_send", "phase": "upgrading",
            "platform_state": "RollingForwardInProgress", "from_version": "2.0.0", "dry_run": true,
            "requests": [post_record(&format!("{APP_ROLLBACK}?api-version=6.0&timeout=120"))],
            "reason": reason_of("RollingForwardInProgress"), "progress": progress_of("RollingForwardInProgress", 1), "detail": app("RollingForwardInProgress", 1),
        }))
        // A dry run sends no POST.
        .posts(0)
        .requests(vec![
            format!(
                "GET {APP_PROGRESS}?api-version=6.0&timeout=120"
            );
            2
        ]);
}

/// `cluster ACTION` where the progress answers `answer`, which the tool cannot read: exit 1
/// with an error quoting it.
async fn unreadable(answer: impl Answers, action: &str, message: &str) {
    Scenario::sf_cluster(answer)
        .args(["cluster", action, "--json"])
        .run()
        .await
        .doc(json!({
            "action": action, "outcome": "error", "exit_code": 1,
            "error": error("unexpected_answer", message, None, None),
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_an_error_quoting_the_body() {
    let message = "SERVER/$/GetUpgradeProgress?api-version=6.0 answered HTTP 200 with a body that is not JSON (expected value at line 1 column 1): <html><body>Proxy says hi</body></html>";
    let html = ResponseTemplate::new(200)
        .set_body_raw("<html><body>Proxy says hi</body></html>", "text/html");
    unreadable(html, "start", message).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_json_shape_is_an_error_not_a_panic() {
    let message = "SERVER/$/GetUpgradeProgress?api-version=6.0 answered a document the tool cannot read (invalid type: integer `7`, expected a string): {\"UpgradeState\":7}";
    unreadable(json!({"UpgradeState": 7}), "status", message).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_exits_6() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = format!("http://127.0.0.1:{port}");
    let message = format!("cannot connect to 127.0.0.1:{port}: Connection refused (os error 111)");
    Scenario::sf_at(&endpoint)
        .result_of("sf-cluster", &endpoint)
        .args(["cluster", "start", "--json"])
        .run()
        .await
        .doc(json!({
            "action": "start", "outcome": "error", "exit_code": 6,
            "error": error("unreachable", &message, None, None),
            "next": "check --endpoint (or its variable or profile key); to try the tool without a platform: `rollback --sandbox sf cluster start`",
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_is_sent_and_never_printed() {
    let secret = "eyJ-MARKER-token-7d1f";
    let out = Scenario::sf_cluster([
        cluster("RollingForwardInProgress", 1),
        cluster("RollingBackCompleted", 3),
    ])
    .post(ROLLBACK, 202)
    .cluster_version()
    .env("ROLLBACK_SF_TOKEN", secret)
    .args(["cluster", "start", "-vv", "--json"])
    .run()
    .await;
    out.code(0).never_shows("MARKER");
    for request in &out.received {
        assert_eq!(request.headers["authorization"], format!("Bearer {secret}"));
    }

    let out = out
        .again()
        .without_env("ROLLBACK_SF_TOKEN")
        .args(["cluster", "status", "--token-stdin", "-vv"])
        .stdin("stdin-MARKER-token\n")
        .run()
        .await;
    out.code(0).never_shows("MARKER");
    let last = out.received.last().unwrap();
    assert_eq!(last.headers["authorization"], "Bearer stdin-MARKER-token");
}

/// The document of a `start` refused before anything was read or sent.
fn usage_error(message: &str) -> Value {
    json!({
        "action": "start", "outcome": "error", "exit_code": 2,
        "error": error("usage", message, None, None),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn token_over_plain_http_to_another_host_is_refused() {
    let message = "refusing to send a credential over plain http:// to sf.invalid: use https (plain http is allowed only to this machine)";
    Scenario::sf_at("http://sf.invalid:19080")
        .result_of("sf-cluster", "http://sf.invalid:19080")
        .args(["cluster", "start", "--json"])
        .env("ROLLBACK_SF_TOKEN", "tok-MARKER")
        .run()
        .await
        .doc(usage_error(message))
        .never_shows("MARKER");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_once_and_watch_waits() {
    let out = Scenario::sf_app([
        app("RollingBackInProgress", 1),
        app("RollingBackInProgress", 2),
        app("RollingBackCompleted", 3),
    ])
    .app_info()
    .args(["app", "status", "myapp~app1"])
    .run()
    .await;
    out.code(0)
        .stdout("target:   myapp~app1\nphase:    rolling_back\nstate:    RollingBackInProgress\nversion:  2.0.0 (the upgrade's target)\nprogress: RollingBackInProgress, 1/3 upgrade domains done\nreason:   a rollback was requested (by this tool or an operator) during upgrade domain UD1\n")
        .stderr("");
    assert_eq!(out.requests.len(), 1);

    let out = out
        .again()
        .args(["app", "status", "myapp~app1", "--watch", "-o", "jsonl"])
        .run()
        .await;
    out.code(0);
    let events: Vec<(String, String, String)> = out
        .run
        .stdout
        .lines()
        .map(|l| {
            let l: Value = serde_json::from_str(l).unwrap();
            (
                l["type"].as_str().unwrap().into(),
                l["phase"].as_str().unwrap().into(),
                l["message"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let event =
        |kind: &str, phase: &str, message: &str| (kind.into(), phase.into(), message.into());
    assert_eq!(
        events,
        [
            event(
                "progress",
                "rolling_back",
                "RollingBackInProgress, 2/3 upgrade domains done"
            ),
            event(
                "progress",
                "rolled_back",
                "RollingBackCompleted, 3/3 upgrade domains done"
            ),
            event("result", "rolled_back", ""),
        ]
    );
    out.result_line(json!({
        "action": "status", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
        "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    }))
    .stderr("");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_watch_on_an_idle_target_returns_at_once() {
    let out = Scenario::sf_cluster(cluster("RollingForwardCompleted", 3))
        .args(["cluster", "status", "--watch", "--json"])
        .run()
        .await;
    out.code(0);
    assert_eq!(out.requests.len(), 1);
    out.doc(json!({
        "action": "status", "phase": "idle", "platform_state": "RollingForwardCompleted",
        "from_version": "7.1.0", "reason": reason_of("RollingForwardCompleted"), "progress": progress_of("RollingForwardCompleted", 3), "detail": cluster("RollingForwardCompleted", 3),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_exit_2_and_send_nothing() {
    let cases: [(&[&str], &str); 15] = [
        (&["app", "start", ""], "the application is empty"),
        (
            &["app", "start", "fabric:/a//b"],
            "has an empty '/' segment",
        ),
        (&["app", "start", "a/b"], "contains '/'"),
        (&["app", "start", ".."], "'.' or '..' segment"),
        (&["app", "start", "a\u{1}b"], "control character"),
        (
            &["--server-timeout", "0", "cluster", "start"],
            "--server-timeout",
        ),
        (
            &["--server-timeout", "4294967296", "cluster", "start"],
            "--server-timeout",
        ),
        (
            &["--cert", "/nonexistent/cert.pem", "cluster", "start"],
            "cannot read certificate /nonexistent/cert.pem",
        ),
        (
            &["--api-version", "6.0&x=1", "cluster", "start"],
            "--api-version",
        ),
        (
            &["--key", "/k.pem", "cluster", "start"],
            "--key and --cert-password-env need --cert",
        ),
        (&["--timeout", "0s", "cluster", "start"], "--timeout"),
        (
            &["--poll-interval", "fast", "cluster", "start"],
            "--poll-interval",
        ),
        (
            &[
                "--cert",
                "/x.pfx",
                "--cert-password-env",
                "NOT_SET_VAR",
                "cluster",
                "start",
            ],
            "--cert-password-env names NOT_SET_VAR, which is not set",
        ),
        (
            &["--endpoint", "sf-cluster:19080", "cluster", "start"],
            "--endpoint \"sf-cluster:19080\"",
        ),
        (
            &["--endpoint", "ftp://x", "cluster", "start"],
            "must be an http:// or https:// URL",
        ),
    ];
    for (argv, needle) in cases {
        // The last two name their own endpoint instead of the server's.
        let endpoint = if argv[0] == "--endpoint" {
            &[][..]
        } else {
            &["--endpoint", "SERVER"][..]
        };
        let out = Scenario::new()
            .args(["sf"])
            .args(endpoint)
            .args(argv)
            .run()
            .await;
        assert_eq!(out.run.code, 2, "{argv:?}: {:?}", out.run);
        assert!(
            out.run.stderr.contains(needle),
            "{argv:?}: {}",
            out.run.stderr
        );
        assert!(
            out.run.stderr.starts_with("error: "),
            "{argv:?}: {}",
            out.run.stderr
        );
        assert_eq!(out.run.stdout, "", "{argv:?}");
        assert!(out.requests.is_empty(), "{argv:?}: nothing was sent");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_after_parsing_still_print_the_result_document() {
    let message = "the application \"fabric:/\" has an empty '/' segment: give an id (myapp~app1) or a name (fabric:/myapp/app1)";
    Scenario::new()
        .result_of("sf-app", "fabric:/")
        .args(["sf", "app", "start", "fabric:/", "--json"])
        .run()
        .await
        .doc(usage_error(message));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_wait_exits_130_and_the_rollback_continues() {
    let message = "interrupted; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster";
    Scenario::sf_app_start(
        [
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
        ],
        200,
    )
    // Once the rollback was accepted and the wait is polling.
    .signal_after("INT", 4)
    .run()
    .await
    .doc(json!({
        "action": "start", "outcome": "in_progress", "exit_code": 130, "phase": "rolling_back",
        "platform_state": "RollingBackInProgress", "from_version": "2.0.0",
        "requests": app_rollback_sent(),
        "error": error("interrupted", message, None, None),
        "reason": reason_of("RollingBackInProgress"), "progress": progress_of("RollingBackInProgress", 1), "detail": app("RollingBackInProgress", 1),
        "next": "attach with `rollback sf app status myapp~app1 --watch --endpoint SERVER --poll-interval 20ms --json`",
    }))
    .stderr_ends_with(&format!("error: {message}\n"))
    .posts(1);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_with_jsonl_leaves_only_whole_lines() {
    let out = Scenario::sf_cluster([
        cluster("RollingBackInProgress", 0),
        cluster("RollingBackInProgress", 1),
    ])
    .args(["cluster", "status", "--watch", "-o", "jsonl"])
    .signal_after("INT", 3)
    .run()
    .await;
    out.code(130);
    let stdout = &out.run.stdout;
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a whole JSON line"))
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["outcome"], "in_progress");
    assert_eq!(
        last["error"]["message"],
        "interrupted; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l["type"] == "progress")
    );
}
