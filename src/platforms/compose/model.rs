//! `ComposeDeploymentUpgradeProgressInfo`, the parts the tool reads (every field optional,
//! every enum an open string: the whole document is the result's `detail` anyway), and what
//! its `UpgradeState` and `FailureReason` mean.

use serde::Deserialize;

use crate::platforms::Phase;
use crate::platforms::sf::health::Wrapper;
use crate::platforms::sf::reason::failure_reason;

/// A compose deployment's upgrade progress.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ComposeProgress {
    pub deployment_name: Option<String>,
    /// The deployment's application (`fabric:/mycompose`): its health is the deployment's.
    pub application_name: Option<String>,
    pub upgrade_state: Option<String>,
    pub target_application_type_version: Option<String>,
    pub current_upgrade_domain_progress: Option<Domain>,
    pub failure_reason: Option<String>,
    pub upgrade_domain_progress_at_failure: Option<Domain>,
    pub application_unhealthy_evaluations: Option<Vec<Wrapper>>,
    /// The failure message, when the upgrade failed.
    pub application_upgrade_status_details: Option<String>,
}

/// `CurrentUpgradeDomainProgressInfo` / `FailureUpgradeDomainProgressInfo`: the domain's name.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Domain {
    pub domain_name: Option<String>,
}

/// A compose deployment's `UpgradeState` in the normalized phase. A rollback is possible
/// only while provisioning the target or rolling forward; once the current version is being
/// unprovisioned the upgrade is done (nothing to roll back); `UnprovisioningTarget` is the end
/// of a rollback, still moving.
pub fn phase(upgrade_state: &str) -> Phase {
    match upgrade_state {
        "ProvisioningTarget" | "RollingForwardInProgress" | "RollingForwardPending" => {
            Phase::Upgrading
        }
        "UnprovisioningCurrent" | "RollingForwardCompleted" => Phase::Idle,
        "RollingBackInProgress" | "UnprovisioningTarget" => Phase::RollingBack,
        "RollingBackCompleted" => Phase::RolledBack,
        "Failed" => Phase::Failed,
        // `Invalid`, and any word this tool does not know.
        _ => Phase::Unknown,
    }
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl ComposeProgress {
    pub fn state(&self) -> Option<&str> {
        non_empty(self.upgrade_state.as_ref())
    }

    /// The version being abandoned: the upgrade's target.
    pub fn abandoned_version(&self) -> Option<String> {
        non_empty(self.target_application_type_version.as_ref()).map(str::to_string)
    }

    /// One line: the state and the domain being worked on (why it failed or was rolled back
    /// is the result's `reason`, a line of its own).
    pub fn progress_line(&self) -> String {
        let mut parts = vec![self.state().unwrap_or("no UpgradeState").to_string()];
        let current = self.current_upgrade_domain_progress.as_ref();
        if let Some(domain) = current.and_then(|d| non_empty(d.domain_name.as_ref())) {
            parts.push(format!("in {domain}"));
        }
        parts.join(", ")
    }

    /// The result's `reason`, worded as for every Service Fabric upgrade
    /// ([`failure_reason`]), then the failure message; `None` when the platform gives no
    /// reason.
    pub fn reason(&self) -> Option<String> {
        let at_failure = self.upgrade_domain_progress_at_failure.as_ref();
        let mut line = failure_reason(
            self.failure_reason.as_deref(),
            at_failure.and_then(|d| d.domain_name.as_deref()),
            self.application_unhealthy_evaluations
                .as_deref()
                .unwrap_or_default(),
        )?;
        if let Some(details) = non_empty(self.application_upgrade_status_details.as_ref()) {
            line.push_str(&format!("; {details}"));
        }
        Some(line)
    }

    /// Why the upgrade failed, for the error of a `Failed` state.
    pub fn failure_text(&self) -> String {
        self.reason().unwrap_or_else(|| "no reason given".into())
    }
}
