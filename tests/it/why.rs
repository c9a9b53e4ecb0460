//! Why and how far (issue 12 §2): the result's `reason` and `progress` from real-shaped
//! documents, the `-o jsonl` events that carry `progress`, the text `reason:` line, and
//! Cloud Services' status in a Manual rollback (its phase and the domain to walk).

use serde_json::{Value, json};

use crate::scenario::cloudsvc::{
    self, SUB, all_done, deployment, deployment_detail, idle, progress_of,
};
use crate::scenario::sf::{self, app};
use crate::scenario::{Scenario, error};

/// Each `-o jsonl` line without its clock (`at`, and the result's own times).
fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| {
            let mut line: Value = serde_json::from_str(l).expect("a JSON line");
            let map = line.as_object_mut().unwrap();
            for clock in ["at", "started_at", "finished_at", "elapsed_ms"] {
                map.remove(clock);
            }
            line
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sf_jsonl_progress_events_carry_the_domains() {
    let out = Scenario::sf_app([
        app("RollingBackInProgress", 1),
        app("RollingBackInProgress", 2),
        app("RollingBackCompleted", 3),
    ])
    .app_info()
    .args(["app", "status", "myapp~app1", "--watch", "-o", "jsonl"])
    .run()
    .await;
    out.code(0).stderr("");
    let events = lines(&out.run.stdout);
    let progress = |phase: &str, message: &str, domains: Value| json!({"type": "progress", "phase": phase, "message": message, "progress": domains});
    assert_eq!(
        events[..3],
        [
            progress(
                "rolling_back",
                "RollingBackInProgress, 1/3 upgrade domains done",
                sf::progress_of("RollingBackInProgress", 1),
            ),
            progress(
                "rolling_back",
                "RollingBackInProgress, 2/3 upgrade domains done",
                json!({"domains_done": 2, "domains_total": 3, "current": "UD2"}),
            ),
            progress(
                "rolled_back",
                "RollingBackCompleted, 3/3 upgrade domains done",
                json!({"domains_done": 3, "domains_total": 3, "current": null}),
            ),
        ]
    );
    assert_eq!(events.len(), 4, "{events:?}");
    out.result_line(json!({
        "action": "status", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
        "reason": "a rollback was requested (by this tool or an operator) during upgrade domain UD1",
        "progress": {"domains_done": 3, "domains_total": 3, "current": null},
        "detail": app("RollingBackCompleted", 3),
    }));
}

/// A health check failure as Service Fabric reports it while it rolls back on its own: the
/// reason names the domain at failure and the entity, the text status prints it.
#[tokio::test(flavor = "multi_thread")]
async fn sf_status_says_why_the_platform_rolled_back() {
    let mut progress = app("RollingBackInProgress", 1);
    progress["FailureReason"] = json!("HealthCheck");
    progress["UpgradeDomainProgressAtFailure"] = json!({"DomainName": "UD1", "NodeUpgradeProgressList": [
        {"NodeName": "_Node_1", "UpgradePhase": "PostUpgradeSafetyCheck", "PendingSafetyChecks": []}]});
    progress["UnhealthyEvaluations"] = json!([{"HealthEvaluation": {
        "Kind": "Services", "AggregatedHealthState": "Error",
        "Description": "100% (1/1) services of service type 'WebType' are unhealthy.",
        "UnhealthyEvaluations": [{"HealthEvaluation": {
            "Kind": "Service", "AggregatedHealthState": "Error", "ServiceName": "fabric:/myapp/app1/web",
            "Description": "Unhealthy service: ServiceName='fabric:/myapp/app1/web'."}}]}}]);
    let reason = "the health check failed during upgrade domain UD1: service fabric:/myapp/app1/web is Error: Unhealthy service: ServiceName='fabric:/myapp/app1/web'.";
    let out = Scenario::sf_app(progress.clone())
        .args(["app", "status", "myapp~app1", "--json"])
        .run()
        .await;
    out.doc(json!({
        "action": "status", "phase": "rolling_back", "platform_state": "RollingBackInProgress",
        "from_version": "2.0.0", "reason": reason,
        "progress": {"domains_done": 1, "domains_total": 3, "current": "UD1"}, "detail": progress,
    }));
    out.again()
        .args(["app", "status", "myapp~app1"])
        .run()
        .await
        .code(0)
        .stdout(&format!(
            "target:   myapp~app1\nphase:    rolling_back\nstate:    RollingBackInProgress\n\
             version:  2.0.0 (the upgrade's target)\nprogress: RollingBackInProgress, 1/3 upgrade domains done\n\
             reason:   {reason}\n"
        ));
}

/// The Manual rollback an operator walks with `walk --domain N`: `status` shows it rolling
/// back and the domain to walk (not `unknown`); `start` sends nothing and names the walk;
/// `status --watch` follows it to its end.
#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_status_in_a_manual_walk_shows_the_phase_and_the_next_domain() {
    let waiting = Some(("Manual", "Before", 1));
    let walk = |n: u32, options: &str| {
        format!(
            "go on with `rollback cloudsvc walk --domain {n} --endpoint SERVER --subscription {SUB} --service mysvc --poll-interval 20ms --slot production {options}`"
        )
    };
    let out = Scenario::cloudsvc(deployment(waiting, false))
        .args(["status", "--json"])
        .run()
        .await;
    out.doc(json!({
        "action": "status", "phase": "rolling_back", "platform_state": "Manual/Before/UD1",
        "progress": progress_of(waiting), "detail": deployment_detail(waiting, false),
        "next": walk(1, "--json"),
    }));

    let message = "nothing to roll back for mysvc/production: a Manual rollback is running (Manual/Before/UD1) and waits for an upgrade domain to be walked; no rollback was sent";
    out.again()
        .args(["start", "--yes", "--json"])
        .run()
        .await
        .posts(0)
        .doc(json!({
            "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3,
            "phase": "rolling_back", "platform_state": "Manual/Before/UD1",
            "error": error("nothing_to_roll_back", message, None, None),
            "progress": progress_of(waiting), "detail": deployment_detail(waiting, false),
            "next": walk(1, "--json"),
        }));

    let next = Some(("Manual", "Before", 2));
    let out = Scenario::cloudsvc([deployment(waiting, false), deployment(next, false), idle()])
        .args(["status", "--watch", "-o", "jsonl"])
        .run()
        .await;
    let events: Vec<Value> = lines(&out.run.stdout)
        .into_iter()
        .filter(|e| e["type"] == "progress")
        .map(|e| e["progress"].clone())
        .collect();
    assert_eq!(
        events,
        [progress_of(waiting), progress_of(next), all_done()],
        "{}",
        out.run.stdout
    );
    out.result_line(json!({
        "action": "status", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "Running", "progress": all_done(),
        "detail": deployment_detail(None, false),
    }));
}

