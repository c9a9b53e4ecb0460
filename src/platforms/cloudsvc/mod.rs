//! Azure Cloud Services (classic): judging deployments and operations into [`Snapshot`]s for
//! a rollback or a walk, and the [`Rollback`] implementation. The requests are in `client`.

pub mod args;
mod open;
mod profile;
pub use open::Cloudsvc;
mod client;
mod health;
mod judge;
pub use judge::Domains;
mod model;
mod progress;
pub mod publish;

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Health, NextStep, Phase, Prompt, Rollback, Snapshot};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Delivery, Request, RequestRecord, Response};
use client::DeploymentState;
pub use client::{CloudsvcClient, Deploy, Mode, Slot, redirect_domains};
use model::{Deployment, Operation};

/// What this run's accepted request is: the rollback (`start`, `status`) or one upgrade domain
/// walk (`walk`), whose operation ending says nothing about a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Rollback,
    Walk,
}

/// What the run has set in motion: the operation to follow and the domains already walked.
#[derive(Debug, Default)]
struct Tracking {
    /// A request of ours (the rollback or a walk) was accepted.
    accepted: bool,
    /// A rollback of ours may have been received without an answer saying so: an update that
    /// no longer allows a rollback is taken to be that rollback.
    expected: bool,
    operation: Option<String>,
    operation_done: bool,
    walked: BTreeSet<u32>,
    /// A Manual update that waits for a walk yet allows no rollback was read: taken to be a
    /// Manual rollback (inference: a Manual update waiting for a walk allows one).
    presumed: bool,
}

/// One deployment's rollback.
pub struct CloudsvcTarget {
    pub client: CloudsvcClient,
    pub mode: Mode,
    pub force: bool,
    purpose: Purpose,
    tracking: Tracking,
}

impl CloudsvcTarget {
    pub fn new(client: CloudsvcClient, mode: Mode, force: bool, purpose: Purpose) -> Self {
        Self {
            client,
            mode,
            force,
            purpose,
            tracking: Tracking::default(),
        }
    }

    /// `walk`: the wait ends when the walk's operation ends.
    fn walk_only(&self) -> bool {
        self.purpose == Purpose::Walk
    }

    /// `service/slot` or `service/deployment-name`, for messages and the result's target.
    pub fn label(&self) -> String {
        self.client.label()
    }

    /// The upgrade domains of the deployment a snapshot shows.
    pub fn deployment_state(&self, snapshot: &Snapshot) -> Domains {
        let d: Deployment =
            serde_json::from_value(model::as_read(&snapshot.detail)).unwrap_or_default();
        let count = d
            .upgrade_domain_count
            .as_deref()
            .and_then(|c| c.trim().parse().ok());
        let current = d.upgrade_status.as_ref().and_then(|u| {
            let domain = u.current_upgrade_domain.as_deref()?.trim().parse().ok()?;
            Some((
                domain,
                u.current_upgrade_domain_state.clone().unwrap_or_default(),
            ))
        });
        Domains { count, current }
    }

    /// Walk Upgrade Domain for `domain`.
    pub fn walk_request(&self, domain: u32) -> Request {
        self.client.walk_request(domain)
    }
}

impl Rollback for CloudsvcTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(10)
    }

    async fn health(&mut self) -> Result<Health, Error> {
        Ok(health::verdict(&self.client.deployment().await?.deployment))
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        let t = &self.tracking;
        let pending = t.operation.clone().filter(|_| !t.operation_done);
        if let Some(id) = pending {
            let (operation, response) = self.client.operation(&id).await?;
            if let Some(snapshot) = self.judge_operation(&id, operation, &response) {
                return Ok(snapshot);
            }
        }
        let state = self.client.deployment().await?;
        Ok(self.judge(state))
    }

    fn decide(&self, snapshot: &Snapshot) -> super::Decision {
        if snapshot.phase == Phase::RollingBack && !self.tracking.accepted {
            // A Manual rollback started elsewhere moves only when walked: waiting for it
            // would wait for someone else; `next:` names the walk.
            return super::Decision::Nothing(format!(
                "a Manual rollback is running ({}) and waits for an upgrade domain to be walked; no rollback was sent",
                snapshot.platform_state.as_deref().unwrap_or("?")
            ));
        }
        if snapshot.phase == Phase::Unknown && snapshot.moving {
            return super::Decision::Nothing(format!(
                "an update is in progress ({}) but RollbackAllowed is false: it cannot be rolled back now, or a rollback is already running",
                snapshot.platform_state.as_deref().unwrap_or("?")
            ));
        }
        super::default_decision(snapshot)
    }

    async fn describe(&mut self, snapshot: &Snapshot) -> Prompt {
        let mut context = vec![format!("{}: {}", self.label(), snapshot.progress)];
        if self.force {
            context.push("--force: role instances may lose local data.".into());
        }
        Prompt {
            context,
            question: format!(
                "Abandon the update in progress and return {} to its previous deployment ({} mode)?",
                self.label(),
                self.mode.as_str()
            ),
        }
    }

    fn rollback_request(&self) -> Request {
        self.client.rollback_request(self.mode, self.force)
    }

    fn rejection(&self, response: &Response) -> Error {
        self.client.error(response)
    }

    /// `walk --domain N`: only the domain the deployment waits at, and only while it waits.
    async fn step(&mut self, domain: u32, snapshot: &Snapshot) -> Result<NextStep, Error> {
        let state = self.deployment_state(snapshot);
        let Some((current, current_state)) = state.current else {
            return Err(Error::NothingToRollBack(Problem::new(format!(
                "no update is in progress on {}: there is no upgrade domain to walk",
                self.label()
            ))));
        };
        if let Some(count) = state.count.filter(|count| domain >= *count) {
            return Err(Error::Usage(format!(
                "--domain {domain}: {} has upgrade domains 0 to {}",
                self.label(),
                count.saturating_sub(1)
            )));
        }
        if domain != current {
            return Err(Error::Usage(format!(
                "--domain {domain}: {} waits at upgrade domain {current}, which must be walked first",
                self.label()
            )));
        }
        if current_state.eq_ignore_ascii_case("During") {
            return Err(Error::Platform(Problem::new(format!(
                "upgrade domain {current} of {} is still being processed (During); walk the next one when it is reached",
                self.label()
            ))));
        }
        Ok(NextStep {
            request: self.walk_request(domain),
            what: format!("Upgrade domain {domain} walk"),
            question: format!("Walk upgrade domain {domain} of {}?", self.label()),
            note: format!("Walking upgrade domain {domain}."),
        })
    }

    fn expect_rollback(&mut self) -> bool {
        self.tracking.expected = true;
        true
    }

    fn accepted(&mut self, response: &Response) -> Result<Option<String>, Error> {
        let id = client::operation_id(response);
        self.tracking.accepted = true;
        self.tracking.operation_done = id.is_none();
        self.tracking.operation.clone_from(&id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests;
