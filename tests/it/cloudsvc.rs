//! `rollback cloudsvc …` against a wiremock Service Management API.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::tls::{Pki, pfx, tls_front};

pub const SUB: &str = "0123abcd-0000-4000-8000-0123456789ab";
const OP: &str = "5250805d51f2bf4fb2b7614bc03870de";
const OP_DASHED: &str = "5250805d-51f2-bf4f-b2b7-614bc03870de";
const NS: &str = "http://schemas.microsoft.com/windowsazure";

pub fn slot_path() -> String {
    format!("/{SUB}/services/hostedservices/mysvc/deploymentslots/production")
}

fn named_path() -> String {
    format!("/{SUB}/services/hostedservices/mysvc/deployments/v2-build17")
}

fn op_path() -> String {
    format!("/{SUB}/operations/{OP}")
}

/// A `<Deployment>`: `upgrade` = (type, domain state, domain) while an update runs.
pub fn deployment(upgrade: Option<(&str, &str, u32)>, rollback_allowed: bool) -> String {
    let upgrade = upgrade
        .map(|(t, s, d)| {
            format!("<UpgradeStatus><UpgradeType>{t}</UpgradeType><CurrentUpgradeDomainState>{s}</CurrentUpgradeDomainState><CurrentUpgradeDomain>{d}</CurrentUpgradeDomain></UpgradeStatus>")
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Deployment xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>v2-build17</Name><DeploymentSlot>Production</DeploymentSlot><PrivateID>9f1c</PrivateID><Status>Running</Status><Label>djI=</Label><Configuration>PD94bWwgLz4=</Configuration><RoleInstanceList><RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_0</InstanceName><InstanceStatus>ReadyRole</InstanceStatus><InstanceUpgradeDomain>0</InstanceUpgradeDomain></RoleInstance></RoleInstanceList>{upgrade}<UpgradeDomainCount>3</UpgradeDomainCount><SdkVersion>2.9.6</SdkVersion><Locked>false</Locked><RollbackAllowed>{rollback_allowed}</RollbackAllowed></Deployment>"#
    )
}

fn operation(status: &str, extra: &str) -> String {
    format!(
        r#"<Operation xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ID>{OP_DASHED}</ID><Status>{status}</Status>{extra}</Operation>"#
    )
}

fn xml(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/xml; charset=utf-8")
}

fn xml_seq(bodies: Vec<String>) -> Seq {
    Seq::new(bodies.into_iter().map(xml).collect())
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(r#"<Error xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Code>{code}</Code><Message>{message}</Message></Error>"#),
        "application/xml",
    )
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("x-ms-request-id", OP)
}

fn rollback_body(mode: &str, force: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<RollbackUpdateOrUpgrade xmlns=\"{NS}\"><Mode>{mode}</Mode><Force>{force}</Force></RollbackUpdateOrUpgrade>"
    )
}

fn walk_body(domain: u32) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<WalkUpgradeDomain xmlns=\"{NS}\"><UpgradeDomain>{domain}</UpgradeDomain></WalkUpgradeDomain>"
    )
}

async fn mount_get(server: &MockServer, at: &str, seq: Seq) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(seq)
        .mount(server)
        .await;
}

async fn mount_post(
    server: &MockServer,
    at: &str,
    comp: &str,
    response: impl wiremock::Respond + 'static,
) {
    Mock::given(method("POST"))
        .and(path(format!("{at}/")))
        .and(query_param("comp", comp))
        .respond_with(response)
        .mount(server)
        .await;
}

const TOKEN: (&str, &str) = ("ROLLBACK_CLOUDSVC_TOKEN", "aad-MARKER-token");

fn args<'a>(server: &'a str, target: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "cloudsvc",
        "--endpoint",
        server,
        "--subscription",
        SUB,
        "--service",
        "mysvc",
        "--poll-interval",
        "20ms",
    ];
    all.extend_from_slice(target);
    all.extend_from_slice(rest);
    all
}

const SLOT: &[&str] = &["--slot", "production"];

