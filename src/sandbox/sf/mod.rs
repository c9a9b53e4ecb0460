//! Service Fabric's HTTP gateway: the cluster (upgrading 10.0 → 10.1) and the application
//! `fabric:/myapp/app1` (upgrading 2.0.0 over 1.0.0), each mid-way through its second upgrade
//! domain of three, their upgrade progress, rollback, version and health, and `FabricError`s;
//! the compose deployment `mycompose` in `compose.rs`.

mod compose;

use serde_json::{Value, json};

use super::clock::iso;
use super::credentials::Credentials;
use super::state::{Pace, Stage, Walk};
use super::{Now, Reply, Request};

pub const APP_ID: &str = "myapp~app1";
const APP_NAME: &str = "fabric:/myapp/app1";
/// The ids of the applications beyond the first: `myapp~app2`, `myapp~app3`, … (a fleet's).
const APP_PREFIX: &str = "myapp~app";
const DOMAINS: u32 = 3;

/// What one target is doing.
enum Run {
    /// Rolling forward, held in the second domain.
    Forward(Walk),
    /// Rolling back (ours), from `started_ms`.
    Back { walk: Walk, started_ms: i64 },
}

/// The cluster or the application.
struct Target {
    run: Run,
    /// The version being abandoned and the one a rollback returns to.
    target_version: &'static str,
    previous_version: &'static str,
    started_ms: i64,
}

impl Target {
    fn new(target_version: &'static str, previous_version: &'static str, now: Now) -> Self {
        Self {
            run: Run::Forward(Walk::held(DOMAINS, 1, now.instant)),
            target_version,
            previous_version,
            // The upgrade started ten minutes before the sandbox.
            started_ms: now.epoch_ms_at(now.instant) - 600_000,
        }
    }

    fn stage(&mut self, now: Now) -> Stage {
        match &mut self.run {
            Run::Forward(walk) | Run::Back { walk, .. } => walk.stage(now.instant),
        }
    }

    fn rolled_back(&mut self, now: Now) -> bool {
        matches!(self.run, Run::Back { .. }) && self.stage(now) == Stage::Done
    }

