//! `rollback sf …` against a wiremock Service Fabric gateway.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const PROGRESS: &str = "/$/GetUpgradeProgress";
const ROLLBACK: &str = "/$/RollbackUpgrade";
const APP_PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
const APP_ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

fn domains(done: usize, active: bool) -> Value {
    let states: Vec<Value> = (0..3)
        .map(|i| {
            let state = if i < done {
                "Completed"
            } else if i == done && active {
                "InProgress"
            } else {
                "Pending"
            };
            json!({"Name": format!("UD{i}"), "State": state})
        })
        .collect();
    Value::Array(states)
}

/// A `ClusterUpgradeProgressObject` in `state` with `done` of 3 domains completed.
fn cluster(state: &str, done: usize) -> Value {
    json!({
        "CodeVersion": "7.0.470.9590",
        "ConfigVersion": "1",
        "UpgradeDescription": {"CodeVersion": "7.1.0", "ConfigVersion": "1", "RollingUpgradeMode": "Monitored"},
        "UpgradeState": state,
        "UpgradeDomains": domains(done, state.ends_with("InProgress")),
        "RollingUpgradeMode": "Monitored",
        "NextUpgradeDomain": "",
        "StartTimestampUtc": "2026-11-22T03:00:00.000Z",
        "FailureTimestampUtc": "0001-01-01T00:00:00.000Z",
        "FailureReason": "None",
        "UpgradeDurationInMilliseconds": "PT0H2M0.1752S",
    })
}

/// An `ApplicationUpgradeProgressInfo`.
fn app(state: &str, done: usize) -> Value {
    json!({
        "Name": "fabric:/myapp/app1",
        "TypeName": "MyAppType",
        "TargetApplicationTypeVersion": "2.0.0",
        "UpgradeState": state,
        "UpgradeDomains": domains(done, state.ends_with("InProgress")),
        "RollingUpgradeMode": "Monitored",
        "NextUpgradeDomain": "",
        "FailureReason": "None",
    })
}

fn fabric_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"Error": {"Code": code, "Message": message}}))
}

async fn mount_get(server: &MockServer, at: &str, seq: Seq) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(seq)
        .mount(server)
        .await;
}

async fn mount_post(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn mount_cluster_version(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/$/GetClusterVersion"))
        .and(query_param("api-version", "6.4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Version": "7.0.470.9590"})))
        .mount(server)
        .await;
}

async fn mount_app_info(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/Applications/myapp~app1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Id": "myapp~app1", "Name": "fabric:/myapp/app1", "TypeName": "MyAppType", "TypeVersion": "1.0.0"
        })))
        .mount(server)
        .await;
}

fn args<'a>(server: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["sf", "--endpoint", server, "--poll-interval", "20ms"];
    all.extend_from_slice(rest);
    all
}

/// The whole result document of an SF run: defaults, with `fields` replacing them.
fn doc(platform: &str, target: &str, action: &str, fields: Value) -> Value {
    let mut doc = json!({
        "schema_version": 1, "platform": platform, "target": target, "action": action,
        "outcome": "status", "exit_code": 0, "phase": "unknown", "platform_state": null,
        "from_version": null, "to_version": null, "operation_id": null, "dry_run": false,
        "requests": [], "error": null, "detail": null,
    });
    for (key, value) in fields.as_object().unwrap() {
        doc[key] = value.clone();
    }
    doc
}

fn error(kind: &str, message: &str, status: Option<u16>, code: Option<&str>) -> Value {
    json!({"kind": kind, "message": message, "http_status": status, "platform_code": code})
}

fn post_record(url: String) -> Value {
    json!({
        "method": "POST",
        "url": url,
        "headers": {"User-Agent": format!("rollback/{VERSION}"), "Accept": "application/json", "Content-Length": "0"},
        "body": null,
    })
}

