//! `rollback cloudsvc …` against a wiremock Service Management API.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Env, VERSION, requests};
use crate::scenario::cloudsvc::*;
use crate::scenario::{Answers, Outcome, Scenario, error};
use crate::tls::{Leaf, Pki, pfx, tls_front};

/// An Auto rollback answered 202, its operation polled to Succeeded, then the deployment
/// read until its update is gone.
async fn auto_rollback(target: &Target, mode: &str, force: bool) {
    let at = target.path;
    let mut command = vec!["start", "--json", "--mode", mode];
    if force {
        command.push("--force");
    }
    let out = Scenario::cloudsvc_on(target, [updating(), idle()])
        .post_comp(at, "rollback", accepted())
        .operations([
            operation("InProgress", ""),
            operation("Succeeded", "<HttpStatusCode>200</HttpStatusCode>"),
        ])
        .args(command)
        .run()
        .await;

    let expected_mode = if mode == "auto" { "Auto" } else { "Manual" };
    out.code(0).requests([
        format!("GET {at}"),
        format!("POST {at}/?comp=rollback"),
        format!("GET {OPERATION}"),
        format!("GET {OPERATION}"),
        format!("GET {at}"),
    ]);
    let post = out.received_with("POST")[0];
    let body = rollback_body(expected_mode, force);
    assert_eq!(String::from_utf8(post.body.clone()).unwrap(), body);
    assert_eq!(post.headers["x-ms-version"], "2014-10-01");
    assert_eq!(post.headers["content-type"], "application/xml");
    assert_eq!(post.headers["content-length"], body.len().to_string());
    assert_eq!(post.headers["authorization"], "Bearer aad-MARKER-token");
    for request in &out.received {
        assert_eq!(request.headers["x-ms-version"], "2014-10-01");
    }
    out.doc(rolled_back(json!([post_record(at, "rollback", &body)])))
        .never_shows("MARKER");
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_by_slot_auto() {
    auto_rollback(&BY_SLOT, "auto", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_by_deployment_name_auto_forced() {
    auto_rollback(&BY_NAME, "auto", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_text_output_and_progress() {
    Scenario::cloudsvc([updating(), idle()])
        .post_comp(SLOT, "rollback", accepted())
        .operations([operation("InProgress", ""), operation("Succeeded", "")])
        .args(["start"])
        .run()
        .await
        .code(0)
        .stdout_normalized("Rolled back mysvc/production (Succeeded) in ELAPSED.\n")
        .stderr_normalized(&format!(
            "UD 1/3 (UD 1): deployment Running, Auto update in upgrade domain 1 (During) of 3, RollbackAllowed true\n\
             Rollback accepted (HTTP 202).\n\
             operation {OP}: InProgress\n\
             UD 3/3: deployment Running, no update in progress\n"
        ));
}

/// The document of a rollback followed through the deployment alone (no operation id).
fn rolled_back_without_operation() -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back", "platform_state": "Running",
        "requests": rollback_sent(), "progress": all_done(), "detail": deployment_detail(None, false),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_outside_its_alphabet_is_never_put_into_a_url() {
    for id in ["../../x", "..%2F..%2Fx", "abc/def", "5250805d?comp=delete"] {
        let out = Scenario::cloudsvc([deployment(AUTO, true), deployment(AUTO, false), idle()])
            .post_comp(
                SLOT,
                "rollback",
                ResponseTemplate::new(202).insert_header("x-ms-request-id", id),
            )
            .args(["start", "--json"])
            .run()
            .await;
        // The rollback was accepted: it is followed through the deployment, never the id.
        assert_eq!(
            out.requests,
            [
                format!("GET {SLOT}"),
                format!("POST {SLOT}/?comp=rollback"),
                format!("GET {SLOT}"),
                format!("GET {SLOT}"),
            ],
            "{id}: nothing is sent with the id"
        );
        out.doc(rolled_back_without_operation())
            .stderr_contains(&format!(
                "{SLOT}/ accepted the request (HTTP 202), but its x-ms-request-id {id:?} is not an operation id (hex digits and '-'): following the deployment instead"
            ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_200_without_request_id_polls_the_deployment() {
    Scenario::cloudsvc([
        deployment(Some(("Auto", "During", 0)), true),
        deployment(AUTO, false),
        idle(),
    ])
    .post_comp(SLOT, "rollback", 200)
    .args(["start", "--json"])
    .run()
    .await
    .requests([
        format!("GET {SLOT}"),
        format!("POST {SLOT}/?comp=rollback"),
        format!("GET {SLOT}"),
        format!("GET {SLOT}"),
    ])
    .doc(rolled_back_without_operation());
}

/// `start` on the production slot while an Auto update runs: the rollback is accepted, its
/// operation answers `operations`.
fn accepting(operations: impl Answers) -> Scenario {
    Scenario::cloudsvc(updating())
        .post_comp(SLOT, "rollback", accepted())
        .operations(operations)
}

/// A rollback whose operation fails with `extra` elements: exit 1, the document's `error` and
/// `detail`.
async fn failed_operation(extra: &str, error: Value, reason: Value, detail: Value) {
    accepting([operation("InProgress", ""), operation("Failed", extra)])
        .args(["start", "--json"])
        .run()
        .await
        .posts(1)
        .doc(json!({
            "action": "start", "outcome": "failed", "exit_code": 1, "phase": "failed",
            "platform_state": "Failed", "operation_id": OP, "requests": rollback_sent(),
            "error": error, "reason": reason, "detail": detail,
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_operation_with_error_exits_1() {
    let message = format!("operation {OP} failed: ConflictError: The role instances are busy.");
    let mut detail = operation_detail("Failed");
    detail["HttpStatusCode"] = json!(409);
    detail["Error"] = json!({"Code": "ConflictError", "Message": "The role instances are busy."});
    failed_operation(
        "<HttpStatusCode>409</HttpStatusCode><Error><Code>ConflictError</Code><Message>The role instances are busy.</Message></Error>",
        error("rollback_failed", &message, Some(409), Some("ConflictError")),
        json!("ConflictError: The role instances are busy."),
        detail,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_operation_without_error_element_exits_1() {
    failed_operation(
        "",
        error(
            "rollback_failed",
            &format!("operation {OP} failed"),
            None,
            None,
        ),
        Value::Null,
        operation_detail("Failed"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_not_allowed_exits_3_or_0_with_if_upgrading() {
    let message =
        "nothing to roll back for mysvc/production: no upgrade is rolling forward (Running)";
    let nothing = json!({
        "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "idle",
        "platform_state": "Running", "error": error("nothing_to_roll_back", message, None, None),
        "detail": deployment_detail(None, false),
    });
    let out = Scenario::cloudsvc(idle())
        .args(["start", "--json"])
        .run()
        .await;
    out.doc(nothing.clone());
    let mut quiet = nothing;
    quiet["exit_code"] = json!(0);
    quiet["error"] = Value::Null;
    out.again()
        .args(["start", "--if-upgrading", "--json"])
        .run()
        .await
        .doc(quiet);

    let message = "nothing to roll back for mysvc/production: an update is in progress (Auto/During/UD1) but RollbackAllowed is false: it cannot be rolled back now, or a rollback is already running";
    Scenario::cloudsvc(deployment(AUTO, false))
        .args(["start", "--json"])
        .run()
        .await
        .posts(0)
        .doc(json!({
            "action": "start", "outcome": "nothing_to_roll_back", "exit_code": 3,
            "platform_state": "Auto/During/UD1",
            "error": error("nothing_to_roll_back", message, None, None),
            "progress": progress_of(AUTO), "detail": deployment_detail(AUTO, false),
        }));
}

/// A rollback refused with HTTP `status` and the `<Error>` `code`/`text`: sent once, exit
/// `exit` and an error of `kind` that quotes the answer and adds `hint`.
async fn post_refused(status: u16, code: &str, text: &str, exit: i32, kind: &str, hint: &str) {
    let message = format!("{SLOT}/ answered HTTP {status} {code}: {text}{hint}");
    Scenario::cloudsvc(updating())
        .post_comp(SLOT, "rollback", azure_error(status, code, text))
        .args(["start", "--json"])
        .run()
        .await
        .posts(1)
        .doc(refused(
            json!({
                "action": "start", "outcome": "error", "exit_code": exit, "phase": "upgrading",
                "platform_state": "Auto/During/UD1", "requests": rollback_sent(),
                "error": error(kind, &message, Some(status), Some(code)),
                "progress": progress_of(AUTO), "detail": deployment_detail(AUTO, true),
            }),
            status,
        ));
}

/// A refused request's document: a 403 says which access is missing.
fn refused(mut doc: Value, status: u16) -> Value {
    if status == 403 {
        doc["next"] = json!(
            "Azure refused these credentials: rolling back needs a management certificate uploaded to the subscription (--cert or --publish-settings), or an Azure AD token (ROLLBACK_CLOUDSVC_TOKEN) of an account that is a co-administrator of the subscription"
        );
    }
    doc
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_exits_4() {
    let text = "The server failed to authenticate the request.";
    post_refused(403, "ForbiddenError", text, 4, "auth", "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conflict_exits_1_with_hint() {
    let text = "Windows Azure is currently performing an operation on this deployment that requires exclusive access.";
    let hint = " (another operation holds the deployment; wait for it to finish and try again)";
    post_refused(409, "ConflictError", text, 1, "platform", hint).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_request_about_force_hints_at_force() {
    let text = "Rollback requires the 'Force' option because role instances would lose local data.";
    let hint = " (retry with --force, accepting that role instances may lose local data)";
    post_refused(400, "BadRequest", text, 1, "platform", hint).await;
}

/// The document of a `status` that ended in `error` with exit 1.
fn status_error(error: Value) -> Value {
    json!({"action": "status", "outcome": "error", "exit_code": 1, "error": error})
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_names_the_target() {
    let message = format!(
        "{SLOT} answered HTTP 404 ResourceNotFound: No deployments were found. (subscription {SUB}, deployment mysvc/production)"
    );
    Scenario::cloudsvc(azure_error(
        404,
        "ResourceNotFound",
        "No deployments were found.",
    ))
    .args(["status", "--json"])
    .run()
    .await
    .doc(status_error(error(
        "platform",
        &message,
        Some(404),
        Some("ResourceNotFound"),
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_redirect_is_followed_with_method_and_body() {
    let scenario = Scenario::cloudsvc([updating(), idle()]).started().await;
    let moved = format!("{}/rdfe2{SLOT}/?comp=rollback", scenario.uri());
    let out = scenario
        .post_comp(
            SLOT,
            "rollback",
            ResponseTemplate::new(307).insert_header("Location", moved.as_str()),
        )
        .post(&format!("/rdfe2{SLOT}/"), accepted())
        .operations(operation("Succeeded", ""))
        .args(["start", "--json"])
        .run()
        .await;
    // The result records where the rollback went.
    let sent = post_record(
        &format!("/rdfe2{SLOT}"),
        "rollback",
        &rollback_body("Auto", false),
    );
    out.doc(rolled_back(json!([sent]))).posts(2);
    let posts = out.received_with("POST");
    assert_eq!(posts[1].url.path(), format!("/rdfe2{SLOT}/"));
    assert_eq!(posts[1].body, posts[0].body);
    assert_eq!(posts[1].headers["authorization"], "Bearer aad-MARKER-token");
    assert_eq!(posts[1].headers["x-ms-version"], "2014-10-01");
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_rollback_walks_the_domains_the_deployment_reports() {
    let out = Scenario::cloudsvc([
        deployment(Some(("Manual", "During", 2)), true),
        deployment(Some(("Manual", "Before", 0)), false),
        deployment(Some(("Manual", "Before", 1)), false),
        deployment(Some(("Manual", "Before", 2)), false),
        idle(),
    ])
    .post_comp(SLOT, "rollback", accepted())
    .post_comp(SLOT, "walkupgradedomain", accepted())
    .operations(operation("Succeeded", ""))
    .args(["start", "--mode", "manual", "--json"])
    .run()
    .await;
    let bodies = [
        rollback_body("Manual", false),
        walk_body(0),
        walk_body(1),
        walk_body(2),
    ];
    let posts: Vec<String> = out
        .received_with("POST")
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert_eq!(posts, bodies);
    let notes: Vec<&str> = out
        .run
        .stderr
        .lines()
        .filter(|l| l.contains("accepted (HTTP"))
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        notes,
        [
            "Rollback accepted (HTTP 202).",
            "Upgrade domain 0 walk accepted (HTTP 202).",
            "Upgrade domain 1 walk accepted (HTTP 202).",
            "Upgrade domain 2 walk accepted (HTTP 202).",
        ]
    );
    let [rollback, walks @ ..] = &bodies;
    let mut sent = vec![post_record(SLOT, "rollback", rollback)];
    sent.extend(
        walks
            .iter()
            .map(|walk| post_record(SLOT, "walkupgradedomain", walk)),
    );
    // `operation_id` is the rollback's operation, not a walk's.
    out.doc(rolled_back(Value::Array(sent)));
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_rollback_no_wait_stops_after_acceptance() {
    let manual = Some(("Manual", "Before", 1));
    let out = Scenario::cloudsvc(deployment(manual, true))
        .post_comp(SLOT, "rollback", accepted())
        .args(["start", "--mode", "manual", "--no-wait", "--json"])
        .run()
        .await;
    assert_eq!(out.requests.len(), 2);
    out.doc(json!({
        "action": "start", "outcome": "accepted", "phase": "upgrading",
        "platform_state": "Manual/Before/UD1", "operation_id": OP,
        "requests": [post_record(SLOT, "rollback", &rollback_body("Manual", false))],
        "progress": progress_of(manual), "detail": deployment_detail(manual, true),
    }));
}

/// `walk --domain 1 EXTRA` of v2-build17, whose Get Deployment answers `deployments`, whose
/// walk is accepted and whose operation answers `operations`.
async fn walk_of_domain_1(
    deployments: impl Answers,
    operations: impl Answers,
    extra: &[&str],
) -> Outcome {
    Scenario::cloudsvc_on(&BY_NAME, deployments)
        .post_comp(NAMED, "walkupgradedomain", accepted())
        .operations(operations)
        .args(["walk", "--domain", "1", "--json"])
        .args(extra)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn walk_sends_the_body_and_waits_for_its_operation() {
    let next = Some(("Manual", "Before", 2));
    let out = walk_of_domain_1(
        [
            deployment(Some(("Manual", "Before", 1)), false),
            deployment(next, false),
        ],
        [operation("InProgress", ""), operation("Succeeded", "")],
        &[],
    )
    .await;
    out.requests([
        format!("GET {NAMED}"),
        format!("POST {NAMED}/?comp=walkupgradedomain"),
        format!("GET {OPERATION}"),
        format!("GET {OPERATION}"),
        format!("GET {NAMED}"),
    ])
    .stderr_contains("Upgrade domain 1 walk accepted (HTTP 202).")
    .doc(json!({
        // Waiting at the next domain and allowing no rollback: a Manual rollback.
        "action": "walk", "phase": "rolling_back", "platform_state": "Manual/Before/UD2", "operation_id": OP,
        "requests": [post_record(NAMED, "walkupgradedomain", &walk_body(1))],
        "progress": progress_of(next), "detail": deployment_detail(next, false),
        // The deployment now waits at the next domain.
        "next": format!("go on with `rollback cloudsvc walk --domain 2 --endpoint SERVER --subscription {SUB} --service mysvc --poll-interval 20ms --deployment v2-build17 --json`"),
    }));
    let post = out.received_with("POST")[0];
    assert_eq!(String::from_utf8(post.body.clone()).unwrap(), walk_body(1));
    assert_eq!(post.headers["content-type"], "application/xml");
}

#[tokio::test(flavor = "multi_thread")]
async fn walk_refuses_the_wrong_domain() {
    let out = Scenario::cloudsvc(deployment(Some(("Manual", "Before", 1)), false))
        .args(["walk", "--domain", "2"])
        .run()
        .await;
    out.code(2).stderr(
        "error: --domain 2: mysvc/production waits at upgrade domain 1, which must be walked first\n",
    );
    out.again()
        .args(["walk", "--domain", "3"])
        .run()
        .await
        .code(2)
        .stderr("error: --domain 3: mysvc/production has upgrade domains 0 to 2\n")
        .posts(0);

    Scenario::cloudsvc(idle())
        .args(["walk", "--domain", "0"])
        .run()
        .await
        .code(3);
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5() {
    let message =
        "timed out after 1s; last seen: rolling_back (InProgress); the rollback continues on Azure";
    accepting(operation("InProgress", ""))
        .args(["start", "--timeout", "1s", "--json"])
        .run()
        .await
        .doc(still_rolling_back(
            "timed_out",
            5,
            error("timed_out", message, None, None),
            "--timeout 1s --json",
        ));
}

/// The document of a `start` whose rollback was accepted and whose operation still ran when
/// the wait ended with `outcome`, exit `exit` and `error`.
/// `next` names how to attach, with the run's `options` after the preset's.
fn still_rolling_back(outcome: &str, exit: i32, error: Value, options: &str) -> Value {
    json!({
        "action": "start", "outcome": outcome, "exit_code": exit, "phase": "rolling_back",
        "platform_state": "InProgress", "operation_id": OP, "requests": rollback_sent(),
        "error": error, "detail": operation_detail("InProgress"),
        "next": format!("attach with `rollback cloudsvc status --watch --endpoint SERVER --subscription {SUB} --service mysvc --poll-interval 20ms --slot production {options}`"),
    })
}

/// A walk whose operation outlives `--timeout`: the message speaks of the walk, not of a
/// rollback.
#[tokio::test(flavor = "multi_thread")]
async fn a_walk_that_times_out_speaks_of_the_walk() {
    let message = format!(
        "timed out after 1s; last seen: operation {OP}: InProgress; the upgrade domain walk was accepted"
    );
    walk_of_domain_1(
        deployment(Some(("Manual", "Before", 1)), true),
        operation("InProgress", ""),
        &["--timeout", "1s"],
    )
    .await
    .doc(json!({
        "action": "walk", "outcome": "timed_out", "exit_code": 5, "platform_state": "InProgress",
        "operation_id": OP,
        "requests": [post_record(NAMED, "walkupgradedomain", &walk_body(1))],
        "error": error("timed_out", &message, None, None),
        "detail": operation_detail("InProgress"),
        "next": format!("attach with `rollback cloudsvc status --watch --endpoint SERVER --subscription {SUB} --service mysvc --poll-interval 20ms --deployment v2-build17 --json --timeout 1s`"),
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_wait_exits_130_and_the_rollback_continues() {
    let message =
        "interrupted; last seen: rolling_back (InProgress); the rollback continues on Azure";
    accepting(operation("InProgress", ""))
        .args(["start", "--json"])
        // Once the rollback was accepted and the wait is polling its operation.
        .signal_after("INT", 4)
        .run()
        .await
        .stderr_ends_with(&format!("error: {message}\n"))
        .posts(1)
        .doc(still_rolling_back(
            "in_progress",
            130,
            error("interrupted", message, None, None),
            "--json",
        ));
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_post_and_sends_none() {
    let command = ["start", "--mode", "manual", "--force", "--dry-run"];
    let out = Scenario::cloudsvc(updating()).args(command).run().await;
    let body = rollback_body("Manual", true);
    out.code(0)
        .stdout_normalized(&format!(
            "Dry run: mysvc/production is upgrading (Auto/During/UD1); nothing was sent. Would send:\n\n\
             POST SERVER{SLOT}/?comp=rollback\n\
             User-Agent: rollback/{VERSION}\n\
             x-ms-version: 2014-10-01\n\
             Authorization: Bearer <redacted>\n\
             Content-Type: application/xml\n\
             Content-Length: {}\n\n{body}\n",
            body.len()
        ))
        .requests([format!("GET {SLOT}")]);

    out.again()
        .args(command)
        .args(["--json"])
        .run()
        .await
        .posts(0)
        .doc(json!({
            "action": "start", "outcome": "would_send", "phase": "upgrading",
            "platform_state": "Auto/During/UD1", "dry_run": true,
            "requests": [post_record(SLOT, "rollback", &body)],
            "progress": progress_of(AUTO), "detail": deployment_detail(AUTO, true),
        }));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_xml_is_an_error_quoting_it() {
    let out = Scenario::cloudsvc(
        ResponseTemplate::new(200)
            .set_body_raw("<Deployment><Status>Running</Deploy", "application/xml"),
    )
    .args(["status", "--json"])
    .run()
    .await;
    // The parser's own words stand between the two parts.
    let message = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("answered something that is not the expected XML"),
        "{message}"
    );
    assert!(
        message.ends_with(": <Deployment><Status>Running</Deploy"),
        "{message}"
    );
    out.doc(status_error(error(
        "unexpected_answer",
        &message,
        None,
        None,
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_the_update_and_not_ready_instances() {
    let busy = updating().replace(
        "</RoleInstanceList>",
        "<RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_1</InstanceName><InstanceStatus>Busy</InstanceStatus><InstanceUpgradeDomain>1</InstanceUpgradeDomain></RoleInstance></RoleInstanceList>",
    );
    Scenario::cloudsvc(busy)
        .args(["status"])
        .run()
        .await
        .code(0)
        .stdout("target:   mysvc/production\nphase:    upgrading\nstate:    Auto/During/UD1\nprogress: deployment Running, Auto update in upgrade domain 1 (During) of 3, RollbackAllowed true, not ready: Web_IN_1 (Busy)\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn target_and_credential_errors_exit_2() {
    // (the arguments after `cloudsvc --endpoint SERVER`, SUB for the subscription; whether the
    // token is set; what stderr says)
    let cases = [
        (
            "--subscription SUB --service mysvc status",
            true,
            "give exactly one of --slot production|staging or --deployment NAME",
        ),
        (
            "--subscription SUB --service mysvc --slot production --deployment x status",
            true,
            "cannot be used with",
        ),
        (
            "--service mysvc --slot production status",
            true,
            "--subscription is required",
        ),
        (
            "--subscription SUB --slot production status",
            true,
            "--service is required",
        ),
        (
            "--subscription SUB --service my/../svc --slot production status",
            true,
            "a cloud service name has only",
        ),
        (
            "--subscription not-a-guid! --service mysvc --slot production status",
            true,
            "expected a subscription id",
        ),
        (
            "--subscription SUB --service mysvc --slot production status",
            false,
            "no credential",
        ),
        // This one names its own endpoint instead of the server.
        (
            "--endpoint http://rdfe.invalid --subscription SUB --service mysvc --slot production status",
            true,
            "refusing to send a credential over plain http://",
        ),
        (
            "--subscription SUB --service mysvc --slot production --publish-settings /nonexistent.publishsettings status",
            false,
            "cannot read publish settings",
        ),
        (
            "--subscription SUB --service mysvc --slot canary status",
            true,
            "invalid value 'canary'",
        ),
    ];
    let mut next = Scenario::new();
    for (line, token, needle) in cases {
        let mut argv = vec!["cloudsvc"];
        if !line.starts_with("--endpoint") {
            argv.extend(["--endpoint", "SERVER"]);
        }
        argv.extend(line.split(' ').map(|a| if a == "SUB" { SUB } else { a }));
        let scenario = if token {
            next.env(TOKEN.0, TOKEN.1)
        } else {
            next.without_env(TOKEN.0)
        };
        let out = scenario.args(&argv).run().await;
        out.usage_error(needle);
        next = out.again();
    }
    let out = next
        .env(TOKEN.0, TOKEN.1)
        .env("AZURE_SUBSCRIPTION_ID", SUB)
        .args(["cloudsvc", "--endpoint", "SERVER"])
        .args(["--service", "mysvc", "--slot", "production", "status"])
        .run()
        .await;
    assert_eq!(
        out.run.code, 1,
        "AZURE_SUBSCRIPTION_ID is used: {:?}",
        out.run
    );
    out.requests([format!("GET {SLOT}")]);
}

/// The document of `status --json` on the idle production slot.
fn idle_status() -> Value {
    json!({
        "action": "status", "phase": "idle", "platform_state": "Running",
        "detail": deployment_detail(None, false),
    })
}

/// The PKI of the TLS tests: the management server's CA, and a management certificate of the
/// client CA written with its key as one PEM file.
struct Management {
    server: Pki,
    client: Pki,
    ca: PathBuf,
    leaf: Leaf,
    pem: PathBuf,
}

impl Management {
    fn new() -> Self {
        let (server, client) = (
            Pki::new("management server CA"),
            Pki::new("management client CA"),
        );
        let leaf = client.leaf(&[], "management");
        let pem = client.write(
            "mgmt.pem",
            format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
        );
        let ca = server.ca_pem();
        Self {
            server,
            client,
            ca,
            leaf,
            pem,
        }
    }

    /// The URL of an HTTPS front before `upstream` that asks for a certificate of the client CA.
    async fn front(&self, upstream: SocketAddr) -> String {
        let port = tls_front(&self.server, &self.client, upstream).await;
        format!("https://localhost:{port}")
    }
}

/// The management certificate over mutual TLS: PEM, PFX, and from a publish-settings file.
#[tokio::test(flavor = "multi_thread")]
async fn management_certificates_over_mutual_tls() {
    let pki = Management::new();
    let mut next = Scenario::new()
        .result_of("cloudsvc", "mysvc/production")
        .get(SLOT, idle())
        .started()
        .await;
    let endpoint = pki.front(next.address()).await;
    let pfx_file = pki.client.write(
        "mgmt.pfx",
        &pfx(
            &pki.leaf,
            "pw",
            p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
        ),
    );
    let empty_password = pfx(
        &pki.leaf,
        "",
        p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
    );
    use base64::Engine;
    let publish = |name: &str, id: &str| {
        pki.client.write(
            name,
            format!(
                r#"<?xml version="1.0" encoding="utf-8"?><PublishData><PublishProfile SchemaVersion="2.0" PublishMethod="AzureServiceManagementAPI"><Subscription ServiceManagementUrl="https://other.invalid" Id="0000" Name="Other" ManagementCertificate="MIIB" /><Subscription ServiceManagementUrl="{endpoint}" Id="{id}" Name="Prod" ManagementCertificate="{}" /></PublishProfile></PublishData>"#,
                base64::engine::general_purpose::STANDARD.encode(&empty_password)
            )
            .as_bytes(),
        )
    };
    let settings = publish("sub.publishsettings", SUB);
    let upper = publish("upper.publishsettings", &SUB.to_uppercase());
    let base = [
        "cloudsvc",
        "--service",
        "mysvc",
        "--slot",
        "production",
        "--ca",
        pki.ca.to_str().unwrap(),
    ];
    let with_endpoint = ["--endpoint", "SERVER", "--subscription", SUB];
    let cases: [(Vec<&str>, Env); 4] = [
        (
            [&with_endpoint[..], &["--cert", pki.pem.to_str().unwrap()]].concat(),
            vec![],
        ),
        (
            [
                &with_endpoint[..],
                &[
                    "--cert",
                    pfx_file.to_str().unwrap(),
                    "--cert-password-env",
                    "PFX_PW",
                ],
            ]
            .concat(),
            vec![("PFX_PW", "pw")],
        ),
        // The publish settings give the endpoint and the certificate of the chosen subscription.
        (
            vec![
                "--subscription",
                SUB,
                "--publish-settings",
                settings.to_str().unwrap(),
            ],
            vec![],
        ),
        // Ids compare without regard to case; the path keeps the id as given.
        (
            vec![
                "--publish-settings",
                upper.to_str().unwrap(),
                "--subscription",
                SUB,
            ],
            vec![],
        ),
    ];
    next = next.at(&endpoint);
    for (argv, env) in cases {
        for (key, value) in env {
            next = next.env(key, value);
        }
        let out = next
            .args(base)
            .args(argv)
            .args(["status", "--json"])
            .run()
            .await;
        out.doc(idle_status());
        next = out.again().without_env("PFX_PW");
    }
    let out = next
        .args(base)
        .args(["--publish-settings", settings.to_str().unwrap(), "status"])
        .run()
        .await;
    out.code(2)
        .stderr_contains("holds several subscriptions (0000, 0123abcd-0000-4000-8000-0123456789ab): pick one with --subscription")
        .requests(vec![format!("GET {SLOT}"); 4]);

    out.again()
        .env(TOKEN.0, TOKEN.1)
        .args(base)
        .args(with_endpoint)
        .args(["status", "--json"])
        .run()
        .await
        // A token alone is no client certificate.
        .code(4);
}

/// A 307 from the management endpoint to another https origin that is not under its cloud's
/// management domain is not followed: the client certificate and the rollback go nowhere else.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_https_origin_takes_neither_certificate_nor_rollback() {
    let pki = Management::new();
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(accepted())
        .mount(&other)
        .await;
    let location = format!("{}{SLOT}/?comp=rollback", pki.front(*other.address()).await);
    let scenario = Scenario::cloudsvc(updating())
        .post_comp(
            SLOT,
            "rollback",
            ResponseTemplate::new(307).insert_header("Location", location.as_str()),
        )
        .started()
        .await;
    let endpoint = pki.front(scenario.address()).await;
    let message = format!(
        "POST SERVER{SLOT}/?comp=rollback answered HTTP 307 with Location {location}: it leads to another origin than SERVER; the redirect was not followed and nothing was sent there"
    );
    scenario
        .at(&endpoint)
        .args(["--ca", pki.ca.to_str().unwrap()])
        .args(["--cert", pki.pem.to_str().unwrap(), "start", "--json"])
        .run()
        .await
        .requests([format!("GET {SLOT}"), format!("POST {SLOT}/?comp=rollback")])
        .doc(json!({
            "action": "start", "outcome": "error", "exit_code": 1, "phase": "upgrading",
            "platform_state": "Auto/During/UD1", "requests": rollback_sent(),
            "error": error("platform", &message, Some(307), None),
            "progress": progress_of(AUTO), "detail": deployment_detail(AUTO, true),
        }));
    assert!(
        requests(&other).await.is_empty(),
        "nothing reached the other origin"
    );
}