    /// The version in place: the previous one once rolled back.
    fn version(&mut self, now: Now) -> &'static str {
        if self.rolled_back(now) {
            self.previous_version
        } else {
            self.target_version
        }
    }

    /// The fields both progress documents share.
    fn progress(&mut self, now: Now) -> serde_json::Map<String, Value> {
        let stage = self.stage(now);
        let back = match &self.run {
            Run::Back { started_ms, .. } => Some(*started_ms),
            Run::Forward(_) => None,
        };
        let (state, current) = match (back, stage) {
            (None, Stage::Processing(d) | Stage::Waiting(d)) => {
                ("RollingForwardInProgress", Some(d))
            }
            (None, _) => ("RollingForwardCompleted", None),
            (Some(_), Stage::Processing(d) | Stage::Waiting(d)) => {
                ("RollingBackInProgress", Some(d))
            }
            (Some(_), Stage::Done) => ("RollingBackCompleted", None),
            (Some(_), Stage::Failed(_)) => ("Failed", None),
        };
        let failed_at = match stage {
            Stage::Failed(d) => Some(d),
            _ => None,
        };
        let done = match stage {
            Stage::Processing(d) | Stage::Waiting(d) | Stage::Failed(d) => d,
            Stage::Done => DOMAINS,
        };
        let domains: Vec<Value> = (0..DOMAINS)
            .map(|i| {
                let state = if i < done {
                    "Completed"
                } else if Some(i) == current || Some(i) == failed_at {
                    "InProgress"
                } else {
                    "Pending"
                };
                json!({"Name": format!("UD{i}"), "State": state})
            })
            .collect();
        let next = current
            .map(|d| d + 1)
            .filter(|d| *d < DOMAINS)
            .map_or(String::new(), |d| format!("UD{d}"));
        let node = |d: u32| {
            json!({"DomainName": format!("UD{d}"), "NodeUpgradeProgressList": [
                {"NodeName": format!("_Node_{d}"), "UpgradePhase": "Upgrading", "PendingSafetyChecks": [], "UpgradeDuration": "PT0H0M1S"}
            ]})
        };
        let empty = json!({"DomainName": "", "NodeUpgradeProgressList": []});
        let mut doc = serde_json::Map::new();
        doc.insert("UpgradeState".into(), json!(state));
        doc.insert("UpgradeDomains".into(), Value::Array(domains));
        doc.insert("RollingUpgradeMode".into(), json!("Monitored"));
        doc.insert("NextUpgradeDomain".into(), json!(next));
        doc.insert(
            "CurrentUpgradeDomainProgress".into(),
            current.map_or_else(|| empty.clone(), node),
        );
        doc.insert("StartTimestampUtc".into(), json!(iso(self.started_ms)));
        doc.insert(
            "FailureTimestampUtc".into(),
            json!(back.map_or_else(|| "0001-01-01T00:00:00.000Z".to_string(), iso)),
        );
        // Our rollback request shows as Interrupted; a rollback that then fails its health
        // check (scenario `fails`) as HealthCheck, naming the node that did not come back.
        doc.insert(
            "FailureReason".into(),
            json!(match (back, failed_at) {
                (_, Some(_)) => "HealthCheck",
                (Some(_), None) => "Interrupted",
                (None, None) => "None",
            }),
        );
        doc.insert(
            "UnhealthyEvaluations".into(),
            match failed_at {
                Some(d) => json!([{"HealthEvaluation": {
                    "Kind": "Nodes", "AggregatedHealthState": "Error",
                    "Description": format!("33% (1/3) nodes are unhealthy; upgrade domain UD{d} is in Error."),
                    "UnhealthyEvaluations": [{"HealthEvaluation": {
                        "Kind": "Node", "AggregatedHealthState": "Error", "NodeName": format!("_Node_{d}"),
                        "Description": format!("Node _Node_{d} did not come back after the rollback (sandbox scenario fails).")
                    }}]
                }}]),
                None => json!([]),
            },
        );
        doc.insert(
            "UpgradeDomainProgressAtFailure".into(),
            match (back, failed_at) {
                (_, Some(d)) => node(d),
                (Some(_), None) => node(1),
                (None, None) => empty,
            },
        );
        doc.insert(
            "UpgradeStatusDetails".into(),
            json!(match failed_at {
                Some(d) => format!(
                    "The rollback failed in upgrade domain UD{d}: node _Node_{d} did not come back (sandbox scenario fails)."
                ),
                None => String::new(),
            }),
        );
        doc.insert("UpgradeDurationInMilliseconds".into(), json!("PT0H10M0S"));
        doc.insert(
            "UpgradeDomainDurationInMilliseconds".into(),
            json!("PT0H1M0S"),
        );
        doc
    }

    /// RollbackUpgrade: only an upgrade that is rolling forward rolls back.
    fn rollback(&mut self, pace: Pace, now: Now) -> bool {
        if !matches!(self.run, Run::Forward(_)) {
            return false;
        }
        self.run = Run::Back {
            walk: Walk::new(DOMAINS, 0, false, pace, now.instant),
            started_ms: now.epoch_ms_at(now.instant),
        };
        true
    }
}

/// The cluster and its applications (`myapp~app1`, and more for a fleet).
pub struct Sf {
    pace: Pace,
    unhealthy: bool,
    cluster: Target,
    apps: Vec<Target>,
    compose: compose::Compose,
}

impl Sf {
    #[cfg(test)]
    pub fn new(pace: Pace, unhealthy: bool, now: Now) -> Self {
        Self::with_apps(pace, unhealthy, now, 1)
    }