async fn cluster_rollback_answered(status: u16) {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![
            cluster("RollingForwardInProgress", 1),
            cluster("RollingBackInProgress", 1),
            cluster("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, ROLLBACK, ResponseTemplate::new(status)).await;
    mount_cluster_version(&server).await;

    let run = run_args(&args(&uri, &["cluster", "start", "--json"]), &[]).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            "GET /$/GetUpgradeProgress?api-version=6.0",
            "POST /$/RollbackUpgrade?api-version=6.0",
            "GET /$/GetUpgradeProgress?api-version=6.0",
            "GET /$/GetUpgradeProgress?api-version=6.0",
            "GET /$/GetClusterVersion?api-version=6.4",
        ]
    );
    let post = &requests_with_method(&server, "POST").await[0];
    assert_eq!(post.headers["accept"], "application/json");
    assert_eq!(post.headers["content-length"], "0");
    assert_eq!(post.headers.get_all("content-length").iter().count(), 1);
    assert!(post.headers.get("content-type").is_none());
    assert!(post.headers.get("authorization").is_none());
    assert!(post.body.is_empty());
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-cluster", "target": uri, "action": "start",
            "outcome": "rolled_back", "exit_code": 0, "phase": "rolled_back",
            "platform_state": "RollingBackCompleted", "from_version": "7.1.0", "to_version": "7.0.470.9590",
            "operation_id": null, "dry_run": false,
            "requests": [post_record(format!("{uri}/$/RollbackUpgrade?api-version=6.0"))],
            "error": null, "detail": cluster("RollingBackCompleted", 3),
        }),
    );
    assert_eq!(
        normalize(&run.stderr, &uri),
        format!(
            "RollingForwardInProgress, 1/3 upgrade domains done\n\
             Rollback accepted (HTTP {status}).\n\
             RollingBackInProgress, 1/3 upgrade domains done\n\
             RollingBackCompleted, 3/3 upgrade domains done\n"
        )
    );
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
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 2),
            app("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
    mount_app_info(&server).await;

    let run = run_args(&args(&uri, &["app", "start", app_arg]), &[]).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
            "POST /Applications/myapp~app1/$/RollbackUpgrade?api-version=6.0",
            "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
            "GET /Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0",
            "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true",
        ]
    );
    assert_eq!(
        normalize(&run.stdout, &uri),
        "Rolled back myapp~app1 from 2.0.0 to 1.0.0 (RollingBackCompleted) in ELAPSED.\n"
    );
    assert_eq!(
        normalize(&run.stderr, &uri),
        "RollingForwardInProgress, 1/3 upgrade domains done\n\
         Rollback accepted (HTTP 200).\n\
         RollingBackInProgress, 2/3 upgrade domains done\n\
         RollingBackCompleted, 3/3 upgrade domains done\n"
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
    let server = MockServer::start().await;
    let uri = server.uri();
    let expected = "/Applications/my%20app~sub~a%23b%3Fc/$/GetUpgradeProgress";
    mount_get(
        &server,
        expected,
        Seq::json(vec![app("RollingForwardCompleted", 3)]),
    )
    .await;
    let run = run_args(
        &args(
            &uri,
            &["app", "status", "fabric:/my app/sub/a#b?c", "--json"],
        ),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [format!("GET {expected}?api-version=6.0")]
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "my app~sub~a#b?c",
            "status",
            json!({
                "phase": "idle", "platform_state": "RollingForwardCompleted", "from_version": "2.0.0",
                "detail": app("RollingForwardCompleted", 3),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn already_rolling_back_attaches_without_a_post() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
    mount_app_info(&server).await;

    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert!(requests_with_method(&server, "POST").await.is_empty());
    assert_eq!(
        normalize(&run.stderr, &uri),
        "RollingBackInProgress, 1/3 upgrade domains done\n\
         A rollback is already running (RollingBackInProgress); waiting for it instead of sending another.\n\
         RollingBackCompleted, 3/3 upgrade domains done\n"
    );
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "start",
            "outcome": "rolled_back", "exit_code": 0, "phase": "rolled_back",
            "platform_state": "RollingBackCompleted", "from_version": "2.0.0", "to_version": "1.0.0",
            "operation_id": null, "dry_run": false, "requests": [], "error": null,
            "detail": app("RollingBackCompleted", 3),
        }),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn not_upgrading_exits_3_or_0_with_if_upgrading() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![app("RollingForwardCompleted", 3)]),
    )
    .await;

    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    let message = "nothing to roll back for myapp~app1: no upgrade is rolling forward (RollingForwardCompleted)";
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "start",
            "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "idle",
            "platform_state": "RollingForwardCompleted", "from_version": "2.0.0", "to_version": null,
            "operation_id": null, "dry_run": false, "requests": [],
            "error": {"kind": "nothing_to_roll_back", "message": message, "http_status": null, "platform_code": null},
            "detail": app("RollingForwardCompleted", 3),
        }),
    );
    assert_eq!(
        normalize(&run.stderr, &uri),
        format!("RollingForwardCompleted, 3/3 upgrade domains done\nerror: {message}\n")
    );

    let run = run_args(
        &args(&uri, &["app", "start", "myapp~app1", "--if-upgrading"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        normalize(&run.stderr, &uri),
        format!(
            "RollingForwardCompleted, 3/3 upgrade domains done\n{message} (--if-upgrading: exit 0)\n"
        )
    );
    let run = run_args(
        &args(
            &uri,
            &["app", "start", "myapp~app1", "--if-upgrading", "-o", "json"],
        ),
        &[],
    )
    .await;
    assert_eq!(run.code, 0);
    let doc = run.json();
    assert_eq!(doc["outcome"], "nothing_to_roll_back");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["error"], Value::Null);
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn rolled_back_already_is_nothing_to_roll_back() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![cluster("RollingBackCompleted", 3)]),
    )
    .await;
    let run = run_args(&args(&uri, &["cluster", "start", "--json"]), &[]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(requests_with_method(&server, "POST").await.is_empty());
    let message = format!(
        "nothing to roll back for {uri}: no upgrade is rolling forward (RollingBackCompleted)"
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "start",
            json!({
                "outcome": "nothing_to_roll_back", "exit_code": 3, "phase": "rolled_back",
                "platform_state": "RollingBackCompleted", "from_version": "7.1.0",
                "error": error("nothing_to_roll_back", &message, None, None),
                "detail": cluster("RollingBackCompleted", 3),
            }),
        ),
    );
}

