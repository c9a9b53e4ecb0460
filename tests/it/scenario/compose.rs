//! Service Fabric compose deployments: the gateway's compose paths and documents (the shape of
//! the spec's `ComposeDeploymentUpgradeProgressInfo`), and the presets that serve them.

use serde_json::{Value, json};

use super::sf::post_record;
use super::{Answers, Scenario};

pub const PROGRESS: &str = "/ComposeDeployments/mycompose/$/GetUpgradeProgress";
pub const ROLLBACK: &str = "/ComposeDeployments/mycompose/$/RollbackUpgrade";
/// The deployment's application, fabric:/mycompose: its description and health.
pub const APP: &str = "/Applications/mycompose";
pub const HEALTH: &str = "/Applications/mycompose/$/GetHealth";

/// The requests of one read of the progress, the rollback and the version read.
pub const READ: &str =
    "GET /ComposeDeployments/mycompose/$/GetUpgradeProgress?api-version=6.0-preview";
pub const POST: &str =
    "POST /ComposeDeployments/mycompose/$/RollbackUpgrade?api-version=6.4-preview";
pub const VERSION_READ: &str =
    "GET /Applications/mycompose?api-version=6.0&ExcludeApplicationParameters=true";

impl Scenario {
    /// `sf` against the compose deployment mycompose, whose upgrade progress answers `progress`.
    pub fn compose(progress: impl Answers) -> Self {
        Self::sf()
            .result_of("sf-compose", "mycompose")
            .get(PROGRESS, progress)
    }

    /// `compose start mycompose --json` on a deployment whose progress answers `progress`
    /// and whose rollback POST answers `post`; its application reads type version 1.0.
    pub fn compose_start(progress: impl Answers, post: impl Answers) -> Self {
        Self::compose(progress)
            .post(ROLLBACK, post)
            .compose_app()
            .args(["compose", "start", "mycompose", "--json"])
    }

    /// The deployment's application: type version 1.0, asked for once rolled back.
    pub fn compose_app(self) -> Self {
        self.get(
            APP,
            json!({"Id": "mycompose", "Name": "fabric:/mycompose", "TypeName": "mycomposeType",
                "TypeVersion": "1.0", "Status": "Ready", "HealthState": "Ok", "Parameters": []}),
        )
    }
}

/// A `ComposeDeploymentUpgradeProgressInfo` of mycompose upgrading to 2.0 in `state`: a
/// rollback (ours) says `Interrupted` in UD1, a move in progress names UD1 as current.
pub fn compose(state: &str) -> Value {
    let back = matches!(
        state,
        "RollingBackInProgress" | "UnprovisioningTarget" | "RollingBackCompleted"
    );
    let moving = state.ends_with("InProgress") || state == "RollingForwardPending";
    let domain = |name: &str| json!({"DomainName": name, "NodeUpgradeProgressList": []});
    json!({
        "DeploymentName": "mycompose",
        "ApplicationName": "fabric:/mycompose",
        "UpgradeState": state,
        "UpgradeStatusDetails": "",
        "UpgradeKind": "Rolling",
        "RollingUpgradeMode": "Monitored",
        "ForceRestart": false,
        "UpgradeReplicaSetCheckTimeoutInSeconds": 42_949_672_925_u64,
        "TargetApplicationTypeVersion": "2.0",
        "UpgradeDuration": "PT0H2M0S",
        "CurrentUpgradeDomainDuration": "PT0H0M30S",
        "ApplicationUnhealthyEvaluations": [],
        "CurrentUpgradeDomainProgress": domain(if moving { "UD1" } else { "" }),
        "StartTimestampUtc": "2026-11-22T03:00:00.000Z",
        "FailureTimestampUtc": if back { "2026-11-22T03:02:00.000Z" } else { "0001-01-01T00:00:00.000Z" },
        "FailureReason": if back { "Interrupted" } else { "None" },
        "UpgradeDomainProgressAtFailure": domain(if back { "UD1" } else { "" }),
        "ApplicationUpgradeStatusDetails": "",
    })
}

/// The progress of an upgrade that failed its health check in UD1 on the service web, then
/// rolled back (`state`).
pub fn compose_health_failed(state: &str) -> Value {
    let mut doc = compose(state);
    doc["FailureReason"] = json!("HealthCheck");
    doc["ApplicationUnhealthyEvaluations"] = json!([{"HealthEvaluation": {
        "Kind": "Services", "AggregatedHealthState": "Error",
        "Description": "100% (1/1) services of service type 'WebType' are in Error.",
        "UnhealthyEvaluations": [{"HealthEvaluation": {
            "Kind": "Service", "AggregatedHealthState": "Error",
            "ServiceName": "fabric:/mycompose/web",
            "Description": "Service 'fabric:/mycompose/web' is in Error.",
            "UnhealthyEvaluations": []
        }}]
    }}]);
    doc["ApplicationUpgradeStatusDetails"] =
        json!("The health check of upgrade domain UD1 failed.");
    doc
}

/// The result's `requests` once mycompose's rollback was sent.
pub fn rollback_sent() -> Value {
    json!([post_record(
        "/ComposeDeployments/mycompose/$/RollbackUpgrade?api-version=6.4-preview"
    )])
}
