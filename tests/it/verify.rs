//! `--verify`: after a completed rollback, the target's health is read until healthy (exit 0,
//! `health.state` ok) or the bound passes (exit 7 naming the unhealthy entity), on every
//! platform; a health read that fails is unknown, read again, and never a success.

mod arcgis;

use serde_json::{Value, json};

use crate::scenario::Scenario;
use crate::scenario::cloudsvc::{
    OPERATION, SLOT, accepted, deployment_detail, idle, operation, post_record, rollback_body,
    rolled_back as cloudsvc_rolled_back, updating,
};
use crate::scenario::sf::{
    APP_ROLLBACK, app, app_rollback_sent, fabric_error, progress_of, reason_of,
};

const APP_HEALTH: &str = "/Applications/myapp~app1/$/GetHealth";
const CLUSTER_HEALTH: &str = "/$/GetClusterHealth";

/// An `ApplicationHealth` whose service svc1 is in Error because of an event on a partition.
fn app_unhealthy() -> Value {
    json!({
        "Name": "fabric:/myapp/app1",
        "AggregatedHealthState": "Error",
        "UnhealthyEvaluations": [{"HealthEvaluation": {
            "Kind": "Services", "AggregatedHealthState": "Error",
            "Description": "100% (1/1) services are unhealthy",
            "UnhealthyEvaluations": [{"HealthEvaluation": {
                "Kind": "Service", "AggregatedHealthState": "Error",
                "ServiceName": "fabric:/myapp/app1/svc1",
                "UnhealthyEvaluations": [{"HealthEvaluation": {
                    "Kind": "Event", "AggregatedHealthState": "Error",
                    "UnhealthyEvent": {"SourceId": "System.FM", "Property": "State",
                        "HealthState": "Error", "Description": "Partition is in quorum loss."}
                }}]
            }}]
        }}],
    })
}

fn health_of(state: &str) -> Value {
    json!({"AggregatedHealthState": state, "UnhealthyEvaluations": []})
}

/// `app start --verify` on an application that rolls back, its health answering `health`.
fn app_rollback_then_health(health: impl crate::scenario::Answers) -> Scenario {
    Scenario::sf_app_start(
        [
            app("RollingForwardInProgress", 1),
            app("RollingBackCompleted", 3),
        ],
        200,
    )
    .app_info()
    .get(APP_HEALTH, health)
    .args(["--verify"])
}

