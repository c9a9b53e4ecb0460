//! The parts of Service Fabric's JSON the tool reads. Every field is optional and every enum an
//! open string: the full document is kept as `detail` in the result anyway.

use serde::Deserialize;

use super::health::{Wrapper, culprit};
use crate::platforms::Phase;

/// `ClusterUpgradeProgressObject` and `ApplicationUpgradeProgressInfo`, merged.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpgradeProgress {
    pub upgrade_state: Option<String>,
    /// A cluster's code and configuration versions (those of the upgrade, when one runs).
    pub code_version: Option<String>,
    pub config_version: Option<String>,
    pub upgrade_description: Option<UpgradeDescription>,
    pub target_application_type_version: Option<String>,
    pub rolling_upgrade_mode: Option<String>,
    pub next_upgrade_domain: Option<String>,
    pub upgrade_domains: Option<Vec<DomainInfo>>,
    pub upgrade_units: Option<Vec<DomainInfo>>,
    pub current_upgrade_domain_progress: Option<CurrentProgress>,
    pub current_upgrade_units_progress: Option<CurrentProgress>,
    pub failure_reason: Option<String>,
    pub upgrade_domain_progress_at_failure: Option<CurrentProgress>,
    pub upgrade_status_details: Option<String>,
    pub unhealthy_evaluations: Option<Vec<Wrapper>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpgradeDescription {
    pub code_version: Option<String>,
    pub config_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DomainInfo {
    pub name: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CurrentProgress {
    pub domain_name: Option<String>,
    pub node_upgrade_progress_list: Option<Vec<NodeProgress>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NodeProgress {
    pub node_name: Option<String>,
    pub pending_safety_checks: Option<Vec<SafetyCheckWrapper>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SafetyCheckWrapper {
    pub safety_check: Option<SafetyCheck>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SafetyCheck {
    pub kind: Option<String>,
}

/// `FabricError`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FabricError {
    pub error: Option<FabricErrorError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FabricErrorError {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// `ApplicationInfo` (only the version) and `ClusterVersion`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VersionInfo {
    pub type_version: Option<String>,
    pub version: Option<String>,
}

/// Service Fabric's `UpgradeState` in the normalized phase.
pub fn phase(upgrade_state: &str) -> Phase {
    match upgrade_state {
        "RollingForwardInProgress" | "RollingForwardPending" => Phase::Upgrading,
        "RollingBackInProgress" => Phase::RollingBack,
        "RollingBackCompleted" => Phase::RolledBack,
        "RollingForwardCompleted" => Phase::Idle,
        "Failed" => Phase::Failed,
        _ => Phase::Unknown,
    }
}

pub fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl UpgradeProgress {
    /// The version being abandoned: the upgrade's target.
    pub fn abandoned_version(&self) -> Option<String> {
        if let Some(version) = non_empty(&self.target_application_type_version) {
            return Some(version.to_string());
        }
        // A cluster: the upgrade's description, else the progress's own versions (a rollback
        // in progress may come without a description).
        let description = self.upgrade_description.as_ref();
        description
            .and_then(|d| non_empty(&d.code_version).or_else(|| non_empty(&d.config_version)))
            .or_else(|| non_empty(&self.code_version))
            .or_else(|| non_empty(&self.config_version))
            .map(str::to_string)
    }

    /// One line: state, domains done, the current domain and what it waits on.
    pub fn progress_line(&self) -> String {
        let mut parts = vec![
            non_empty(&self.upgrade_state)
                .unwrap_or("no UpgradeState")
                .to_string(),
        ];
        let (domains, unit) = match (&self.upgrade_domains, &self.upgrade_units) {
            (Some(d), _) if !d.is_empty() => (d.as_slice(), "upgrade domains"),
            (_, Some(u)) if !u.is_empty() => (u.as_slice(), "upgrade units"),
            _ => (&[][..], ""),
        };
        if !domains.is_empty() {
            let done = domains
                .iter()
                .filter(|d| d.state.as_deref() == Some("Completed"))
                .count();
            parts.push(format!("{done}/{} {unit} done", domains.len()));
        }
        let current = self
            .current_upgrade_domain_progress
            .as_ref()
            .filter(|c| non_empty(&c.domain_name).is_some())
            .or(self.current_upgrade_units_progress.as_ref());
        if let Some(name) = current.and_then(|c| non_empty(&c.domain_name)) {
            parts.push(format!("in {name}"));
        } else if let Some(next) = non_empty(&self.next_upgrade_domain) {
            parts.push(format!("next {next}"));
        }
        let checks: Vec<String> = current
            .and_then(|c| c.node_upgrade_progress_list.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|node| {
                let name = non_empty(&node.node_name).unwrap_or("?").to_string();
                node.pending_safety_checks
                    .iter()
                    .flatten()
                    .filter_map(|c| c.safety_check.as_ref().and_then(|s| non_empty(&s.kind)))
                    .map(move |kind| format!("{kind} on {name}"))
            })
            .collect();
        if !checks.is_empty() {
            parts.push(format!("waiting for safety checks: {}", checks.join(", ")));
        }
        // Why it failed or was rolled back is the result's `reason`, a line of its own.
        parts.join(", ")
    }

    /// Why the upgrade failed, from every field that says something about it.
    pub fn failure_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(reason) = non_empty(&self.failure_reason) {
            parts.push(format!("FailureReason {reason}"));
        }
        if let Some(details) = non_empty(&self.upgrade_status_details) {
            parts.push(details.to_string());
        }
        // The entity that failed the health check, not the wrapper that leads to it.
        if let Some(culprit) = culprit(self.unhealthy_evaluations.as_deref().unwrap_or_default()) {
            parts.push(culprit.line());
        }
        if parts.is_empty() {
            "no reason given".into()
        } else {
            parts.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_phases() {
        assert_eq!(phase("RollingForwardInProgress"), Phase::Upgrading);
        assert_eq!(phase("RollingForwardPending"), Phase::Upgrading);
        assert_eq!(phase("RollingBackInProgress"), Phase::RollingBack);
        assert_eq!(phase("RollingBackCompleted"), Phase::RolledBack);
        assert_eq!(phase("RollingForwardCompleted"), Phase::Idle);
        assert_eq!(phase("Failed"), Phase::Failed);
        assert_eq!(phase("Invalid"), Phase::Unknown);
        assert_eq!(phase("SomethingNew"), Phase::Unknown);
    }

    #[test]
    fn progress_line_names_domains_and_safety_checks() {
        let p: UpgradeProgress = serde_json::from_str(
            r#"{"UpgradeState":"RollingBackInProgress","NextUpgradeDomain":"",
                "UpgradeDomains":[{"Name":"UD0","State":"Completed"},{"Name":"UD1","State":"InProgress"},{"Name":"UD2","State":"Pending"}],
                "CurrentUpgradeDomainProgress":{"DomainName":"UD1","NodeUpgradeProgressList":[
                  {"NodeName":"N1","UpgradePhase":"PreUpgradeSafetyCheck","PendingSafetyChecks":[{"SafetyCheck":{"Kind":"EnsurePartitionQuorum"}}]}]},
                "FailureReason":"Interrupted","Unknown":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            p.progress_line(),
            "RollingBackInProgress, 1/3 upgrade domains done, in UD1, waiting for safety checks: EnsurePartitionQuorum on N1"
        );
    }

    #[test]
    fn node_by_node_upgrades_count_units() {
        let p: UpgradeProgress = serde_json::from_str(
            r#"{"UpgradeState":"RollingForwardInProgress","UpgradeDomains":[],"UpgradeUnits":[{"Name":"N1","State":"Completed"},{"Name":"N2","State":"Pending"}],"NextUpgradeDomain":"N2"}"#,
        )
        .unwrap();
        assert_eq!(
            p.progress_line(),
            "RollingForwardInProgress, 1/2 upgrade units done, next N2"
        );
    }

    #[test]
    fn versions() {
        let app: UpgradeProgress =
            serde_json::from_str(r#"{"TargetApplicationTypeVersion":"2.0.0"}"#).unwrap();
        assert_eq!(app.abandoned_version().as_deref(), Some("2.0.0"));
        let cluster: UpgradeProgress =
            serde_json::from_str(r#"{"CodeVersion":"7.0","UpgradeDescription":{"CodeVersion":"7.1","ConfigVersion":"2"}}"#).unwrap();
        assert_eq!(cluster.abandoned_version().as_deref(), Some("7.1"));
        let config_only: UpgradeProgress = serde_json::from_str(
            r#"{"UpgradeDescription":{"CodeVersion":"","ConfigVersion":"3"}}"#,
        )
        .unwrap();
        assert_eq!(config_only.abandoned_version().as_deref(), Some("3"));
        let no_description: UpgradeProgress =
            serde_json::from_str(r#"{"CodeVersion":"7.1","ConfigVersion":"2"}"#).unwrap();
        assert_eq!(no_description.abandoned_version().as_deref(), Some("7.1"));
    }

    #[test]
    fn failure_text_collects_reasons() {
        let p: UpgradeProgress = serde_json::from_str(
            r#"{"FailureReason":"HealthCheck","UpgradeStatusDetails":"too many errors",
                "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Nodes","Description":"2 nodes down"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.failure_text(),
            "FailureReason HealthCheck; too many errors; Nodes: 2 nodes down"
        );
    }

    #[test]
    fn failure_text_names_the_unhealthy_entity_not_its_wrapper() {
        let p: UpgradeProgress = serde_json::from_str(
            r#"{"FailureReason":"HealthCheck","UnhealthyEvaluations":[{"HealthEvaluation":{
                "Kind":"Services","AggregatedHealthState":"Error","Description":"1 of 1 services unhealthy",
                "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Service","AggregatedHealthState":"Error",
                  "ServiceName":"fabric:/myapp/app1/svc1","UnhealthyEvaluations":[{"HealthEvaluation":{
                    "Kind":"Event","AggregatedHealthState":"Error",
                    "UnhealthyEvent":{"SourceId":"watchdog","Property":"probe","HealthState":"Error",
                      "Description":"HTTP probe failed"}}}]}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            p.failure_text(),
            "FailureReason HealthCheck; service fabric:/myapp/app1/svc1 is Error: HTTP probe failed"
        );
    }

    #[test]
    fn nulls_and_wrong_extra_fields_are_tolerated() {
        let p: UpgradeProgress =
            serde_json::from_str(r#"{"UpgradeState":null,"UpgradeDomains":null,"Extra":[1,2],"UpgradeDurationInMilliseconds":"PT1M"}"#).unwrap();
        assert_eq!(p.progress_line(), "no UpgradeState");
    }
}