/// A walk's operation that fails: its error is the reason, said once in the text output (the
/// error already holds it).
#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_a_failed_operation_is_the_reason() {
    let failed = "<HttpStatusCode>500</HttpStatusCode><Error><Code>InternalError</Code><Message>Role instance WebRole1_IN_1 did not start.</Message></Error>";
    let waiting = Some(("Manual", "Before", 1));
    let out = Scenario::cloudsvc(deployment(waiting, false))
        .post_comp(cloudsvc::SLOT, "walkupgradedomain", cloudsvc::accepted())
        .operations(cloudsvc::operation("Failed", failed))
        .args(["walk", "--domain", "1", "--yes"])
        .run()
        .await;
    out.code(1).stdout("").stderr_ends_with(&format!(
        "error: operation {} failed: InternalError: Role instance WebRole1_IN_1 did not start.\n",
        cloudsvc::OP
    ));
    out.again()
        .args(["walk", "--domain", "1", "--yes", "--json"])
        .run()
        .await
        .code(1)
        .doc(json!({
            "action": "walk", "outcome": "failed", "exit_code": 1, "phase": "failed",
            "platform_state": "Failed", "operation_id": cloudsvc::OP,
            "requests": [cloudsvc::post_record(cloudsvc::SLOT, "walkupgradedomain", &cloudsvc::walk_body(1))],
            "error": error("rollback_failed", &format!("operation {} failed: InternalError: Role instance WebRole1_IN_1 did not start.", cloudsvc::OP), Some(500), Some("InternalError")),
            "reason": "InternalError: Role instance WebRole1_IN_1 did not start.",
            "progress": null,
            "detail": {"ID": "5250805d-51f2-bf4f-b2b7-614bc03870de", "Status": "Failed", "HttpStatusCode": 500,
                "Error": {"Code": "InternalError", "Message": "Role instance WebRole1_IN_1 did not start."}},
        }));
}

/// The ArcGIS job that failed: its last message is the reason of `status`.
#[tokio::test(flavor = "multi_thread")]
async fn arcgis_status_of_a_failed_job_gives_its_last_message() {
    use crate::scenario::arcgis::{STARTED, job};
    let failed = job(
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
    let out = Scenario::arcgis(failed.clone())
        .args(["status", "--json"])
        .run()
        .await;
    let text = out.run.stdout.clone();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["reason"], "Container arcgis-portal did not start.",
        "{text}"
    );
    assert_eq!(doc["progress"], Value::Null, "{text}");
    let out = out.again().args(["status"]).run().await;
    assert!(
        out.run
            .stdout
            .ends_with("\nreason:   Container arcgis-portal did not start.\n"),
        "{:?}",
        out.run
    );
}