fn rolled_back_app(health: Value) -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
        "requests": app_rollback_sent(), "health": health, "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_app_healthy_after_a_moment_is_exit_0_with_health_ok() {
    // Error first: the health store has not caught up with the rolled-back application yet.
    let out = app_rollback_then_health([app_unhealthy(), health_of("Ok")])
        .run()
        .await;
    out.code(0).requests([
        "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
        &format!("POST {APP_ROLLBACK}?api-version=6.0"),
        "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
        "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true",
        "GET /Applications/myapp~app1/$/GetHealth?api-version=6.0",
        "GET /Applications/myapp~app1/$/GetHealth?api-version=6.0",
    ]);
    out.doc(rolled_back_app(
        json!({"state": "ok", "checked_at": "TIME", "details": []}),
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_app_unhealthy_until_the_bound_is_exit_7_naming_the_entity() {
    let message = "rolled back, but myapp~app1 was not healthy within 1s (last read error: service fabric:/myapp/app1/svc1 is Error: Partition is in quorum loss.)";
    let out = app_rollback_then_health(app_unhealthy())
        .args(["--verify-timeout", "1s"])
        .run()
        .await;
    let mut expected = rolled_back_app(json!({
        "state": "error", "checked_at": "TIME",
        "details": ["service fabric:/myapp/app1/svc1 is Error: Partition is in quorum loss."],
    }));
    expected["exit_code"] = json!(7);
    expected["error"] = crate::scenario::error("unhealthy", message, None, None);
    out.doc(expected)
        .stderr_ends_with(&format!("error: {message}\n"));
    assert!(
        out.received.len() >= 6,
        "health read until the bound: {:?}",
        out.requests
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_warning_is_healthy_unless_strict() {
    app_rollback_then_health(health_of("Warning"))
        .run()
        .await
        .code(0);
    app_rollback_then_health(health_of("Warning"))
        .args(["--verify-strict", "--verify-timeout", "300ms"])
        .run()
        .await
        .code(7)
        .stderr_contains("was not healthy within 300ms (last read warning)");
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_health_endpoint_errors_are_unknown_and_never_a_success() {
    let out = app_rollback_then_health(fabric_error(
        404,
        "FABRIC_E_HEALTH_ENTITY_NOT_FOUND",
        "not yet",
    ))
    .args(["--verify-timeout", "500ms"])
    .run()
    .await;
    out.code(7).stderr_contains(
        "was not healthy within 500ms (last read unknown: the health read failed: GET /Applications/myapp~app1/$/GetHealth answered HTTP 404 FABRIC_E_HEALTH_ENTITY_NOT_FOUND: not yet)",
    );
    assert_eq!(out.json()["health"]["state"], "unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_cluster_status_watch_verifies_the_cluster() {
    use crate::scenario::sf::cluster;
    Scenario::sf_cluster([
        cluster("RollingBackInProgress", 1),
        cluster("RollingBackCompleted", 3),
    ])
    .get(CLUSTER_HEALTH, health_of("Ok"))
    .args(["cluster", "status", "--watch", "--verify", "--json"])
    .run()
    .await
    .code(0)
    .requests([
        "GET /$/GetUpgradeProgress?api-version=6.0",
        "GET /$/GetUpgradeProgress?api-version=6.0",
        "GET /$/GetClusterVersion?api-version=6.4",
        "GET /$/GetClusterHealth?api-version=6.0",
    ]);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_options_without_verify_or_with_no_wait_are_exit_2() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--verify-strict"],
            "--verify-strict and --verify-timeout need --verify",
        ),
        (
            &["--verify-timeout", "1m"],
            "--verify-strict and --verify-timeout need --verify",
        ),
        (
            &["--verify", "--no-wait"],
            "--verify waits for health after the rollback, --no-wait does not wait: choose one",
        ),
    ];
    for (args, message) in cases {
        Scenario::sf_app_start(app("RollingForwardInProgress", 1), 200)
            .args(args)
            .run()
            .await
            .code(2)
            .stderr(&format!("error: {message}\n"))
            .requests(Vec::<String>::new());
    }
}

/// `start --verify` on the production slot, the deployment reading `after` once rolled back.
async fn cloudsvc_verify(after: String, extra: &[&str]) -> crate::scenario::Outcome {
    Scenario::cloudsvc([updating(), after])
        .post_comp(SLOT, "rollback", accepted())
        .operations([
            operation("InProgress", ""),
            operation("Succeeded", "<HttpStatusCode>200</HttpStatusCode>"),
        ])
        .args(["start", "--json", "--verify"])
        .args(extra)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_every_role_instance_ready_is_healthy() {
    let out = cloudsvc_verify(idle(), &[]).await;
    out.code(0).requests([
        format!("GET {SLOT}"),
        format!("POST {SLOT}/?comp=rollback"),
        format!("GET {OPERATION}"),
        format!("GET {OPERATION}"),
        format!("GET {SLOT}"),
        format!("GET {SLOT}"),
    ]);
    let mut expected = cloudsvc_rolled_back(json!([post_record(
        SLOT,
        "rollback",
        &rollback_body("Auto", false)
    )]));
    expected["health"] = json!({"state": "ok", "checked_at": "TIME", "details": []});
    out.doc(expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_a_failed_role_instance_is_exit_7_naming_it() {
    let failed = idle().replace("ReadyRole", "FailedStartingRole");
    let out = cloudsvc_verify(failed, &["--verify-timeout", "300ms"]).await;
    let message = "rolled back, but mysvc/production was not healthy within 300ms (last read error: role instance Web_IN_0 is FailedStartingRole)";
    let mut detail = deployment_detail(None, false);
    detail["RoleInstanceList"]["RoleInstance"][0]["InstanceStatus"] = json!("FailedStartingRole");
    let mut expected = cloudsvc_rolled_back(json!([post_record(
        SLOT,
        "rollback",
        &rollback_body("Auto", false)
    )]));
    expected["exit_code"] = json!(7);
    expected["detail"] = detail;
    expected["error"] = crate::scenario::error("unhealthy", message, None, None);
    expected["health"] = json!({
        "state": "error", "checked_at": "TIME",
        "details": ["role instance Web_IN_0 is FailedStartingRole"],
    });
    out.doc(expected);
}
