//! Judging a deployment (and the operation this run follows) into a [`Snapshot`]: the phase,
//! the line for a human, the upgrade domains and why it failed.

use super::*;

impl CloudsvcTarget {
    /// The snapshot for a deployment, given what this run has done.
    pub(super) fn judge(&mut self, state: DeploymentState) -> Snapshot {
        let d = &state.deployment;
        let status = d.status.clone().unwrap_or_else(|| "no Status".into());
        let detail = serde_json::to_value(d).unwrap_or_default();
        let progress = deployment_progress(d);
        let mut snapshot = Snapshot {
            phase: Phase::Idle,
            platform_state: Some(status.clone()),
            from_version: None,
            progress,
            failure: None,
            detail,
            retry_after: state.retry_after,
            moving: false,
            next_step: None,
            next_command: None,
            events: Vec::new(),
            domains: progress::running(d),
            reason: None,
        };
        let Some(upgrade) = &d.upgrade_status else {
            let t = &self.tracking;
            if (t.accepted || t.presumed) && !self.walk_only() {
                snapshot.phase = Phase::RolledBack;
                snapshot.domains = progress::finished(d);
                if self.tracking.operation.is_some() {
                    snapshot.platform_state = Some("Succeeded".into());
                }
            }
            return snapshot;
        };
        snapshot.platform_state = Some(upgrade_state(upgrade));
        // A Manual update or rollback waiting at a domain that this run does not walk: say
        // which walk moves it on.
        if let Some(domain) =
            waiting_walk(upgrade).filter(|_| !self.tracking.accepted || self.walk_only())
        {
            snapshot.next_command =
                Some(vec!["walk".into(), "--domain".into(), domain.to_string()]);
            snapshot.progress.push_str(&format!(
                ", waiting for upgrade domain {domain} to be walked"
            ));
        }
        if self.walk_only() && self.tracking.accepted {
            // The walk's operation ended: report the deployment as it stands.
            snapshot.phase = self.unsent_phase(d, upgrade);
            return snapshot;
        }
        snapshot.moving = true;
        if self.tracking.expected && !self.tracking.accepted && !model::flag(&d.rollback_allowed) {
            // It allowed a rollback before ours left; now it does not: ours is running
            // (the API has no other sign of a rollback in progress).
            self.tracking.accepted = true;
        }
        if !self.tracking.accepted {
            snapshot.phase = self.unsent_phase(d, upgrade);
            return snapshot;
        }
        snapshot.phase = Phase::RollingBack;
        if let (Mode::Manual, Some(domain)) = (self.mode, waiting_before(upgrade)) {
            // Each domain is walked once: a walk whose fate is unclear is never repeated.
            if self.tracking.walked.insert(domain) {
                snapshot.next_step = Some(NextStep {
                    request: self.client.walk_request(domain),
                    what: format!("Upgrade domain {domain} walk"),
                    question: format!("Walk upgrade domain {domain} of {}?", self.label()),
                    note: format!("Walking upgrade domain {domain}."),
                });
            }
        }
        snapshot
    }

    /// The phase of an update this run has sent nothing for (or whose walk it sent ended): a
    /// rollback may be sent (upgrading); a Manual update waiting for a walk that allows no
    /// rollback is a Manual rollback (rolling back, presumed); otherwise the API does not say
    /// whether a rollback is running (unknown).
    pub(super) fn unsent_phase(&mut self, d: &Deployment, upgrade: &model::UpgradeStatus) -> Phase {
        if model::flag(&d.rollback_allowed) {
            Phase::Upgrading
        } else if waiting_walk(upgrade).is_some() {
            self.tracking.presumed = true;
            Phase::RollingBack
        } else {
            Phase::Unknown
        }
    }