    /// With `apps` applications `myapp~app1` … `myapp~appN` (at least one).
    pub fn with_apps(pace: Pace, unhealthy: bool, now: Now, apps: u32) -> Self {
        Self {
            pace,
            unhealthy,
            cluster: Target::new("10.1.1541.9590", "10.0.1949.9590", now),
            apps: (0..apps.max(1))
                .map(|_| Target::new("2.0.0", "1.0.0", now))
                .collect(),
            compose: compose::Compose::new(now),
        }
    }

    /// The place among the applications of the id `myapp~appK`.
    fn app_index(&self, id: &str) -> Option<usize> {
        if id == APP_ID {
            return Some(0);
        }
        let k: usize = id.strip_prefix(APP_PREFIX)?.parse().ok()?;
        // `myapp~app01` is no application's id.
        (k >= 1 && k <= self.apps.len() && id == format!("{APP_PREFIX}{k}")).then(|| k - 1)
    }

    pub fn handle(&mut self, request: &Request, creds: &Credentials, now: Now) -> Reply {
        // Without a token the gateway does not know who asks; a token it does not accept (or
        // one without the Admin role) is denied.
        match request.bearer("authorization") {
            None => return Reply::empty(401),
            given if !creds.accepts(&creds.sf_token, given) => {
                return error(403, "E_ACCESSDENIED", "Access is denied.");
            }
            _ => {}
        }
        if request
            .query_value("api-version")
            .is_none_or(|v| v.is_empty())
        {
            return error(
                400,
                "E_INVALIDARG",
                "The api-version query parameter is required.",
            );
        }
        let path = request.path.as_str();
        let method = request.method.as_str();
        if let Some(reply) = self.compose.route(request, self.pace, self.unhealthy, now) {
            return reply;
        }
        let (target, rest) = match path.strip_prefix("/Applications/") {
            Some(rest) => {
                let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
                let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
                let Some(index) = self.app_index(&id) else {
                    return match (method, rest) {
                        ("GET", "") => Reply::empty(204),
                        _ => error(
                            404,
                            "FABRIC_E_APPLICATION_NOT_FOUND",
                            &format!("Application fabric:/{} not found.", id.replace('~', "/")),
                        ),
                    };
                };
                (Some(index), format!("/{rest}"))
            }
            None => (None, path.to_string()),
        };
        let app = target.is_some();
        let index = target.unwrap_or(0);
        let name = app_name(index);
        match (method, rest.as_str(), app) {
            ("GET", "/$/GetUpgradeProgress", false) => {
                let mut doc = self.cluster.progress(now);
                let version = self.cluster.version(now);
                doc.insert("CodeVersion".into(), json!(version));
                doc.insert("ConfigVersion".into(), json!("1"));
                doc.insert(
                    "UpgradeDescription".into(),
                    json!({"CodeVersion": self.cluster.target_version, "ConfigVersion": "1",
                        "UpgradeKind": "Rolling", "RollingUpgradeMode": "Monitored",
                        "MonitoringPolicy": {"FailureAction": "Rollback"}}),
                );
                doc.insert("IsNodeByNode".into(), json!(false));
                Reply::json(200, &Value::Object(doc))
            }
            ("GET", "/$/GetUpgradeProgress", true) => {
                let mut head = serde_json::Map::new();
                head.insert("Name".into(), json!(name));
                head.insert("TypeName".into(), json!("MyAppType"));
                head.insert(
                    "TargetApplicationTypeVersion".into(),
                    json!(self.apps[index].target_version),
                );
                head.insert(
                    "UpgradeDescription".into(),
                    json!({"Name": name, "TargetApplicationTypeVersion": self.apps[index].target_version,
                        "UpgradeKind": "Rolling", "RollingUpgradeMode": "Monitored",
                        "MonitoringPolicy": {"FailureAction": "Rollback"}}),
                );
                head.extend(self.apps[index].progress(now));
                Reply::json(200, &Value::Object(head))
            }
            ("POST", "/$/RollbackUpgrade", app) => {
                let (target, code) = if app {
                    (&mut self.apps[index], "FABRIC_E_APPLICATION_NOT_UPGRADING")
                } else {
                    (&mut self.cluster, "FABRIC_E_FABRIC_NOT_UPGRADING")
                };
                if target.rollback(self.pace, now) {
                    // The spec gives the cluster 202 and the application 200.
                    Reply::empty(if app { 200 } else { 202 })
                } else {
                    error(
                        400,
                        code,
                        "The upgrade is not rolling forward: there is nothing to roll back.",
                    )
                }
            }
            ("GET", "/", true) => Reply::json(
                200,
                &json!({"Id": app_id(index), "Name": name, "TypeName": "MyAppType",
                    "TypeVersion": self.apps[index].version(now), "Status": "Ready", "Parameters": [],
                    "HealthState": self.health(now, target)}),
            ),
            ("GET", "/$/GetClusterVersion", false) => {
                Reply::json(200, &json!({"Version": self.cluster.version(now)}))
            }
            ("GET", "/$/GetHealth", true) => self.health_document(now, target),
            ("GET", "/$/GetClusterHealth", false) => self.health_document(now, None),
            _ => Reply::empty(404),
        }
    }

