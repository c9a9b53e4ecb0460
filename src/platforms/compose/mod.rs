//! Service Fabric compose deployments (`rollback sf compose …`): their upgrade progress judged
//! into [`Snapshot`]s, and the [`Rollback`] implementation. The gateway, credentials and
//! errors are `sf`'s; the compose operations take their own preview api-versions, whatever
//! `--api-version` says.

pub mod args;
mod model;
mod open;
pub use open::Compose;

use std::time::Duration;

use reqwest::Method;
use tracing::debug;

use super::sf::health::HealthDoc;
use super::sf::{AppId, Scope, SfClient, fabric_error, parse_json, segment};
use super::{Decision, Health, Phase, Prompt, Rollback, Snapshot, default_decision};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Delivery, Request, RequestRecord, Response};
use crate::input::{MAX_VALUE, shown};
use model::ComposeProgress;

/// The api-version of the compose reads (the spec's only value).
const READ_VERSION: &str = "6.0-preview";
/// The api-version of the compose rollback (the spec's only value).
const ROLLBACK_VERSION: &str = "6.4-preview";

/// A compose deployment's name (`mycompose`): one path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeName(String);

impl ComposeName {
    /// A name, or its application's name (`fabric:/mycompose`).
    pub fn parse(input: &str) -> Result<Self, String> {
        let name = match input.get(..8) {
            Some(prefix) if prefix.eq_ignore_ascii_case("fabric:/") => &input[8..],
            _ => input,
        };
        if name.trim().is_empty() {
            return Err("the compose deployment name is empty".into());
        }
        if name.len() > MAX_VALUE {
            return Err(format!(
                "the compose deployment name {} is longer than {MAX_VALUE} bytes",
                shown(name)
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(format!(
                "the compose deployment name {name:?} contains a control character"
            ));
        }
        if name.contains('/') || name == "." || name == ".." {
            return Err(format!(
                "the compose deployment name {name:?} is not one name (such as mycompose)"
            ));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One compose deployment on one cluster.
pub struct ComposeTarget {
    client: SfClient,
    name: ComposeName,
    /// Its application, as the last progress document named it.
    application: Option<String>,
}

impl ComposeTarget {
    fn new(client: SfClient, name: ComposeName) -> Self {
        Self {
            client,
            name,
            application: None,
        }
    }

    fn path(&self, operation: &str) -> String {
        let name = segment(self.name.as_str());
        format!("/ComposeDeployments/{name}/$/{operation}")
    }

    /// The deployment's application: as its progress names it, else `fabric:/NAME` (the name
    /// Service Fabric gives a compose deployment's application).
    fn application(&self) -> Result<AppId, Error> {
        let fallback = format!("fabric:/{}", self.name.as_str());
        let name = self.application.as_deref().unwrap_or(&fallback);
        AppId::parse(name)
            .map_err(|e| Error::unexpected(format!("the compose deployment's application: {e}")))
    }
}

impl Rollback for ComposeTarget {
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
        let path = self.path("GetUpgradeProgress");
        let request = self.client.request(Method::GET, &path, READ_VERSION, "");
        let response = self.client.http.read(&request).await?;
        let (snapshot, progress) = snapshot(&response)?;
        if let Some(application) = progress.application_name.filter(|a| !a.trim().is_empty()) {
            self.application = Some(application);
        }
        Ok(snapshot)
    }

    fn decide(&self, snapshot: &Snapshot) -> Decision {
        decision(snapshot)
    }

    async fn describe(&mut self, snapshot: &Snapshot) -> Prompt {
        let abandoned = snapshot.from_version.as_deref().unwrap_or("the upgrade");
        // As for `sf app`: the application's type version while the upgrade runs is the one a
        // rollback returns to; the target itself, or no answer, says nothing.
        let restored = self
            .settled_version()
            .await
            .filter(|v| Some(v) != snapshot.from_version.as_ref())
            .unwrap_or_else(|| "its previous version".into());
        let name = self.name.as_str();
        Prompt {
            context: vec![format!(
                "Compose deployment {name} on {}: {}",
                self.client.endpoint, snapshot.progress
            )],
            question: format!("Abandon {abandoned} and return {name} to {restored}?"),
        }
    }

    fn rollback_request(&self) -> Request {
        let path = self.path("RollbackUpgrade");
        self.client
            .request(Method::POST, &path, ROLLBACK_VERSION, "")
    }

    fn rejection(&self, response: &Response) -> Error {
        fabric_error(response)
    }

    async fn health(&mut self) -> Result<Health, Error> {
        let detail = self.client.health(&Scope::App(self.application()?)).await?;
        let doc: HealthDoc = serde_json::from_value(detail).map_err(|e| {
            Error::unexpected(format!("a health document the tool cannot read: {e}"))
        })?;
        Ok(doc.verdict())
    }

    /// The application's type version (after a rollback: the one now in place).
    async fn settled_version(&mut self) -> Option<String> {
        let scope = Scope::App(self.application().ok()?);
        self.client.version(&scope).await.unwrap_or_else(|e| {
            debug!("the version after the rollback is unknown: {e}");
            None
        })
    }
}

/// What `start` does: the phase decides, but past rolling forward the words say why.
fn decision(snapshot: &Snapshot) -> Decision {
    match snapshot.platform_state.as_deref() {
        Some(state @ "UnprovisioningCurrent") => Decision::Nothing(format!(
            "the upgrade has finished rolling forward ({state}): a compose deployment upgrade rolls back only while it rolls forward"
        )),
        _ => default_decision(snapshot),
    }
}

/// The snapshot a compose upgrade-progress answer stands for, and the progress read.
fn snapshot(response: &Response) -> Result<(Snapshot, ComposeProgress), Error> {
    if !response.is_success() {
        return Err(fabric_error(response));
    }
    let detail = parse_json(response)?;
    let progress: ComposeProgress = serde_json::from_value(detail.clone()).map_err(|e| {
        Error::unexpected(format!(
            "{} answered a document the tool cannot read ({e}): {}",
            response.url,
            excerpt(&response.body, 200)
        ))
    })?;
    let state = progress.state().map(str::to_string);
    let phase = state.as_deref().map_or(Phase::Unknown, model::phase);
    let failure = (phase == Phase::Failed)
        .then(|| Problem::new(format!("the upgrade failed: {}", progress.failure_text())));
    let snapshot = Snapshot {
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
        // The progress document lists no upgrade domains.
        domains: None,
        reason: progress.reason(),
    };
    Ok((snapshot, progress))
}

#[cfg(test)]
mod tests;