    /// The snapshot a Get Operation Status answer stands for; `None` once the operation
    /// succeeded, when the deployment itself tells the rest.
    pub(super) fn judge_operation(
        &mut self,
        id: &str,
        operation: Operation,
        response: &Response,
    ) -> Option<Snapshot> {
        if let Some(seen) = operation
            .id
            .as_deref()
            .filter(|seen| !model::same_operation(seen, id))
        {
            tracing::warn!("operation {id} answered with the id {seen}");
        }
        let state = operation.status.clone().unwrap_or_default();
        let detail = serde_json::to_value(&operation).unwrap_or_default();
        // A walk's operation says nothing about a rollback.
        let phase = if self.walk_only() {
            Phase::Unknown
        } else {
            Phase::RollingBack
        };
        let mut snapshot = Snapshot {
            phase,
            platform_state: Some(state.clone()),
            from_version: None,
            progress: format!("operation {id}: {state}"),
            failure: None,
            detail,
            retry_after: response.retry_after(),
            moving: true,
            next_step: None,
            next_command: None,
            events: Vec::new(),
            domains: None,
            reason: None,
        };
        match state.as_str() {
            "InProgress" => {}
            "Succeeded" => {
                self.tracking.operation_done = true;
                return None;
            }
            "Failed" => {
                let error = operation.error.unwrap_or_default();
                let code = error.code.clone().filter(|c| !c.is_empty());
                let mut message = format!("operation {id} failed");
                if let Some(code) = &code {
                    message.push_str(&format!(": {code}"));
                }
                if let Some(text) = error.message.as_ref().filter(|m| !m.is_empty()) {
                    message.push_str(&format!(": {text}"));
                }
                snapshot.reason = progress::operation_reason(&error);
                let mut failure = Problem::new(message).with_code(code);
                failure.http_status = operation
                    .http_status_code
                    .as_deref()
                    .and_then(|s| s.trim().parse().ok());
                snapshot.phase = Phase::Failed;
                snapshot.failure = Some(failure);
                snapshot.moving = false;
            }
            _ => {
                snapshot.phase = Phase::Unknown;
                snapshot.platform_state =
                    Some(format!("{state} ({})", excerpt(&response.body, 200)));
                snapshot.moving = false;
            }
        }
        Some(snapshot)
    }
}

/// Where an update stands in its upgrade domains.
pub struct Domains {
    /// `UpgradeDomainCount`.
    pub count: Option<u32>,
    /// `CurrentUpgradeDomain` and its state (`Before`/`During`), while an update runs.
    pub current: Option<(u32, String)>,
}

/// The upgrade domain a Manual update or rollback waits at (`Before`), if it does.
fn waiting_walk(upgrade: &model::UpgradeStatus) -> Option<u32> {
    let manual = upgrade
        .upgrade_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("Manual"));
    manual.then(|| waiting_before(upgrade)).flatten()
}

/// The upgrade domain the update stands `Before`, if it does (whatever its mode).
fn waiting_before(upgrade: &model::UpgradeStatus) -> Option<u32> {
    let before = upgrade
        .current_upgrade_domain_state
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("Before"));
    let domain = upgrade
        .current_upgrade_domain
        .as_deref()?
        .trim()
        .parse()
        .ok()?;
    before.then_some(domain)
}

fn upgrade_state(upgrade: &model::UpgradeStatus) -> String {
    format!(
        "{}/{}/UD{}",
        upgrade.upgrade_type.as_deref().unwrap_or("?"),
        upgrade
            .current_upgrade_domain_state
            .as_deref()
            .unwrap_or("?"),
        upgrade.current_upgrade_domain.as_deref().unwrap_or("?")
    )
}

fn deployment_progress(d: &Deployment) -> String {
    let mut parts = vec![format!(
        "deployment {}",
        d.status.as_deref().unwrap_or("(no status)")
    )];
    if let Some(u) = &d.upgrade_status {
        parts.push(format!(
            "{} update in upgrade domain {} ({}) of {}",
            u.upgrade_type.as_deref().unwrap_or("?"),
            u.current_upgrade_domain.as_deref().unwrap_or("?"),
            u.current_upgrade_domain_state.as_deref().unwrap_or("?"),
            d.upgrade_domain_count.as_deref().unwrap_or("?")
        ));
        parts.push(format!(
            "RollbackAllowed {}",
            model::flag(&d.rollback_allowed)
        ));
    } else {
        parts.push("no update in progress".into());
    }
    if model::flag(&d.locked) {
        parts.push("locked by a running operation".into());
    }
    let not_ready: Vec<String> = d
        .role_instance_list
        .iter()
        .flat_map(|l| &l.role_instances)
        .filter(|i| {
            i.instance_status
                .as_deref()
                .is_some_and(|s| s != "ReadyRole")
        })
        .map(|i| {
            format!(
                "{} ({})",
                i.instance_name.as_deref().unwrap_or("?"),
                i.instance_status.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if !not_ready.is_empty() {
        parts.push(format!("not ready: {}", not_ready.join(", ")));
    }
    parts.join(", ")
}
