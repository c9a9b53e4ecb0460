//! The compose deployment `mycompose` (application `fabric:/mycompose`, upgrading 2.0 over
//! 1.0): held rolling forward in its second upgrade domain; a rollback walks its three
//! domains back, then unprovisions the target (`UnprovisioningTarget`) before it completes.
//! Compose reads take api-version 6.0-preview, the rollback 6.4-preview, as the spec says.

use serde_json::{Value, json};

use super::super::clock::iso;
use super::super::state::{Pace, Stage, Walk};
use super::super::{Now, Reply, Request};
use super::{DOMAINS, error};

pub const NAME: &str = "mycompose";
/// Its application's id and name.
pub const APP_ID: &str = "mycompose";
const APP_NAME: &str = "fabric:/mycompose";

/// The deployment and where its upgrade stands.
pub struct Compose {
    walk: Walk,
    /// When our rollback started; `None` while rolling forward.
    back_since: Option<i64>,
    started_ms: i64,
}

impl Compose {
    pub fn new(now: Now) -> Self {
        Self {
            walk: Walk::held(DOMAINS, 1, now.instant),
            back_since: None,
            started_ms: now.epoch_ms_at(now.instant) - 600_000,
        }
    }

    /// A request for the compose deployment or its application, answered; `None` for others.
    pub fn route(
        &mut self,
        request: &Request,
        pace: Pace,
        unhealthy: bool,
        now: Now,
    ) -> Option<Reply> {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        if let Some(rest) = request.path.strip_prefix("/ComposeDeployments/") {
            let (name, rest) = rest.split_once('/').unwrap_or((rest, ""));
            let name = decode(name);
            return Some(if name == NAME {
                self.handle(request, &format!("/{rest}"), pace, now)
            } else {
                error(
                    404,
                    "FABRIC_E_APPLICATION_NOT_FOUND",
                    &format!("Compose deployment {name} not found."),
                )
            });
        }
        let rest = request.path.strip_prefix("/Applications/")?;
        let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
        if decode(id) != APP_ID || request.method != "GET" {
            return None;
        }
        let failed = self.failed(now);
        let state = if unhealthy || failed { "Error" } else { "Ok" };
        match rest {
            "" => Some(Reply::json(200, &self.info(now, state))),
            "$/GetHealth" => Some(Reply::json(200, &health(state))),
            _ => None,
        }
    }

    /// `/ComposeDeployments/{name}/…` (`rest` after the name), for this deployment only.
    fn handle(&mut self, request: &Request, rest: &str, pace: Pace, now: Now) -> Reply {
        let api_version = request.query_value("api-version").unwrap_or_default();
        match (request.method.as_str(), rest) {
            ("GET", "/$/GetUpgradeProgress") if api_version == "6.0-preview" => {
                Reply::json(200, &self.progress(now))
            }
            ("POST", "/$/RollbackUpgrade") if api_version == "6.4-preview" => {
                if self.back_since.is_some() {
                    return error(
                        400,
                        "FABRIC_E_APPLICATION_NOT_UPGRADING",
                        "The compose deployment upgrade is not rolling forward.",
                    );
                }
                // Three domains back, then the target's unprovisioning as one more step.
                self.walk = Walk::new(DOMAINS + 1, 0, false, pace, now.instant);
                self.back_since = Some(now.epoch_ms_at(now.instant));
                Reply::empty(200)
            }
            ("GET", "/$/GetUpgradeProgress") | ("POST", "/$/RollbackUpgrade") => error(
                400,
                "FABRIC_E_INVALID_API_VERSION",
                &format!("api-version {api_version} is not supported by this operation."),
            ),
            _ => Reply::empty(404),
        }
    }