/// An Auto rollback answered 202, its operation polled to Succeeded, then the deployment
/// read until its update is gone.
async fn auto_rollback(target: &[&str], at: &str, mode: &str, force: bool) {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        at,
        xml_seq(vec![
            deployment(Some(("Auto", "During", 1)), true),
            deployment(None, false),
        ]),
    )
    .await;
    mount_post(&server, at, "rollback", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![
            operation("InProgress", ""),
            operation("Succeeded", "<HttpStatusCode>200</HttpStatusCode>"),
        ]),
    )
    .await;
    let mut rest = vec!["start", "--json", "--mode", mode];
    if force {
        rest.push("--force");
    }
    let argv = args(&uri, target, &rest);
    let run = run_args(&argv, &[TOKEN]).await;

    assert_eq!(run.code, 0, "{run:?}");
    let expected_mode = if mode == "auto" { "Auto" } else { "Manual" };
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {at}"),
            format!("POST {at}/?comp=rollback"),
            format!("GET {}", op_path()),
            format!("GET {}", op_path()),
            format!("GET {at}"),
        ]
    );
    let post = &requests_with_method(&server, "POST").await[0];
    let body = rollback_body(expected_mode, force);
    assert_eq!(String::from_utf8(post.body.clone()).unwrap(), body);
    assert_eq!(post.headers["x-ms-version"], "2014-10-01");
    assert_eq!(post.headers["content-type"], "application/xml");
    assert_eq!(post.headers["content-length"], body.len().to_string());
    assert_eq!(post.headers["authorization"], "Bearer aad-MARKER-token");
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.headers["x-ms-version"], "2014-10-01");
    }
    let label = if at == slot_path() {
        "mysvc/production"
    } else {
        "mysvc/v2-build17"
    };
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "cloudsvc", "target": label, "action": "start",
            "outcome": "rolled_back", "exit_code": 0, "phase": "rolled_back", "platform_state": "Succeeded",
            "from_version": null, "to_version": null, "operation_id": OP, "dry_run": false,
            "requests": [{
                "method": "POST",
                "url": format!("{uri}{at}/?comp=rollback"),
                "headers": {
                    "User-Agent": format!("rollback/{VERSION}"), "x-ms-version": "2014-10-01",
                    "Authorization": "Bearer <redacted>", "Content-Type": "application/xml",
                    "Content-Length": body.len().to_string(),
                },
                "body": body,
            }],
            "error": null,
            "detail": {
                "Name": "v2-build17", "DeploymentSlot": "Production", "Status": "Running", "UpgradeStatus": null,
                "RollbackAllowed": "false", "Locked": "false", "UpgradeDomainCount": "3", "SdkVersion": "2.9.6",
                "Label": "djI=", "RoleInstanceList": {"RoleInstance": [{"RoleName": "Web", "InstanceName": "Web_IN_0", "InstanceStatus": "ReadyRole", "InstanceUpgradeDomain": "0"}]},
            },
        }),
    );
    assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_by_slot_auto() {
    auto_rollback(SLOT, &slot_path(), "auto", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_by_deployment_name_auto_forced() {
    auto_rollback(&["--deployment", "v2-build17"], &named_path(), "auto", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_text_output_and_progress() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![
            deployment(Some(("Auto", "During", 1)), true),
            deployment(None, false),
        ]),
    )
    .await;
    mount_post(&server, &slot_path(), "rollback", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![
            operation("InProgress", ""),
            operation("Succeeded", ""),
        ]),
    )
    .await;
    let run = run_args(&args(&uri, SLOT, &["start"]), &[TOKEN]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        normalize(&run.stdout, &uri),
        "Rolled back mysvc/production (Succeeded) in ELAPSED.\n"
    );
    assert_eq!(
        normalize(&run.stderr, &uri),
        format!(
            "deployment Running, Auto update in upgrade domain 1 (During) of 3, RollbackAllowed true\n\
             Rollback accepted (HTTP 202).\n\
             operation {OP}: InProgress\n\
             deployment Running, no update in progress\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_outside_its_alphabet_is_never_put_into_a_url() {
    for id in ["../../x", "..%2F..%2Fx", "abc/def", "5250805d?comp=delete"] {
        let server = MockServer::start().await;
        let uri = server.uri();
        let at = slot_path();
        mount_get(
            &server,
            &at,
            xml_seq(vec![
                deployment(Some(("Auto", "During", 1)), true),
                deployment(Some(("Auto", "During", 1)), false),
                deployment(None, false),
            ]),
        )
        .await;
        mount_post(
            &server,
            &at,
            "rollback",
            ResponseTemplate::new(202).insert_header("x-ms-request-id", id),
        )
        .await;
        let run = run_args(&args(&uri, SLOT, &["start", "--json"]), &[TOKEN]).await;
        // The rollback was accepted: it is followed through the deployment, never the id.
        assert_eq!(run.code, 0, "{id}: {run:?}");
        assert_eq!(
            requests(&server).await,
            [
                format!("GET {at}"),
                format!("POST {at}/?comp=rollback"),
                format!("GET {at}"),
                format!("GET {at}"),
            ],
            "{id}: nothing is sent with the id"
        );
        let doc = run.json();
        assert_eq!(doc["outcome"], "rolled_back");
        assert_eq!(doc["operation_id"], Value::Null);
        assert!(
            run.stderr.contains(&format!(
                "{at}/ accepted the request (HTTP 202), but its x-ms-request-id {id:?} is not an operation id (hex digits and '-'): following the deployment instead"
            )),
            "{id}: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_200_without_request_id_polls_the_deployment() {
    let server = MockServer::start().await;
    let at = slot_path();
    mount_get(
        &server,
        &at,
        xml_seq(vec![
            deployment(Some(("Auto", "During", 0)), true),
            deployment(Some(("Auto", "During", 1)), false),
            deployment(None, false),
        ]),
    )
    .await;
    mount_post(&server, &at, "rollback", ResponseTemplate::new(200)).await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {at}"),
            format!("POST {at}/?comp=rollback"),
            format!("GET {at}"),
            format!("GET {at}")
        ]
    );
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["operation_id"], Value::Null);
    assert_eq!(doc["platform_state"], "Running");
}

async fn failed_operation(extra: &str) -> Run {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), true)]),
    )
    .await;
    mount_post(&server, &slot_path(), "rollback", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![
            operation("InProgress", ""),
            operation("Failed", extra),
        ]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["outcome"], "failed");
    assert_eq!(run.json()["phase"], "failed");
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_operation_with_error_exits_1() {
    let run = failed_operation("<HttpStatusCode>409</HttpStatusCode><Error><Code>ConflictError</Code><Message>The role instances are busy.</Message></Error>").await;
    assert_eq!(
        run.json()["error"],
        json!({"kind": "rollback_failed", "message": format!("operation {OP} failed: ConflictError: The role instances are busy."), "http_status": 409, "platform_code": "ConflictError"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_operation_without_error_element_exits_1() {
    let run = failed_operation("").await;
    assert_eq!(
        run.json()["error"],
        json!({"kind": "rollback_failed", "message": format!("operation {OP} failed"), "http_status": null, "platform_code": null})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_not_allowed_exits_3_or_0_with_if_upgrading() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(None, false)]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "nothing to roll back for mysvc/production: no upgrade is rolling forward (Running)"
    );
    assert_eq!(run.json()["phase"], "idle");
    let run = run_args(
        &args(&server.uri(), SLOT, &["start", "--if-upgrading", "--json"]),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "nothing_to_roll_back");

    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), false)]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.json()["phase"], "unknown");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("RollbackAllowed is false")
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