/// The POST is refused with `status`/`code`: the expected exit code, error fields and message.
async fn post_refused(
    status: u16,
    code: &str,
    then_state: &str,
    exit: i32,
    kind: &str,
) -> (MockServer, Run) {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![app("RollingForwardInProgress", 1), app(then_state, 1)]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, fabric_error(status, code, "refused")).await;
    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, exit, "{run:?}");
    assert_eq!(
        requests_with_method(&server, "POST").await.len(),
        1,
        "the rollback is sent once"
    );
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
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": if reread { "nothing_to_roll_back" } else { "error" },
                "exit_code": exit,
                "phase": if reread { "idle" } else { "upgrading" },
                "platform_state": state, "from_version": "2.0.0",
                "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0"))],
                "error": error(kind, &message, Some(status), Some(code)),
                "detail": app(state, 1),
            }),
        ),
    );
    (server, run)
}

#[tokio::test(flavor = "multi_thread")]
async fn post_400_not_upgrading_rereads_then_exits_3() {
    let (server, _) = post_refused(
        400,
        "FABRIC_E_APPLICATION_NOT_UPGRADING",
        "RollingForwardCompleted",
        3,
        "nothing_to_roll_back",
    )
    .await;
    assert_eq!(requests(&server).await.len(), 3, "read, POST, read again");
}

