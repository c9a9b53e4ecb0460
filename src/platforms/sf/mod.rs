//! Service Fabric REST: cluster and application upgrade progress judged into [`Snapshot`]s,
//! and the [`Rollback`] implementation. The requests are in `client`.

pub mod args;
mod open;
mod profile;
pub use open::{Sf, connect, described};
mod client;
pub mod health;
mod model;
mod progress;
pub mod reason;

use std::time::Duration;

use tracing::debug;

use super::{Health, Phase, Prompt, Rollback, Snapshot};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Delivery, Request, RequestRecord, Response};
pub use client::{AppId, Scope, SfClient};
pub use client::{fabric_error, parse_json, segment};
use health::HealthDoc;
use model::UpgradeProgress;

/// One rollback target on one cluster.
pub struct SfTarget {
    pub client: SfClient,
    pub scope: Scope,
}

impl Rollback for SfTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(5)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        snapshot(&self.client.progress(&self.scope).await?)
    }

    async fn describe(&mut self, snapshot: &Snapshot) -> Prompt {
        let abandoned = snapshot.from_version.as_deref().unwrap_or("the upgrade");
        let endpoint = &self.client.endpoint;
        match &self.scope {
            // The progress names no version to return to; GetClusterVersion's answer during
            // an upgrade is not known to be the old one (servicefabric.md, known unknowns).
            Scope::Cluster => Prompt {
                context: vec![format!("Cluster {endpoint}: {}", snapshot.progress)],
                question: format!(
                    "Abandon {abandoned} and return the cluster to its previous version?"
                ),
            },
            Scope::App(id) => {
                let name = id.name();
                // The type version in place while the upgrade runs is the one a rollback
                // returns to; the target itself, or no answer, says nothing.
                let restored = self
                    .client
                    .version(&self.scope)
                    .await
                    .unwrap_or_else(|e| {
                        debug!("the version in place is unknown: {e}");
                        None
                    })
                    .filter(|v| Some(v) != snapshot.from_version.as_ref())
                    .unwrap_or_else(|| "its previous version".into());
                Prompt {
                    context: vec![format!(
                        "Application {name} on {endpoint}: {}",
                        snapshot.progress
                    )],
                    question: format!("Abandon {abandoned} and return {name} to {restored}?"),
                }
            }
        }
    }

    fn rollback_request(&self) -> Request {
        self.client.rollback_request(&self.scope)
    }

    fn rejection(&self, response: &Response) -> Error {
        fabric_error(response)
    }

    async fn health(&mut self) -> Result<Health, Error> {
        let detail = self.client.health(&self.scope).await?;
        let doc: HealthDoc = serde_json::from_value(detail).map_err(|e| {
            Error::unexpected(format!("a health document the tool cannot read: {e}"))
        })?;
        Ok(doc.verdict())
    }

    async fn settled_version(&mut self) -> Option<String> {
        self.client.version(&self.scope).await.unwrap_or_else(|e| {
            debug!("the version after the rollback is unknown: {e}");
            None
        })
    }
}

/// The snapshot an upgrade-progress answer stands for.
fn snapshot(response: &Response) -> Result<Snapshot, Error> {
    if !response.is_success() {
        return Err(fabric_error(response));
    }
    let detail = parse_json(response)?;
    let progress: UpgradeProgress = serde_json::from_value(detail.clone()).map_err(|e| {
        Error::unexpected(format!(
            "{} answered a document the tool cannot read ({e}): {}",
            response.url,
            excerpt(&response.body, 200)
        ))
    })?;
    let state = progress.upgrade_state.clone().filter(|s| !s.is_empty());
    let phase = state.as_deref().map_or(Phase::Unknown, model::phase);
    let failure = (phase == Phase::Failed)
        .then(|| Problem::new(format!("the upgrade failed: {}", progress.failure_text())));
    Ok(Snapshot {
        phase,
        platform_state: state,
        from_version: progress.abandoned_version(),
        progress: progress.progress_line(),
        failure,
        detail,
        retry_after: response.retry_after(),
        moving: phase.is_active(),
        next_step: None,
        next_command: None,
        events: Vec::new(),
        domains: self::progress::domains(&progress),
        reason: self::progress::reason(&progress),
    })
}

#[cfg(test)]
mod tests;