    /// The version in place: the previous one once rolled back.
    pub fn version(&mut self, now: Now) -> &'static str {
        if self.state(now) == "RollingBackCompleted" {
            "1.0"
        } else {
            "2.0"
        }
    }

    /// Whether the rollback failed (scenario `fails`).
    pub fn failed(&mut self, now: Now) -> bool {
        matches!(self.walk.stage(now.instant), Stage::Failed(_))
    }

    fn state(&mut self, now: Now) -> &'static str {
        match (self.back_since, self.walk.stage(now.instant)) {
            (None, _) => "RollingForwardInProgress",
            (Some(_), Stage::Processing(d) | Stage::Waiting(d)) if d >= DOMAINS => {
                "UnprovisioningTarget"
            }
            (Some(_), Stage::Processing(_) | Stage::Waiting(_)) => "RollingBackInProgress",
            (Some(_), Stage::Done) => "RollingBackCompleted",
            (Some(_), Stage::Failed(_)) => "Failed",
        }
    }

    /// `ComposeDeploymentUpgradeProgressInfo`.
    fn progress(&mut self, now: Now) -> Value {
        let state = self.state(now);
        let current = match self.walk.stage(now.instant) {
            Stage::Processing(d) | Stage::Waiting(d) if d < DOMAINS => format!("UD{d}"),
            _ => String::new(),
        };
        let domain = |name: &str| json!({"DomainName": name, "NodeUpgradeProgressList": []});
        let failed_at = match self.walk.stage(now.instant) {
            Stage::Failed(d) => Some(d),
            _ => None,
        };
        let details = match failed_at {
            Some(d) => format!(
                "The rollback failed in upgrade domain UD{d}: a container of service fabric:/mycompose/web did not start (sandbox scenario fails)."
            ),
            None => String::new(),
        };
        json!({
            "DeploymentName": NAME,
            "ApplicationName": APP_NAME,
            "UpgradeState": state,
            "UpgradeStatusDetails": "",
            "UpgradeKind": "Rolling",
            "RollingUpgradeMode": "Monitored",
            "ForceRestart": false,
            "UpgradeReplicaSetCheckTimeoutInSeconds": 42_949_672_925_u64,
            "MonitoringPolicy": {"FailureAction": "Rollback"},
            "TargetApplicationTypeVersion": "2.0",
            "UpgradeDuration": "PT0H10M0S",
            "CurrentUpgradeDomainDuration": "PT0H1M0S",
            "ApplicationUnhealthyEvaluations": [],
            "CurrentUpgradeDomainProgress": domain(&current),
            "StartTimestampUtc": iso(self.started_ms),
            "FailureTimestampUtc": self.back_since.map_or_else(|| "0001-01-01T00:00:00.000Z".into(), iso),
            "FailureReason": if self.back_since.is_some() { "Interrupted" } else { "None" },
            "UpgradeDomainProgressAtFailure": domain(if self.back_since.is_some() { "UD1" } else { "" }),
            "ApplicationUpgradeStatusDetails": details,
        })
    }

    /// `GetApplicationInfo` of the deployment's application.
    pub fn info(&mut self, now: Now, health: &str) -> Value {
        json!({"Id": APP_ID, "Name": APP_NAME, "TypeName": "mycomposeType",
            "TypeVersion": self.version(now), "Status": "Ready", "Parameters": [],
            "HealthState": health})
    }
}

/// `GetHealth` of the deployment's application: Ok, or Error on its service web.
pub fn health(state: &str) -> Value {
    let evaluations = if state == "Error" {
        json!([{"HealthEvaluation": {
            "Kind": "Services", "AggregatedHealthState": "Error", "ServiceTypeName": "webType",
            "Description": "100% (1/1) services of service type 'webType' are in Error.",
            "UnhealthyEvaluations": [{"HealthEvaluation": {
                "Kind": "Service", "AggregatedHealthState": "Error",
                "ServiceName": "fabric:/mycompose/web",
                "Description": "Service 'fabric:/mycompose/web' is in Error: its container exits at start."
            }}]
        }}])
    } else {
        json!([])
    };
    json!({"Name": APP_NAME, "AggregatedHealthState": state, "UnhealthyEvaluations": evaluations,
        "HealthEvents": [],
        "ServiceHealthStates": [{"ServiceName": "fabric:/mycompose/web", "AggregatedHealthState": state}]})
}