async fn post_error(response: ResponseTemplate, exit: i32) -> Value {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), true)]),
    )
    .await;
    mount_post(&server, &slot_path(), "rollback", response).await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, exit, "{run:?}");
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    run.json()["error"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_exits_4() {
    let error = post_error(
        error(
            403,
            "ForbiddenError",
            "The server failed to authenticate the request.",
        ),
        4,
    )
    .await;
    assert_eq!(error["kind"], "auth");
    assert_eq!(error["platform_code"], "ForbiddenError");
    assert_eq!(error["http_status"], 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn conflict_exits_1_with_hint() {
    let error = post_error(error(409, "ConflictError", "Windows Azure is currently performing an operation on this deployment that requires exclusive access."), 1).await;
    assert_eq!(
        error["message"],
        format!(
            "{}/ answered HTTP 409 ConflictError: Windows Azure is currently performing an operation on this deployment that requires exclusive access. (another operation holds the deployment; wait for it to finish and try again)",
            slot_path()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_request_about_force_hints_at_force() {
    let error = post_error(
        error(
            400,
            "BadRequest",
            "Rollback requires the 'Force' option because role instances would lose local data.",
        ),
        1,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("(retry with --force, accepting that role instances may lose local data)")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_names_the_target() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        Seq::new(vec![error(
            404,
            "ResourceNotFound",
            "No deployments were found.",
        )]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["status", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        format!(
            "{} answered HTTP 404 ResourceNotFound: No deployments were found. (subscription {SUB}, deployment mysvc/production)",
            slot_path()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_redirect_is_followed_with_method_and_body() {
    let server = MockServer::start().await;
    let at = slot_path();
    mount_get(
        &server,
        &at,
        xml_seq(vec![
            deployment(Some(("Auto", "During", 1)), true),
            deployment(None, false),
        ]),
    )
    .await;
    let moved = format!("{}/rdfe2{at}/?comp=rollback", server.uri());
    mount_post(
        &server,
        &at,
        "rollback",
        ResponseTemplate::new(307).insert_header("Location", moved.as_str()),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/rdfe2{at}/")))
        .respond_with(accepted())
        .mount(&server)
        .await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![operation("Succeeded", "")]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["start", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let posts = requests_with_method(&server, "POST").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].url.path(), format!("/rdfe2{at}/"));
    assert_eq!(posts[1].body, posts[0].body);
    assert_eq!(posts[1].headers["authorization"], "Bearer aad-MARKER-token");
    assert_eq!(posts[1].headers["x-ms-version"], "2014-10-01");
    assert_eq!(run.json()["operation_id"], OP);
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_rollback_walks_the_domains_the_deployment_reports() {
    let server = MockServer::start().await;
    let at = slot_path();
    mount_get(
        &server,
        &at,
        xml_seq(vec![
            deployment(Some(("Manual", "During", 2)), true),
            deployment(Some(("Manual", "Before", 0)), false),
            deployment(Some(("Manual", "Before", 1)), false),
            deployment(Some(("Manual", "Before", 2)), false),
            deployment(None, false),
        ]),
    )
    .await;
    mount_post(&server, &at, "rollback", accepted()).await;
    mount_post(&server, &at, "walkupgradedomain", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![operation("Succeeded", "")]),
    )
    .await;
    let run = run_args(
        &args(
            &server.uri(),
            SLOT,
            &["start", "--mode", "manual", "--json"],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let posts: Vec<String> = requests_with_method(&server, "POST")
        .await
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert_eq!(
        posts,
        [
            rollback_body("Manual", false),
            walk_body(0),
            walk_body(1),
            walk_body(2)
        ]
    );
    let notes: Vec<&str> = run
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
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(
        doc["operation_id"], OP,
        "the rollback's operation, not a walk's"
    );
    let sent: Vec<&str> = doc["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap().rsplit('=').next().unwrap())
        .collect();
    assert_eq!(
        sent,
        [
            "rollback",
            "walkupgradedomain",
            "walkupgradedomain",
            "walkupgradedomain"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_rollback_no_wait_stops_after_acceptance() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Manual", "Before", 1)), true)]),
    )
    .await;
    mount_post(&server, &slot_path(), "rollback", accepted()).await;
    let run = run_args(
        &args(
            &server.uri(),
            SLOT,
            &["start", "--mode", "manual", "--no-wait", "--json"],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "accepted");
    assert_eq!(run.json()["operation_id"], OP);
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn walk_sends_the_body_and_waits_for_its_operation() {
    let server = MockServer::start().await;
    let at = named_path();
    mount_get(
        &server,
        &at,
        xml_seq(vec![
            deployment(Some(("Manual", "Before", 1)), false),
            deployment(Some(("Manual", "Before", 2)), false),
        ]),
    )
    .await;
    mount_post(&server, &at, "walkupgradedomain", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![
            operation("InProgress", ""),
            operation("Succeeded", ""),
        ]),
    )
    .await;
    let run = run_args(
        &args(
            &server.uri(),
            &["--deployment", "v2-build17"],
            &["walk", "--domain", "1", "--json"],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {at}"),
            format!("POST {at}/?comp=walkupgradedomain"),
            format!("GET {}", op_path()),
            format!("GET {}", op_path()),
            format!("GET {at}")
        ]
    );
    let post = &requests_with_method(&server, "POST").await[0];
    assert_eq!(String::from_utf8(post.body.clone()).unwrap(), walk_body(1));
    assert_eq!(post.headers["content-type"], "application/xml");
    assert!(
        run.stderr
            .contains("Upgrade domain 1 walk accepted (HTTP 202)."),
        "{}",
        run.stderr
    );
    let doc = run.json();
    assert_eq!(doc["action"], "walk");
    assert_eq!(doc["outcome"], "status");
    assert_eq!(doc["platform_state"], "Manual/Before/UD2");
    assert_eq!(doc["operation_id"], OP);
}

#[tokio::test(flavor = "multi_thread")]
async fn walk_refuses_the_wrong_domain() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Manual", "Before", 1)), false)]),
    )
    .await;
    let run = run_args(
        &args(&server.uri(), SLOT, &["walk", "--domain", "2"]),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: --domain 2: mysvc/production waits at upgrade domain 1, which must be walked first\n"
    );
    let run = run_args(
        &args(&server.uri(), SLOT, &["walk", "--domain", "3"]),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: --domain 3: mysvc/production has upgrade domains 0 to 2\n"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());

    let idle = MockServer::start().await;
    mount_get(&idle, &slot_path(), xml_seq(vec![deployment(None, false)])).await;
    let run = run_args(
        &args(&idle.uri(), SLOT, &["walk", "--domain", "0"]),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 3, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), true)]),
    )
    .await;
    mount_post(&server, &slot_path(), "rollback", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![operation("InProgress", "")]),
    )
    .await;
    let run = run_args(
        &args(&server.uri(), SLOT, &["start", "--timeout", "1s", "--json"]),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        "timed out after 1s; last seen: rolling_back (InProgress); the rollback continues on Azure"
    );
    assert_eq!(run.json()["operation_id"], OP);
}

/// A walk whose operation outlives `--timeout`: the message speaks of the walk, not of a
/// rollback.
#[tokio::test(flavor = "multi_thread")]
async fn a_walk_that_times_out_speaks_of_the_walk() {
    let server = MockServer::start().await;
    let at = named_path();
    mount_get(
        &server,
        &at,
        xml_seq(vec![deployment(Some(("Manual", "Before", 1)), true)]),
    )
    .await;
    mount_post(&server, &at, "walkupgradedomain", accepted()).await;
    mount_get(
        &server,
        &op_path(),
        xml_seq(vec![operation("InProgress", "")]),
    )
    .await;
    let run = run_args(
        &args(
            &server.uri(),
            &["--deployment", "v2-build17"],
            &["walk", "--domain", "1", "--timeout", "1s", "--json"],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(
        run.json()["error"]["message"],
        format!(
            "timed out after 1s; last seen: operation {OP}: InProgress; the upgrade domain walk was accepted"
        )
    );
    assert_eq!(run.json()["phase"], "unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_post_and_sends_none() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        &slot_path(),
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), true)]),
    )
    .await;
    let run = run_args(
        &args(
            &uri,
            SLOT,
            &["start", "--mode", "manual", "--force", "--dry-run"],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let body = rollback_body("Manual", true);
    assert_eq!(
        normalize(&run.stdout, &uri),
        format!(
            "Dry run: mysvc/production is upgrading (Auto/During/UD1); nothing was sent. Would send:\n\n\
             POST SERVER{}/?comp=rollback\n\
             User-Agent: rollback/{VERSION}\n\
             x-ms-version: 2014-10-01\n\
             Authorization: Bearer <redacted>\n\
             Content-Type: application/xml\n\
             Content-Length: {}\n\n{body}\n",
            slot_path(),
            body.len()
        )
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_xml_is_an_error_quoting_it() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        &slot_path(),
        Seq::new(vec![ResponseTemplate::new(200).set_body_raw(
            "<Deployment><Status>Running</Deploy",
            "application/xml",
        )]),
    )
    .await;
    let run = run_args(&args(&server.uri(), SLOT, &["status", "--json"]), &[TOKEN]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("answered something that is not the expected XML"),
        "{message}"
    );
    assert!(
        message.ends_with(": <Deployment><Status>Running</Deploy"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_the_update_and_not_ready_instances() {
    let server = MockServer::start().await;
    let busy = deployment(Some(("Auto", "During", 1)), true).replace(
        "</RoleInstanceList>",
        "<RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_1</InstanceName><InstanceStatus>Busy</InstanceStatus><InstanceUpgradeDomain>1</InstanceUpgradeDomain></RoleInstance></RoleInstanceList>",
    );
    mount_get(&server, &slot_path(), xml_seq(vec![busy])).await;
    let run = run_args(&args(&server.uri(), SLOT, &["status"]), &[TOKEN]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "target:   mysvc/production\nphase:    upgrading\nstate:    Auto/During/UD1\nprogress: deployment Running, Auto update in upgrade domain 1 (During) of 3, RollbackAllowed true, not ready: Web_IN_1 (Busy)\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn target_and_credential_errors_exit_2() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let cases: Vec<(Vec<&str>, Env, &str)> = vec![
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "status",
            ],
            vec![TOKEN],
            "give exactly one of --slot production|staging or --deployment NAME",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "--slot",
                "production",
                "--deployment",
                "x",
                "status",
            ],
            vec![TOKEN],
            "cannot be used with",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--service",
                "mysvc",
                "--slot",
                "production",
                "status",
            ],
            vec![TOKEN],
            "--subscription is required",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--slot",
                "production",
                "status",
            ],
            vec![TOKEN],
            "--service is required",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "my/../svc",
                "--slot",
                "production",
                "status",
            ],
            vec![TOKEN],
            "a cloud service name has only",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                "not-a-guid!",
                "--service",
                "mysvc",
                "--slot",
                "production",
                "status",
            ],
            vec![TOKEN],
            "expected a subscription id",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "--slot",
                "production",
                "status",
            ],
            vec![],
            "no credential",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                "http://rdfe.invalid",
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "--slot",
                "production",
                "status",
            ],
            vec![TOKEN],
            "refusing to send a credential over plain http://",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "--slot",
                "production",
                "--publish-settings",
                "/nonexistent.publishsettings",
                "status",
            ],
            vec![],
            "cannot read publish settings",
        ),
        (
            vec![
                "cloudsvc",
                "--endpoint",
                &uri,
                "--subscription",
                SUB,
                "--service",
                "mysvc",
                "--slot",
                "canary",
                "status",
            ],
            vec![TOKEN],
            "invalid value 'canary'",
        ),
    ];
    for (argv, env, needle) in cases {
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 2, "{argv:?}: {run:?}");
        assert!(run.stderr.contains(needle), "{argv:?}: {}", run.stderr);
        assert!(!run.stderr.contains("MARKER"));
    }
    let run = run_args(
        &[
            "cloudsvc",
            "--endpoint",
            &uri,
            "--service",
            "mysvc",
            "--slot",
            "production",
            "status",
        ],
        &[TOKEN, ("AZURE_SUBSCRIPTION_ID", SUB)],
    )
    .await;
    assert_eq!(run.code, 1, "AZURE_SUBSCRIPTION_ID is used: {run:?}");
    assert_eq!(requests(&server).await, [format!("GET {}", slot_path())]);
}

/// The management certificate over mutual TLS: PEM, PFX, and from a publish-settings file.
#[tokio::test(flavor = "multi_thread")]
async fn management_certificates_over_mutual_tls() {
    let server_pki = Pki::new("management server CA");
    let client_pki = Pki::new("management client CA");
    let mock = MockServer::start().await;
    mount_get(&mock, &slot_path(), xml_seq(vec![deployment(None, false)])).await;
    let port = tls_front(&server_pki, &client_pki, *mock.address()).await;
    let endpoint = format!("https://localhost:{port}");
    let ca = server_pki.ca_pem();
    let leaf = client_pki.leaf(&[], "management");
    let pem = client_pki.write(
        "mgmt.pem",
        format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
    );
    let pfx_file = client_pki.write(
        "mgmt.pfx",
        &pfx(
            &leaf,
            "pw",
            p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
        ),
    );
    let empty_password = pfx(
        &leaf,
        "",
        p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
    );
    use base64::Engine;
    let publish = |name: &str, id: &str| {
        client_pki.write(
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
        ca.to_str().unwrap(),
    ];
    let with_endpoint = ["--endpoint", endpoint.as_str(), "--subscription", SUB];
    let cases: Vec<(Vec<&str>, Env)> = vec![
        (
            [
                &base[..],
                &with_endpoint,
                &["--cert", pem.to_str().unwrap()],
            ]
            .concat(),
            vec![],
        ),
        (
            [
                &base[..],
                &with_endpoint,
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
            [
                &base[..],
                &[
                    "--subscription",
                    SUB,
                    "--publish-settings",
                    settings.to_str().unwrap(),
                ],
            ]
            .concat(),
            vec![],
        ),
        // Ids compare without regard to case; the path keeps the id as given.
        (
            [
                &base[..],
                &["--publish-settings", upper.to_str().unwrap()],
                &["--subscription", SUB],
            ]
            .concat(),
            vec![],
        ),
    ];
    for (mut argv, env) in cases {
        argv.extend_from_slice(&["status", "--json"]);
        let run = run_args(&argv, &env).await;
        assert_eq!(run.code, 0, "{argv:?}: {run:?}");
        assert_eq!(run.json()["phase"], "idle");
    }
    let seen: Vec<String> = requests(&mock).await;
    assert_eq!(seen, vec![format!("GET {}", slot_path()); 4]);
    let run = run_args(
        &[
            &base[..],
            &["--publish-settings", settings.to_str().unwrap(), "status"],
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("holds several subscriptions (0000, 0123abcd-0000-4000-8000-0123456789ab): pick one with --subscription"), "{}", run.stderr);

    let run = run_args(
        &[&base[..], &with_endpoint, &["status", "--json"]].concat(),
        &[TOKEN],
    )
    .await;
    assert_eq!(
        run.code, 4,
        "a token alone is no client certificate: {run:?}"
    );
}

/// A 307 from the management endpoint to another https origin that is not under its cloud's
/// management domain is not followed: the client certificate and the rollback go nowhere else.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_https_origin_takes_neither_certificate_nor_rollback() {
    let server_pki = Pki::new("management server CA");
    let client_pki = Pki::new("management client CA");
    let other = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(accepted())
        .mount(&other)
        .await;
    let other_port = tls_front(&server_pki, &client_pki, *other.address()).await;
    let mock = MockServer::start().await;
    let at = slot_path();
    mount_get(
        &mock,
        &at,
        xml_seq(vec![deployment(Some(("Auto", "During", 1)), true)]),
    )
    .await;
    let location = format!("https://localhost:{other_port}{at}/?comp=rollback");
    mount_post(
        &mock,
        &at,
        "rollback",
        ResponseTemplate::new(307).insert_header("Location", location.as_str()),
    )
    .await;
    let port = tls_front(&server_pki, &client_pki, *mock.address()).await;
    let endpoint = format!("https://localhost:{port}");
    let leaf = client_pki.leaf(&[], "management");
    let pem = client_pki.write(
        "mgmt.pem",
        format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
    );
    let ca = server_pki.ca_pem();
    let run = run_args(
        &args(
            &endpoint,
            SLOT,
            &[
                "--ca",
                ca.to_str().unwrap(),
                "--cert",
                pem.to_str().unwrap(),
                "start",
                "--json",
            ],
        ),
        &[TOKEN],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = format!(
        "POST {endpoint}{at}/?comp=rollback answered HTTP 307 with Location {location}: it leads to another origin than {endpoint}; the redirect was not followed and nothing was sent there"
    );
    assert_eq!(run.json()["error"]["message"], message.as_str());
    assert_eq!(run.json()["error"]["http_status"], 307);
    assert_eq!(
        requests(&mock).await,
        [format!("GET {at}"), format!("POST {at}/?comp=rollback")]
    );
    assert!(
        requests(&other).await.is_empty(),
        "nothing reached the other origin"
    );
}