#[tokio::test(flavor = "multi_thread")]
async fn post_400_invalid_argument_exits_1() {
    let (server, _) = post_refused(
        400,
        "E_INVALIDARG",
        "RollingForwardInProgress",
        1,
        "platform",
    )
    .await;
    assert_eq!(
        requests(&server).await.len(),
        2,
        "no re-read after a definite refusal"
    );
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
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![app("RollingForwardInProgress", 1)]),
    )
    .await;
    mount_post(
        &server,
        APP_ROLLBACK,
        fabric_error(503, "FABRIC_E_NOT_READY", "not ready"),
    )
    .await;
    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, 6, "{run:?}");
    // 503 proves the server did not act on it, so the POST may be repeated (1 + 2 resends),
    // each time after reading the precondition again.
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {APP_PROGRESS}?api-version=6.0"),
            format!("POST {APP_ROLLBACK}?api-version=6.0"),
            format!("GET {APP_PROGRESS}?api-version=6.0"),
            format!("POST {APP_ROLLBACK}?api-version=6.0"),
            format!("GET {APP_PROGRESS}?api-version=6.0"),
            format!("POST {APP_ROLLBACK}?api-version=6.0"),
        ]
    );
    assert_eq!(
        run.stderr.matches("Rollback not taken (POST").count(),
        2,
        "{}",
        run.stderr
    );
    let message = "POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 503 FABRIC_E_NOT_READY: not ready";
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": "error", "exit_code": 6, "phase": "upgrading",
                "platform_state": "RollingForwardInProgress", "from_version": "2.0.0",
                "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0"))],
                "error": error("unreachable", message, Some(503), Some("FABRIC_E_NOT_READY")),
                "detail": app("RollingForwardInProgress", 1),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_500_on_post_rereads_and_attaches() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, fabric_error(500, "E_FAIL", "oops")).await;
    mount_app_info(&server).await;
    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests_with_method(&server, "POST").await.len(),
        1,
        "never re-sent after an ambiguous answer"
    );
    assert!(
        run.stderr.contains(
            "POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 500 E_FAIL: oops; reading the state again instead of sending the request twice."
        ),
        "{}",
        run.stderr
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": "rolled_back", "phase": "rolled_back", "platform_state": "RollingBackCompleted",
                "from_version": "2.0.0", "to_version": "1.0.0",
                "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0"))],
                "detail": app("RollingBackCompleted", 3),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_504_on_post_without_rollback_exits_1_unconfirmed() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![app("RollingForwardInProgress", 1)]),
    )
    .await;
    mount_post(
        &server,
        APP_ROLLBACK,
        fabric_error(504, "FABRIC_E_TIMEOUT", "slow"),
    )
    .await;
    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    let message = "the rollback request may or may not have been received (POST /Applications/myapp~app1/$/RollbackUpgrade answered HTTP 504 FABRIC_E_TIMEOUT: slow); myapp~app1 is now upgrading (RollingForwardInProgress); check with `status` before trying again";
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": "error", "exit_code": 1, "phase": "upgrading",
                "platform_state": "RollingForwardInProgress", "from_version": "2.0.0",
                "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0"))],
                "error": error("unconfirmed", message, Some(504), Some("FABRIC_E_TIMEOUT")),
                "detail": app("RollingForwardInProgress", 1),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_404_app_not_found_exits_1() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::new(vec![fabric_error(
            404,
            "FABRIC_E_APPLICATION_NOT_FOUND",
            "Application not found",
        )]),
    )
    .await;
    let run = run_args(
        &args(&server.uri(), &["app", "status", "myapp~app1", "--json"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(requests(&server).await.len(), 1, "a 404 is not retried");
    let message = "GET /Applications/myapp~app1/$/GetUpgradeProgress answered HTTP 404 FABRIC_E_APPLICATION_NOT_FOUND: Application not found";
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "status",
            "outcome": "error", "exit_code": 1, "phase": "unknown", "platform_state": null,
            "from_version": null, "to_version": null, "operation_id": null, "dry_run": false,
            "requests": [], "detail": null,
            "error": {"kind": "platform", "message": message, "http_status": 404, "platform_code": "FABRIC_E_APPLICATION_NOT_FOUND"},
        }),
    );
    assert_eq!(run.stderr, format!("error: {message}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bodyless_404_exits_1() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::new(vec![ResponseTemplate::new(404)]),
    )
    .await;
    let run = run_args(&args(&uri, &["cluster", "status", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: GET /$/GetUpgradeProgress answered HTTP 404\n"
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "status",
            json!({
                "outcome": "error", "exit_code": 1,
                "error": error("platform", "GET /$/GetUpgradeProgress answered HTTP 404", Some(404), None),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn get_503_is_retried_then_exits_6() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::new(vec![fabric_error(
            503,
            "FABRIC_E_NO_WRITE_QUORUM",
            "no quorum",
        )]),
    )
    .await;
    let run = run_args(&args(&uri, &["cluster", "status", "--json"]), &[]).await;
    assert_eq!(run.code, 6, "{run:?}");
    assert_eq!(requests(&server).await.len(), 4, "1 read + 3 retries");
    let message = "GET /$/GetUpgradeProgress answered HTTP 503 FABRIC_E_NO_WRITE_QUORUM: no quorum";
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "status",
            json!({
                "outcome": "error", "exit_code": 6,
                "error": error("unreachable", message, Some(503), Some("FABRIC_E_NO_WRITE_QUORUM")),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_503_then_success() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::new(vec![
            fabric_error(503, "FABRIC_E_NOT_READY", "wait").insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_body_json(cluster("RollingForwardInProgress", 0)),
        ]),
    )
    .await;
    let started = std::time::Instant::now();
    let run = run_args(&args(&uri, &["cluster", "status", "--json"]), &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(requests(&server).await.len(), 2);
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "status",
            json!({
                "phase": "upgrading", "platform_state": "RollingForwardInProgress", "from_version": "7.1.0",
                "detail": cluster("RollingForwardInProgress", 0),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_during_wait_exits_1_with_reason() {
    let server = MockServer::start().await;
    let mut failed = app("Failed", 1);
    failed["FailureReason"] = json!("HealthCheck");
    failed["UpgradeStatusDetails"] = json!("Health policy violated");
    failed["UnhealthyEvaluations"] = json!([{"HealthEvaluation": {"Kind": "Services", "Description": "Service fabric:/myapp/app1/svc is in Error"}}]);
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            failed.clone(),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
    let run = run_args(
        &args(&server.uri(), &["app", "start", "myapp~app1", "--json"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = "the upgrade failed: FailureReason HealthCheck; Health policy violated; Services: Service fabric:/myapp/app1/svc is in Error";
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "start",
            "outcome": "failed", "exit_code": 1, "phase": "failed", "platform_state": "Failed",
            "from_version": "2.0.0", "to_version": null, "operation_id": null, "dry_run": false,
            "requests": [post_record(format!("{}{APP_ROLLBACK}?api-version=6.0", server.uri()))],
            "error": {"kind": "rollback_failed", "message": message, "http_status": null, "platform_code": null},
            "detail": failed,
        }),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_before_start_sends_nothing() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(&server, PROGRESS, Seq::json(vec![cluster("Failed", 1)])).await;
    let run = run_args(&args(&uri, &["cluster", "start", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(requests_with_method(&server, "POST").await.is_empty());
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "start",
            json!({
                "outcome": "failed", "exit_code": 1, "phase": "failed", "platform_state": "Failed",
                "from_version": "7.1.0",
                "error": error("rollback_failed", "the upgrade failed: FailureReason None", None, None),
                "detail": cluster("Failed", 1),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rolling_forward_completed_after_the_post_is_a_failure() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingForwardInProgress", 2),
            app("RollingForwardCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
    let run = run_args(&args(&uri, &["app", "start", "myapp~app1", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_doc(
        &run.json(),
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": "failed", "exit_code": 1, "phase": "idle",
                "platform_state": "RollingForwardCompleted", "from_version": "2.0.0",
                "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0"))],
                "error": error("rollback_failed", "the upgrade ended as RollingForwardCompleted instead of rolling back", None, None),
                "detail": app("RollingForwardCompleted", 3),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_state_is_refused_with_detail() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(&server, PROGRESS, Seq::json(vec![cluster("Invalid", 0)])).await;
    let run = run_args(&args(&uri, &["cluster", "start", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(requests_with_method(&server, "POST").await.is_empty());
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "start",
            json!({
                "outcome": "error", "exit_code": 1, "phase": "unknown", "platform_state": "Invalid",
                "from_version": "7.1.0",
                "error": error("unexpected_answer", "unrecognised state Invalid; no rollback was sent", None, None),
                "detail": cluster("Invalid", 0),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_exits_5_and_says_the_rollback_continues() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![
            cluster("RollingForwardInProgress", 1),
            cluster("RollingBackInProgress", 1),
        ]),
    )
    .await;
    mount_post(&server, ROLLBACK, ResponseTemplate::new(202)).await;
    let run = run_args(
        &args(&uri, &["cluster", "start", "--timeout", "1s", "--json"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 5, "{run:?}");
    let message = "timed out after 1s; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster";
    assert!(
        run.stderr.ends_with(&format!("error: {message}\n")),
        "{}",
        run.stderr
    );
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "start",
            json!({
                "outcome": "timed_out", "exit_code": 5, "phase": "rolling_back",
                "platform_state": "RollingBackInProgress", "from_version": "7.1.0",
                "requests": [post_record(format!("{uri}{ROLLBACK}?api-version=6.0"))],
                "error": error("timed_out", message, None, None),
                "detail": cluster("RollingBackInProgress", 1),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_returns_once_accepted() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![cluster("RollingForwardInProgress", 1)]),
    )
    .await;
    mount_post(&server, ROLLBACK, ResponseTemplate::new(202)).await;
    let run = run_args(
        &args(&uri, &["cluster", "start", "--no-wait", "--json"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            "GET /$/GetUpgradeProgress?api-version=6.0",
            "POST /$/RollbackUpgrade?api-version=6.0"
        ]
    );
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-cluster", "target": uri, "action": "start",
            "outcome": "accepted", "exit_code": 0, "phase": "upgrading",
            "platform_state": "RollingForwardInProgress", "from_version": "7.1.0", "to_version": null,
            "operation_id": null, "dry_run": false,
            "requests": [post_record(format!("{uri}/$/RollbackUpgrade?api-version=6.0"))],
            "error": null, "detail": cluster("RollingForwardInProgress", 1),
        }),
    );
    let run = run_args(&args(&uri, &["cluster", "start", "--no-wait"]), &[]).await;
    assert_eq!(
        normalize(&run.stdout, &uri),
        "Rollback of SERVER accepted (RollingForwardInProgress); not waiting for it.\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_post() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![app("RollingForwardInProgress", 1)]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
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

    let run = run_args(&args(&uri, &cmd), &[("ROLLBACK_SF_TOKEN", "tok-SECRET-1")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        normalize(&run.stdout, &uri),
        format!(
            "Dry run: myapp~app1 is upgrading (RollingForwardInProgress); nothing was sent. Would send:\n\n\
             POST SERVER/Applications/myapp~app1/$/RollbackUpgrade?api-version=6.0&timeout=120\n\
             User-Agent: rollback/{VERSION}\n\
             Accept: application/json\n\
             Authorization: Bearer <redacted>\n\
             Content-Length: 0\n"
        )
    );
    assert!(!run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"));

    let mut json_cmd = cmd.to_vec();
    json_cmd.push("--json");
    let run = run_args(&args(&uri, &json_cmd), &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "myapp~app1", "action": "start",
            "outcome": "would_send", "exit_code": 0, "phase": "upgrading",
            "platform_state": "RollingForwardInProgress", "from_version": "2.0.0", "to_version": null,
            "operation_id": null, "dry_run": true,
            "requests": [post_record(format!("{uri}{APP_ROLLBACK}?api-version=6.0&timeout=120"))],
            "error": null, "detail": app("RollingForwardInProgress", 1),
        }),
    );
    assert!(
        requests_with_method(&server, "POST").await.is_empty(),
        "a dry run sends no POST"
    );
    assert_eq!(
        requests(&server).await,
        vec![format!("GET {APP_PROGRESS}?api-version=6.0&timeout=120"); 2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_an_error_quoting_the_body() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::new(vec![ResponseTemplate::new(200).set_body_raw(
            "<html><body>Proxy says hi</body></html>",
            "text/html",
        )]),
    )
    .await;
    let run = run_args(&args(&uri, &["cluster", "start", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = format!(
        "{uri}/$/GetUpgradeProgress?api-version=6.0 answered HTTP 200 with a body that is not JSON (expected value at line 1 column 1): <html><body>Proxy says hi</body></html>"
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "start",
            json!({
                "outcome": "error", "exit_code": 1, "error": error("unexpected_answer", &message, None, None),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_json_shape_is_an_error_not_a_panic() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![json!({"UpgradeState": 7})]),
    )
    .await;
    let run = run_args(&args(&uri, &["cluster", "status", "--json"]), &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let message = format!(
        "{uri}/$/GetUpgradeProgress?api-version=6.0 answered a document the tool cannot read (invalid type: integer `7`, expected a string): {{\"UpgradeState\":7}}"
    );
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "status",
            json!({
                "outcome": "error", "exit_code": 1, "error": error("unexpected_answer", &message, None, None),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_exits_6() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = run_args(&args(&endpoint, &["cluster", "start", "--json"]), &[]).await;
    assert_eq!(run.code, 6, "{run:?}");
    let message = format!("cannot connect to 127.0.0.1:{port}: Connection refused (os error 111)");
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &endpoint,
            "start",
            json!({
                "outcome": "error", "exit_code": 6, "error": error("unreachable", &message, None, None),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_is_sent_and_never_printed() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![
            cluster("RollingForwardInProgress", 1),
            cluster("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_post(&server, ROLLBACK, ResponseTemplate::new(202)).await;
    mount_cluster_version(&server).await;
    let secret = "eyJ-MARKER-token-7d1f";

    let run = run_args(
        &args(&uri, &["cluster", "start", "-vv", "--json"]),
        &[("ROLLBACK_SF_TOKEN", secret)],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.headers["authorization"], format!("Bearer {secret}"));
    }
    assert!(
        !run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"),
        "{run:?}"
    );

    let mut cmd = rollback();
    cmd.args(args(&uri, &["cluster", "status", "--token-stdin", "-vv"]));
    cmd.stdin(std::process::Stdio::piped());
    let run = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"stdin-MARKER-token\n")
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let last = server.received_requests().await.unwrap().pop().unwrap();
    assert_eq!(last.headers["authorization"], "Bearer stdin-MARKER-token");
    assert!(!String::from_utf8_lossy(&run.stderr).contains("MARKER"));
    assert!(!String::from_utf8_lossy(&run.stdout).contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn token_over_plain_http_to_another_host_is_refused() {
    let run = run_args(
        &args("http://sf.invalid:19080", &["cluster", "start", "--json"]),
        &[("ROLLBACK_SF_TOKEN", "tok-MARKER")],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    let message = "refusing to send a credential over plain http:// to sf.invalid: use https (plain http is allowed only to this machine)";
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            "http://sf.invalid:19080",
            "start",
            json!({
                "outcome": "error", "exit_code": 2, "error": error("usage", message, None, None),
            }),
        ),
    );
    assert!(!run.stdout.contains("MARKER") && !run.stderr.contains("MARKER"));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_once_and_watch_waits() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingBackInProgress", 1),
            app("RollingBackInProgress", 2),
            app("RollingBackCompleted", 3),
        ]),
    )
    .await;
    mount_app_info(&server).await;

    let run = run_args(&args(&uri, &["app", "status", "myapp~app1"]), &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "target:   myapp~app1\nphase:    rolling_back\nstate:    RollingBackInProgress\nversion:  2.0.0 (the upgrade's target)\nprogress: RollingBackInProgress, 1/3 upgrade domains done\n"
    );
    assert_eq!(run.stderr, "");
    assert_eq!(requests(&server).await.len(), 1);

    let run = run_args(
        &args(
            &uri,
            &["app", "status", "myapp~app1", "--watch", "-o", "jsonl"],
        ),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap().into(),
                l["phase"].as_str().unwrap().into(),
                l["message"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                "progress".into(),
                "rolling_back".into(),
                "RollingBackInProgress, 2/3 upgrade domains done".into()
            ),
            (
                "progress".into(),
                "rolled_back".into(),
                "RollingBackCompleted, 3/3 upgrade domains done".into()
            ),
            ("result".into(), "rolled_back".into(), "".into()),
        ]
    );
    let mut result = lines.last().unwrap().clone();
    assert_eq!(
        result.as_object_mut().unwrap().shift_remove("type"),
        Some(json!("result"))
    );
    assert_doc(
        &result,
        doc(
            "sf-app",
            "myapp~app1",
            "status",
            json!({
                "outcome": "rolled_back", "phase": "rolled_back", "platform_state": "RollingBackCompleted",
                "from_version": "2.0.0", "to_version": "1.0.0", "detail": app("RollingBackCompleted", 3),
            }),
        ),
    );
    assert_eq!(run.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_watch_on_an_idle_target_returns_at_once() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![cluster("RollingForwardCompleted", 3)]),
    )
    .await;
    let run = run_args(
        &args(&uri, &["cluster", "status", "--watch", "--json"]),
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(requests(&server).await.len(), 1);
    assert_doc(
        &run.json(),
        doc(
            "sf-cluster",
            &uri,
            "status",
            json!({
                "phase": "idle", "platform_state": "RollingForwardCompleted", "from_version": "7.1.0",
                "detail": cluster("RollingForwardCompleted", 3),
            }),
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_exit_2_and_send_nothing() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["sf", "--endpoint", &uri, "app", "start", ""],
            "the application is empty",
        ),
        (
            vec!["sf", "--endpoint", &uri, "app", "start", "fabric:/a//b"],
            "has an empty '/' segment",
        ),
        (
            vec!["sf", "--endpoint", &uri, "app", "start", "a/b"],
            "contains '/'",
        ),
        (
            vec!["sf", "--endpoint", &uri, "app", "start", ".."],
            "'.' or '..' segment",
        ),
        (
            vec!["sf", "--endpoint", &uri, "app", "start", "a\u{1}b"],
            "control character",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--server-timeout",
                "0",
                "cluster",
                "start",
            ],
            "--server-timeout",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--server-timeout",
                "4294967296",
                "cluster",
                "start",
            ],
            "--server-timeout",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--cert",
                "/nonexistent/cert.pem",
                "cluster",
                "start",
            ],
            "cannot read certificate /nonexistent/cert.pem",
        ),
        (
            vec!["sf", "--endpoint", "sf-cluster:19080", "cluster", "start"],
            "--endpoint \"sf-cluster:19080\"",
        ),
        (
            vec!["sf", "--endpoint", "ftp://x", "cluster", "start"],
            "must be an http:// or https:// URL",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--api-version",
                "6.0&x=1",
                "cluster",
                "start",
            ],
            "--api-version",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--key",
                "/k.pem",
                "cluster",
                "start",
            ],
            "--key and --cert-password-env need --cert",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--timeout",
                "0s",
                "cluster",
                "start",
            ],
            "--timeout",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--poll-interval",
                "fast",
                "cluster",
                "start",
            ],
            "--poll-interval",
        ),
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--cert",
                "/x.pfx",
                "--cert-password-env",
                "NOT_SET_VAR",
                "cluster",
                "start",
            ],
            "--cert-password-env names NOT_SET_VAR, which is not set",
        ),
    ];
    for (argv, needle) in cases {
        let run = run_args(&argv, &[]).await;
        assert_eq!(run.code, 2, "{argv:?}: {run:?}");
        assert!(run.stderr.contains(needle), "{argv:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("error: "),
            "{argv:?}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{argv:?}");
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_after_parsing_still_print_the_result_document() {
    let run = run_args(&["sf", "app", "start", "fabric:/", "--json"], &[]).await;
    assert_eq!(run.code, 2);
    assert_doc(
        &run.json(),
        json!({
            "schema_version": 1, "platform": "sf-app", "target": "fabric:/", "action": "start",
            "outcome": "error", "exit_code": 2, "phase": "unknown", "platform_state": null,
            "from_version": null, "to_version": null, "operation_id": null, "dry_run": false,
            "requests": [], "detail": null,
            "error": {"kind": "usage", "message": "the application \"fabric:/\" has an empty '/' segment: give an id (myapp~app1) or a name (fabric:/myapp/app1)", "http_status": null, "platform_code": null},
        }),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_wait_exits_130_and_the_rollback_continues() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        APP_PROGRESS,
        Seq::json(vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
        ]),
    )
    .await;
    mount_post(&server, APP_ROLLBACK, ResponseTemplate::new(200)).await;
    let mut cmd = rollback();
    cmd.args(args(
        &server.uri(),
        &["app", "start", "myapp~app1", "--json"],
    ));
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // Wait until the rollback was accepted and the wait is polling.
    for _ in 0..200 {
        if requests(&server).await.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_doc(
        &result,
        doc(
            "sf-app",
            "myapp~app1",
            "start",
            json!({
                "outcome": "in_progress", "exit_code": 130, "phase": "rolling_back",
                "platform_state": "RollingBackInProgress", "from_version": "2.0.0",
                "requests": [post_record(format!("{}{APP_ROLLBACK}?api-version=6.0", server.uri()))],
                "error": error("interrupted", "interrupted; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster", None, None),
                "detail": app("RollingBackInProgress", 1),
            }),
        ),
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .ends_with("error: interrupted; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster\n")
    );
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_with_jsonl_leaves_only_whole_lines() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        PROGRESS,
        Seq::json(vec![
            cluster("RollingBackInProgress", 0),
            cluster("RollingBackInProgress", 1),
        ]),
    )
    .await;
    let mut cmd = rollback();
    cmd.args(args(
        &server.uri(),
        &["cluster", "status", "--watch", "-o", "jsonl"],
    ));
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    for _ in 0..200 {
        if requests(&server).await.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
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
