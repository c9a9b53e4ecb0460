//! How far a Service Fabric upgrade or rollback is (the result's `progress`, from
//! `UpgradeDomains`) and why it failed or was rolled back (the result's `reason`, through
//! [`failure_reason`]), from an upgrade progress document.

use super::model::{UpgradeProgress, non_empty};
use super::reason::failure_reason;
use crate::platforms::Progress;

/// The result's `progress`: `Completed` upgrade domains out of all listed, and the one
/// being processed (`CurrentUpgradeDomainProgress`, else the one `InProgress`). The spec
/// defines the domain states for an upgrade's walk; a rollback's walk is counted the same
/// way (inference). `None` without a domain list (a node-by-node upgrade lists units, not
/// domains).
pub fn domains(p: &UpgradeProgress) -> Option<Progress> {
    let domains = p.upgrade_domains.as_deref().filter(|d| !d.is_empty())?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let done = domains
        .iter()
        .filter(|d| d.state.as_deref() == Some("Completed"))
        .count();
    let current = p
        .current_upgrade_domain_progress
        .as_ref()
        .and_then(|c| non_empty(&c.domain_name))
        .or_else(|| {
            domains
                .iter()
                .find(|d| d.state.as_deref() == Some("InProgress"))
                .and_then(|d| non_empty(&d.name))
        })
        .map(str::to_string);
    Some(Progress {
        domains_done: count(done),
        domains_total: count(domains.len()),
        current,
    })
}

/// The result's `reason`: `FailureReason` in words, with the upgrade domain at failure and
/// the unhealthy entity.
pub fn reason(p: &UpgradeProgress) -> Option<String> {
    failure_reason(
        p.failure_reason.as_deref(),
        p.upgrade_domain_progress_at_failure
            .as_ref()
            .and_then(|at| at.domain_name.as_deref()),
        p.unhealthy_evaluations.as_deref().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the spec's GetClusterUpgradeProgress example: a Monitored upgrade in its
    /// second domain of three, no failure (`None`, an empty progress at failure).
    const CLUSTER_EXAMPLE: &str = r#"{
      "CodeVersion": "6.0.219.9494", "ConfigVersion": "1.0",
      "UpgradeDomains": [{"Name": "1", "State": "Completed"}, {"Name": "2", "State": "InProgress"},
        {"Name": "3", "State": "Pending"}],
      "UpgradeState": "RollingForwardInProgress", "NextUpgradeDomain": "3",
      "RollingUpgradeMode": "UnmonitoredAuto",
      "UpgradeDurationInMilliseconds": "PT1H2M4.63S", "UpgradeDomainDurationInMilliseconds": "PT2M4.63S",
      "UnhealthyEvaluations": [],
      "CurrentUpgradeDomainProgress": {"DomainName": "2", "NodeUpgradeProgressList": [
        {"NodeName": "_Node_1", "UpgradePhase": "Upgrading", "PendingSafetyChecks": [],
         "UpgradeDuration": "PT0H0M1.6S"}]},
      "StartTimestampUtc": "2017-05-11T23:00:33.583Z", "FailureTimestampUtc": "0001-01-01T00:00:00.000Z",
      "FailureReason": "None",
      "UpgradeDomainProgressAtFailure": {"DomainName": "", "NodeUpgradeProgressList": []}
    }"#;

    fn progress(done: u32, total: u32, current: Option<&str>) -> Option<Progress> {
        Some(Progress {
            domains_done: done,
            domains_total: total,
            current: current.map(str::to_string),
        })
    }

    #[test]
    fn the_spec_example_gives_progress_and_no_reason() {
        let p: UpgradeProgress = serde_json::from_str(CLUSTER_EXAMPLE).unwrap();
        assert_eq!(domains(&p), progress(1, 3, Some("2")));
        assert_eq!(reason(&p), None);
    }

    #[test]
    fn every_domain_state_counts_as_it_should() {
        let read = |list: &str, current: &str| -> UpgradeProgress {
            serde_json::from_str(&format!(
                r#"{{"UpgradeDomains":{list},"CurrentUpgradeDomainProgress":{current}}}"#
            ))
            .unwrap()
        };
        let empty = r#"{"DomainName":"","NodeUpgradeProgressList":[]}"#;
        let cases = [
            // All pending: none done, none current yet.
            (
                r#"[{"Name":"UD0","State":"Pending"},{"Name":"UD1","State":"Pending"}]"#,
                empty,
                progress(0, 2, None),
            ),
            // The current domain comes from CurrentUpgradeDomainProgress.
            (
                r#"[{"Name":"UD0","State":"Completed"},{"Name":"UD1","State":"InProgress"},{"Name":"UD2","State":"Pending"}]"#,
                r#"{"DomainName":"UD1"}"#,
                progress(1, 3, Some("UD1")),
            ),
            // Without it, from the domain InProgress.
            (
                r#"[{"Name":"UD0","State":"Completed"},{"Name":"UD1","State":"InProgress"}]"#,
                empty,
                progress(1, 2, Some("UD1")),
            ),
            // A rollback that completed: every domain done, none current.
            (
                r#"[{"Name":"UD0","State":"Completed"},{"Name":"UD1","State":"Completed"},{"Name":"UD2","State":"Completed"}]"#,
                empty,
                progress(3, 3, None),
            ),
            // Invalid and unknown states are not done.
            (
                r#"[{"Name":"UD0","State":"Invalid"},{"Name":"UD1","State":"Sideways"},{"Name":"UD2","State":"Completed"}]"#,
                "null",
                progress(1, 3, None),
            ),
        ];
        for (list, current, expected) in cases {
            assert_eq!(domains(&read(list, current)), expected, "{list}");
        }
        // No domain list (absent, null, empty, or a node-by-node upgrade's units): null.
        for json in [
            "{}",
            r#"{"UpgradeDomains":null}"#,
            r#"{"UpgradeDomains":[]}"#,
            r#"{"UpgradeDomains":[],"UpgradeUnits":[{"Name":"N1","State":"Completed"}]}"#,
        ] {
            let p: UpgradeProgress = serde_json::from_str(json).unwrap();
            assert_eq!(domains(&p), None, "{json}");
        }
    }

    #[test]
    fn the_reason_names_the_domain_at_failure_and_the_entity() {
        let p: UpgradeProgress = serde_json::from_str(
            r#"{"UpgradeState":"RollingBackInProgress","FailureReason":"HealthCheck",
                "UpgradeDomainProgressAtFailure":{"DomainName":"UD1","NodeUpgradeProgressList":[
                  {"NodeName":"_Node_1","UpgradePhase":"Upgrading","PendingSafetyChecks":[]}]},
                "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Nodes","AggregatedHealthState":"Error",
                  "Description":"1 of 3 nodes unhealthy","UnhealthyEvaluations":[{"HealthEvaluation":{
                    "Kind":"Node","NodeName":"_Node_1","AggregatedHealthState":"Error",
                    "Description":"Node is down"}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(
            reason(&p).as_deref(),
            Some(
                "the health check failed during upgrade domain UD1: node _Node_1 is Error: Node is down"
            )
        );
        let ours: UpgradeProgress = serde_json::from_str(
            r#"{"UpgradeState":"RollingBackCompleted","FailureReason":"Interrupted",
                "UpgradeDomainProgressAtFailure":{"DomainName":"UD1"}}"#,
        )
        .unwrap();
        assert_eq!(
            reason(&ours).as_deref(),
            Some(
                "a rollback was requested (by this tool or an operator) during upgrade domain UD1"
            )
        );
    }
}