    /// The health of the application at `app`, or of the cluster.
    fn health(&mut self, now: Now, app: Option<usize>) -> &'static str {
        let target = match app {
            Some(index) => &mut self.apps[index],
            None => &mut self.cluster,
        };
        let failed = matches!(target.stage(now), Stage::Failed(_));
        if self.unhealthy || failed {
            "Error"
        } else {
            "Ok"
        }
    }

    /// GetHealth (application) or GetClusterHealth: Ok, or Error with its evaluation.
    fn health_document(&mut self, now: Now, app: Option<usize>) -> Reply {
        let state = self.health(now, app);
        let evaluations = if state == "Error" {
            json!([{"HealthEvaluation": {
                "Kind": "Services", "AggregatedHealthState": "Error", "ServiceTypeName": "WebType",
                "Description": "100% (1/1) services of service type 'WebType' are in Error.",
                "UnhealthyEvaluations": [{"HealthEvaluation": {
                    "Kind": "Service", "AggregatedHealthState": "Error",
                    "ServiceName": "fabric:/myapp/app1/web",
                    "Description": "Service 'fabric:/myapp/app1/web' is in Error: partition 1 has no primary replica."
                }}]
            }}])
        } else {
            json!([])
        };
        let mut doc = json!({"AggregatedHealthState": state, "UnhealthyEvaluations": evaluations, "HealthEvents": []});
        if let Some(index) = app {
            doc["Name"] = json!(app_name(index));
            doc["ServiceHealthStates"] =
                json!([{"ServiceName": "fabric:/myapp/app1/web", "AggregatedHealthState": state}]);
        } else {
            doc["NodeHealthStates"] = json!(
                (0..DOMAINS)
                    .map(|i| json!({"Name": format!("_Node_{i}"), "AggregatedHealthState": "Ok"}))
                    .collect::<Vec<_>>()
            );
            doc["ApplicationHealthStates"] =
                json!([{"Name": APP_NAME, "AggregatedHealthState": state}]);
        }
        Reply::json(200, &doc)
    }
}

/// The id of the application at `index`.
fn app_id(index: usize) -> String {
    format!("{APP_PREFIX}{}", index + 1)
}

/// The name of the application at `index` (`fabric:/myapp/app1`).
fn app_name(index: usize) -> String {
    if index == 0 {
        APP_NAME.to_string()
    } else {
        format!("fabric:/myapp/app{}", index + 1)
    }
}

/// A `FabricError` answer.
fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"Error": {"Code": code, "Message": message}}),
    )
}

#[cfg(test)]
mod tests;
