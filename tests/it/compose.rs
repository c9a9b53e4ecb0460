//! `rollback sf compose …` against a wiremock Service Fabric gateway: the compose operations at
//! their preview api-versions, every `UpgradeState` of the table, errors, `reason` and
//! `--verify` on the deployment's application.

use serde_json::{Value, json};

use crate::scenario::compose::*;
use crate::scenario::sf::fabric_error;
use crate::scenario::terminal::Act;
use crate::scenario::{Scenario, error};

/// The whole result of a rollback that completed.
fn rolled_back() -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0", "to_version": "1.0",
        "reason": "a rollback was requested (by this tool or an operator) during upgrade domain UD1",
        "requests": rollback_sent(), "detail": compose("RollingBackCompleted"),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn start_rolls_back_and_waits_at_the_compose_api_versions() {
    let out = Scenario::compose_start(
        [
            compose("RollingForwardInProgress"),
            compose("RollingBackInProgress"),
            compose("UnprovisioningTarget"),
            compose("RollingBackCompleted"),
        ],
        200,
    )
    .run()
    .await;
    out.requests([READ, POST, READ, READ, READ, VERSION_READ])
        .doc(rolled_back())
        .stderr_normalized(
            "RollingForwardInProgress, in UD1\n\
             Rollback accepted (HTTP 200).\n\
             RollingBackInProgress, in UD1\n\
             UnprovisioningTarget\n\
             RollingBackCompleted\n",
        );
    let post = out.received_with("POST")[0];
    assert_eq!(post.headers["content-length"], "0");
    assert!(post.body.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_operations_keep_their_api_versions_whatever_api_version_says() {
    Scenario::compose_start(
        [
            compose("ProvisioningTarget"),
            compose("RollingBackCompleted"),
        ],
        200,
    )
    .get(APP, 404)
    .args(["--api-version", "7.2", "--server-timeout", "30"])
    .run()
    .await
    .code(0)
    .requests([
        "GET /ComposeDeployments/mycompose/$/GetUpgradeProgress?api-version=6.0-preview&timeout=30",
        "POST /ComposeDeployments/mycompose/$/RollbackUpgrade?api-version=6.4-preview&timeout=30",
        "GET /ComposeDeployments/mycompose/$/GetUpgradeProgress?api-version=6.0-preview&timeout=30",
        // The application's own read follows --api-version.
        "GET /Applications/mycompose?api-version=7.2&ExcludeApplicationParameters=true&timeout=30",
    ]);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_says_what_was_rolled_back() {
    Scenario::compose([
        compose_health_failed("RollingForwardPending"),
        compose_health_failed("RollingBackCompleted"),
    ])
    .post(ROLLBACK, 200)
    .compose_app()
    .args(["compose", "start", "mycompose", "--yes"])
    .run()
    .await
    .code(0)
    .stdout_normalized(
        "Rolled back mycompose from 2.0 to 1.0 (RollingBackCompleted) in ELAPSED.\n\
         reason: the health check failed during upgrade domain UD1: service fabric:/mycompose/web is Error: Service 'fabric:/mycompose/web' is in Error.; The health check of upgrade domain UD1 failed.\n",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_once_and_says_why_the_upgrade_rolled_back() {
    let state = compose_health_failed("RollingBackInProgress");
    Scenario::compose(state.clone())
        .args(["compose", "status", "fabric:/mycompose", "--json"])
        .run()
        .await
        .requests([READ])
        .doc(json!({
            "action": "status", "phase": "rolling_back",
            "platform_state": "RollingBackInProgress", "from_version": "2.0",
            "reason": "the health check failed during upgrade domain UD1: service fabric:/mycompose/web is Error: Service 'fabric:/mycompose/web' is in Error.; The health check of upgrade domain UD1 failed.",
            "detail": state,
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_watch_waits_for_the_end_of_a_rollback_started_elsewhere() {
    Scenario::compose([
        compose("RollingBackInProgress"),
        compose("UnprovisioningTarget"),
        compose("RollingBackCompleted"),
    ])
    .compose_app()
    .args(["compose", "status", "mycompose", "--watch", "--json"])
    .run()
    .await
    .requests([READ, READ, READ, VERSION_READ])
    .doc(json!({
        "action": "status", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0", "to_version": "1.0",
        "reason": "a rollback was requested (by this tool or an operator) during upgrade domain UD1",
        "detail": compose("RollingBackCompleted"),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_reads_and_shows_the_post_without_sending_it() {
    Scenario::compose_start(compose("RollingForwardInProgress"), 200)
        .args(["--dry-run"])
        .run()
        .await
        .posts(0)
        .requests([READ])
        .doc(json!({
            "action": "start", "outcome": "would_send", "phase": "upgrading",
            "platform_state": "RollingForwardInProgress", "from_version": "2.0",
            "dry_run": true, "requests": rollback_sent(),
            "detail": compose("RollingForwardInProgress"),
        }));
}

/// `start` in every `UpgradeState`: (state, outcome, exit code, rollback POSTs sent).
#[tokio::test(flavor = "multi_thread")]
async fn every_upgrade_state_of_the_table() {
    let table = [
        ("ProvisioningTarget", "rolled_back", 0, 1),
        ("RollingForwardInProgress", "rolled_back", 0, 1),
        ("RollingForwardPending", "rolled_back", 0, 1),
        ("UnprovisioningCurrent", "nothing_to_roll_back", 3, 0),
        ("RollingForwardCompleted", "nothing_to_roll_back", 3, 0),
        ("RollingBackInProgress", "rolled_back", 0, 0),
        ("UnprovisioningTarget", "rolled_back", 0, 0),
        ("RollingBackCompleted", "nothing_to_roll_back", 3, 0),
        ("Failed", "failed", 1, 0),
        ("Invalid", "error", 1, 0),
    ];
    for (state, outcome, code, posts) in table {
        let out = Scenario::compose_start([compose(state), compose("RollingBackCompleted")], 200)
            .run()
            .await;
        out.code(code).posts(posts);
        let doc = out.json();
        assert_eq!(doc["outcome"], outcome, "{state}: {doc:#}");
        let first = &out.requests[0];
        assert_eq!(first, READ, "{state}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn past_rolling_forward_is_nothing_to_roll_back_and_if_upgrading_makes_it_0() {
    let idle = compose("UnprovisioningCurrent");
    let message = "nothing to roll back for mycompose: the upgrade has finished rolling forward (UnprovisioningCurrent): a compose deployment upgrade rolls back only while it rolls forward";
    Scenario::compose_start(idle.clone(), 200)
        .run()
        .await
        .posts(0)
        .doc(json!({
            "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "idle",
            "platform_state": "UnprovisioningCurrent", "from_version": "2.0",
            "error": error("nothing_to_roll_back", message, None, None), "detail": idle,
        }));
    Scenario::compose_start(compose("UnprovisioningCurrent"), 200)
        .args(["--if-upgrading"])
        .run()
        .await
        .code(0)
        .posts(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upgrade_is_exit_1_with_its_reason() {
    let failed = compose_health_failed("Failed");
    let message = "the upgrade failed: the health check failed: service fabric:/mycompose/web is Error: Service 'fabric:/mycompose/web' is in Error.; The health check of upgrade domain UD1 failed.";
    Scenario::compose_start(failed.clone(), 200)
        .run()
        .await
        .posts(0)
        .doc(json!({
            "action": "start", "outcome": "failed", "exit_code": 1, "phase": "failed",
            "platform_state": "Failed", "from_version": "2.0",
            "reason": "the health check failed: service fabric:/mycompose/web is Error: Service 'fabric:/mycompose/web' is in Error.; The health check of upgrade domain UD1 failed.",
            "error": error("rollback_failed", message, None, None), "detail": failed,
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_service_fabric_errors() {
    // A deployment the cluster does not know: the path names it.
    Scenario::compose(fabric_error(
        404,
        "FABRIC_E_APPLICATION_NOT_FOUND",
        "Application not found",
    ))
    .args(["compose", "status", "mycompose", "--json"])
    .run()
    .await
    .doc(json!({
        "action": "status", "outcome": "error", "exit_code": 1,
        "error": error(
            "platform",
            "GET /ComposeDeployments/mycompose/$/GetUpgradeProgress answered HTTP 404 FABRIC_E_APPLICATION_NOT_FOUND: Application not found",
            Some(404),
            Some("FABRIC_E_APPLICATION_NOT_FOUND"),
        ),
    }));
    // Refused: exit 4, whatever the body.
    Scenario::compose(403)
        .args(["compose", "status", "mycompose", "--json"])
        .run()
        .await
        .code(4);
    // The upgrade ended just before the POST.
    Scenario::compose_start(
        [
            compose("RollingForwardInProgress"),
            compose("RollingForwardCompleted"),
        ],
        fabric_error(400, "FABRIC_E_APPLICATION_NOT_UPGRADING", "not upgrading"),
    )
    .run()
    .await
    .code(3)
    .posts(1);
    // A name that is no name never reaches the cluster.
    Scenario::compose(200)
        .args(["compose", "start", "a/b"])
        .run()
        .await
        .usage_error("the compose deployment name \"a/b\" is not one name (such as mycompose)")
        .requests(Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn escaped_names_reach_their_path() {
    let at = "/ComposeDeployments/my%20compose%23x/$/GetUpgradeProgress";
    Scenario::sf()
        .result_of("sf-compose", "my compose#x")
        .get(at, compose("RollingForwardCompleted"))
        .args(["compose", "status", "my compose#x", "--json"])
        .run()
        .await
        .requests([format!("GET {at}?api-version=6.0-preview")])
        .doc(json!({
            "action": "status", "phase": "idle", "platform_state": "RollingForwardCompleted",
            "from_version": "2.0", "detail": compose("RollingForwardCompleted"),
        }));
}

/// `start --verify` on a deployment that rolls back, its application's health answering
/// `health`.
fn rollback_then_health(health: impl crate::scenario::Answers) -> Scenario {
    Scenario::compose_start(
        [
            compose("RollingForwardInProgress"),
            compose("RollingBackCompleted"),
        ],
        200,
    )
    .get(HEALTH, health)
    .args(["--verify"])
}

/// The application's health: its service web in Error because of an event.
fn unhealthy() -> Value {
    json!({
        "Name": "fabric:/mycompose", "AggregatedHealthState": "Error",
        "UnhealthyEvaluations": [{"HealthEvaluation": {
            "Kind": "Services", "AggregatedHealthState": "Error", "Description": "1 of 1",
            "UnhealthyEvaluations": [{"HealthEvaluation": {
                "Kind": "Service", "AggregatedHealthState": "Error",
                "ServiceName": "fabric:/mycompose/web",
                "UnhealthyEvaluations": [{"HealthEvaluation": {
                    "Kind": "Event", "AggregatedHealthState": "Error",
                    "UnhealthyEvent": {"SourceId": "probe", "Property": "http",
                        "HealthState": "Error", "Description": "HTTP probe failed."}
                }}]
            }}]
        }}],
    })
}

fn healthy() -> Value {
    json!({"Name": "fabric:/mycompose", "AggregatedHealthState": "Ok", "UnhealthyEvaluations": []})
}

const HEALTH_READ: &str = "GET /Applications/mycompose/$/GetHealth?api-version=6.0";

#[tokio::test(flavor = "multi_thread")]
async fn verify_reads_the_application_health_until_ok() {
    let out = rollback_then_health([unhealthy(), healthy()]).run().await;
    out.requests([READ, POST, READ, VERSION_READ, HEALTH_READ, HEALTH_READ]);
    let mut expected = rolled_back();
    expected["health"] = json!({"state": "ok", "checked_at": "TIME", "details": []});
    out.doc(expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_never_healthy_is_exit_7_naming_the_entity() {
    let message = "rolled back, but mycompose was not healthy within 1s (last read error: service fabric:/mycompose/web is Error: HTTP probe failed.)";
    let out = rollback_then_health(unhealthy())
        .args(["--verify-timeout", "1s"])
        .run()
        .await;
    let mut expected = rolled_back();
    expected["exit_code"] = json!(7);
    expected["health"] = json!({"state": "error", "checked_at": "TIME",
        "details": ["service fabric:/mycompose/web is Error: HTTP probe failed."]});
    expected["error"] = error("unhealthy", message, None, None);
    out.doc(expected)
        .stderr_ends_with(&format!("error: {message}\n"));
    let health_reads = out.requests.iter().filter(|r| *r == HEALTH_READ).count();
    assert!(
        health_reads >= 2,
        "read until the bound: {:?}",
        out.requests
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_health_errors_are_unknown_and_never_a_success() {
    let out = rollback_then_health(fabric_error(
        404,
        "FABRIC_E_HEALTH_ENTITY_NOT_FOUND",
        "not yet",
    ))
    .args(["--verify-timeout", "500ms"])
    .run()
    .await;
    out.code(7).stderr_contains(
        "was not healthy within 500ms (last read unknown: the health read failed: GET /Applications/mycompose/$/GetHealth answered HTTP 404 FABRIC_E_HEALTH_ENTITY_NOT_FOUND: not yet)",
    );
    assert_eq!(out.json()["health"]["state"], "unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_follows_the_application_the_progress_names() {
    let mut done = compose("RollingBackCompleted");
    done["ApplicationName"] = json!("fabric:/apps/web");
    Scenario::compose_start([compose("RollingForwardInProgress"), done], 200)
        .get("/Applications/apps~web/$/GetHealth", healthy())
        .get("/Applications/apps~web", 404)
        .args(["--verify"])
        .run()
        .await
        .code(0)
        .requests([
            READ,
            POST,
            READ,
            "GET /Applications/apps~web?api-version=6.0&ExcludeApplicationParameters=true",
            "GET /Applications/apps~web/$/GetHealth?api-version=6.0",
        ]);
}

/// On a terminal the question names both versions and the deployment; declined, nothing is
/// sent.
#[tokio::test(flavor = "multi_thread")]
async fn the_question_names_both_versions_and_the_deployment() {
    Scenario::compose(compose("RollingForwardInProgress"))
        .compose_app()
        .args(["--color", "never", "compose", "start", "mycompose"])
        .on_terminal(Act::Keys(b"n"))
        .await
        .code(130)
        .screen_contains("not confirmed; nothing was sent")
        .screen_contains("Abandon 2.0 and return mycompose to 1.0?")
        .screen_contains(
            "Compose deployment mycompose on SERVER/: RollingForwardInProgress, in UD1",
        )
        .posts(0);
}
