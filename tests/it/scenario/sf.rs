//! Service Fabric: the gateway's paths and documents, and the presets that serve them.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::{Answers, Scenario};
use crate::common::VERSION;

pub const PROGRESS: &str = "/$/GetUpgradeProgress";
pub const ROLLBACK: &str = "/$/RollbackUpgrade";
pub const APP_PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
pub const APP_ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

impl Scenario {
    /// `rollback sf --endpoint SERVER --poll-interval 20ms …`.
    pub fn sf() -> Self {
        Self::sf_at("SERVER")
    }

    /// `rollback sf --endpoint ENDPOINT --poll-interval 20ms …`: the cluster is elsewhere.
    pub fn sf_at(endpoint: &str) -> Self {
        Self::new().base(&["sf", "--endpoint", endpoint, "--poll-interval", "20ms"])
    }

    /// `sf` against a cluster whose upgrade progress answers `progress`.
    pub fn sf_cluster(progress: impl Answers) -> Self {
        Self::sf()
            .result_of("sf-cluster", "SERVER")
            .get(PROGRESS, progress)
    }

    /// `sf` against the application myapp~app1, whose upgrade progress answers `progress`.
    pub fn sf_app(progress: impl Answers) -> Self {
        Self::sf()
            .result_of("sf-app", "myapp~app1")
            .get(APP_PROGRESS, progress)
    }

    /// `app start myapp~app1 --json` on an application whose upgrade progress answers
    /// `progress` and whose rollback POST answers `post`.
    pub fn sf_app_start(progress: impl Answers, post: impl Answers) -> Self {
        Self::sf_app(progress).post(APP_ROLLBACK, post).args([
            "app",
            "start",
            "myapp~app1",
            "--json",
        ])
    }

    /// The cluster's code version (7.0.470.9590), asked for at api-version 6.4 once rolled back.
    pub fn cluster_version(self) -> Self {
        self.mock(
            Mock::given(method("GET"))
                .and(path("/$/GetClusterVersion"))
                .and(query_param("api-version", "6.4"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"Version": "7.0.470.9590"})),
                ),
        )
    }

    /// The application's description: type version 1.0.0, asked for once rolled back.
    pub fn app_info(self) -> Self {
        self.get(
            "/Applications/myapp~app1",
            json!({
                "Id": "myapp~app1", "Name": "fabric:/myapp/app1", "TypeName": "MyAppType", "TypeVersion": "1.0.0"
            }),
        )
    }
}

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

/// Once rolling back, the progress says the rollback was asked for (`Interrupted`) while
/// upgrade domain UD1 was upgrading, as Service Fabric's does after a rollback request.
fn why(state: &str) -> (&'static str, Value) {
    if state.starts_with("RollingBack") {
        (
            "Interrupted",
            json!({"DomainName": "UD1", "NodeUpgradeProgressList": []}),
        )
    } else {
        (
            "None",
            json!({"DomainName": "", "NodeUpgradeProgressList": []}),
        )
    }
}

/// The result's `reason` from `cluster(state, …)` or `app(state, …)`.
pub fn reason_of(state: &str) -> Value {
    if state.starts_with("RollingBack") {
        json!("a rollback was requested (by this tool or an operator) during upgrade domain UD1")
    } else {
        Value::Null
    }
}

/// The result's `progress` from `cluster(state, done)` or `app(state, done)`: `done` of 3
/// upgrade domains, the one `InProgress` current.
pub fn progress_of(state: &str, done: usize) -> Value {
    let current = (state.ends_with("InProgress") && done < 3).then(|| format!("UD{done}"));
    json!({"domains_done": done, "domains_total": 3, "current": current})
}

/// A `ClusterUpgradeProgressObject` in `state` with `done` of 3 domains completed.
pub fn cluster(state: &str, done: usize) -> Value {
    let (reason, at_failure) = why(state);
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
        "FailureReason": reason,
        "UpgradeDomainProgressAtFailure": at_failure,
        "UpgradeDurationInMilliseconds": "PT0H2M0.1752S",
    })
}

/// An `ApplicationUpgradeProgressInfo` of myapp~app1 (2.0.0) with `done` of 3 domains completed.
pub fn app(state: &str, done: usize) -> Value {
    let (reason, at_failure) = why(state);
    json!({
        "Name": "fabric:/myapp/app1",
        "TypeName": "MyAppType",
        "TargetApplicationTypeVersion": "2.0.0",
        "UpgradeState": state,
        "UpgradeDomains": domains(done, state.ends_with("InProgress")),
        "RollingUpgradeMode": "Monitored",
        "NextUpgradeDomain": "",
        "FailureReason": reason,
        "UpgradeDomainProgressAtFailure": at_failure,
    })
}

/// A `FabricError` answer.
pub fn fabric_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"Error": {"Code": code, "Message": message}}))
}

/// The result's `requests` once myapp~app1's rollback was sent.
pub fn app_rollback_sent() -> Value {
    json!([post_record(&format!("{APP_ROLLBACK}?api-version=6.0"))])
}

/// The result's record of a rollback POST to SERVER`at` (a path and query).
pub fn post_record(at: &str) -> Value {
    json!({
        "method": "POST",
        "url": format!("SERVER{at}"),
        "headers": {"User-Agent": format!("rollback/{VERSION}"), "Accept": "application/json", "Content-Length": "0"},
        "body": null,
    })
}

impl Scenario {
    /// A server that answers every request, whatever its method and path, as a cluster whose
    /// last upgrade is done; no arguments yet. For runs that must send nothing, and for runs
    /// whose settings decide where they go.
    pub fn catch_all() -> Self {
        Self::new().mock(
            Mock::given(wiremock::matchers::any()).respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"UpgradeState": "RollingForwardCompleted"})),
            ),
        )
    }
}
