//! ArcGIS Enterprise on Kubernetes: one deployment's patch rollback. [`ArcgisTarget`] judges the
//! upgrades job into a [`Snapshot`] (its phase, whether it is our rollback) and implements
//! [`Rollback`]. The requests, tokens and error envelopes are [`client`]'s, the documents'
//! models [`model`]'s, which job messages are new [`events`]'s, `--to` [`choice`]'s, and
//! `--verify` [`health`]'s.

pub mod args;
mod choice;
mod client;
mod events;
mod health;
mod model;
mod open;
mod profile;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use serde_json::Value;

pub use choice::Choice;
pub use client::{ArcgisClient, Login};
pub use model::RollbackOption;
pub use open::Arcgis;

use super::{Decision, Health, Listing, Phase, Prompt, Rollback, Snapshot};
use crate::error::{Error, Problem};
use crate::http::{Delivery, Field, Request, RequestRecord, Response};
use choice::choose;
use client::{envelope, is_token_code};
use events::Seen;
use model::{Job, JobMessage, Upgrades, parse_options};

/// Polls after our rollback was accepted in which the job may not show yet.
const GRACE_ROUNDS: u32 = 3;

/// What the run has learnt about the job and its rollback, across readings.
#[derive(Debug, Default)]
struct Tracking {
    /// The newest job message when the run first looked.
    baseline: Option<i64>,
    /// The job's messages as last read.
    seen: Seen,
    /// When our rollback was accepted.
    accepted_at: Option<Instant>,
    /// A rollback sent by this run or a run on this machine moments ago may have been received
    /// without an answer saying so: a job that shows up is that rollback.
    expected: bool,
    /// Polls since acceptance in which the job did not show.
    unseen_rounds: u32,
    /// The last rollback the job reported (its "rollback started" message).
    last_rollback: Option<JobMessage>,
    /// The option `prepare` chose to roll back to.
    chosen: Option<RollbackOption>,
    /// The last job document read, shown while the admin API does not answer.
    last_detail: Value,
}

/// One deployment's patch rollback.
pub struct ArcgisTarget {
    pub client: ArcgisClient,
    pub to: Option<Choice>,
    tracking: Tracking,
    verifying: health::Verifying,
}

impl ArcgisTarget {
    /// `to` is `start`'s `--to`; `None` for the other actions.
    pub fn new(client: ArcgisClient, to: Option<Choice>) -> Self {
        Self {
            client,
            to,
            tracking: Tracking::default(),
            verifying: health::Verifying::default(),
        }
    }

    /// Check Rollback.
    pub async fn options(&mut self) -> Result<(Vec<RollbackOption>, Value), Error> {
        let value: Value = self
            .client
            .call("/admin/system/upgrades/checkRollback", Vec::new())
            .await?;
        Ok((parse_options(&value)?, value))
    }

    /// One reading of the job as a snapshot, the tracking updated with what it shows.
    fn judge(&mut self, job: Job, detail: Value) -> Snapshot {
        let t = &mut self.tracking;
        let newest = job.newest;
        let first_look = t.baseline.is_none();
        if first_look {
            t.baseline = newest.or(Some(i64::MIN));
        }
        let events = t.seen.events(&job, first_look);
        if job.rollback.is_some() {
            t.last_rollback.clone_from(&job.rollback);
        }
        let rollback_job = job.rollback.is_some();
        let since_baseline = newest.is_some() && newest > t.baseline;
        let accepted = t.accepted_at.is_some() || t.expected;
        let (mut phase, mut moving) = match job.state.as_str() {
            "no_upgrade" => (Phase::Idle, false),
            "in_progress" if accepted || rollback_job => (Phase::RollingBack, true),
            "in_progress" => (Phase::Upgrading, true),
            "success" if accepted && since_baseline => (Phase::RolledBack, false),
            "success" if accepted => (Phase::Idle, false),
            "success" if rollback_job => (Phase::RolledBack, false),
            "success" => (Phase::Idle, false),
            _ => (Phase::Unknown, false),
        };
        let last = job
            .messages
            .iter()
            .max_by_key(|m| m.when)
            .map(|m| m.text.clone());
        // A job that ended in neither success nor progress failed (its failure state is
        // undocumented): its last message says why. Messages carry no severity.
        let reason = last
            .clone()
            .filter(|_| !matches!(job.state.as_str(), "no_upgrade" | "in_progress" | "success"));
        let code = job.code.map(|c| format!(" (code {c})")).unwrap_or_default();
        let mut progress = format!(
            "job {}{code}",
            if job.state.is_empty() {
                "(no state)"
            } else {
                &job.state
            }
        );
        // After the first look each new message is shown as an event of its own: the
        // progress line repeating the last one would print every message twice.
        if let Some(last) = last.as_ref().filter(|_| first_look) {
            progress.push_str(&format!(": {last}"));
        }
        let mut failure = None;
        if accepted && phase == Phase::Idle {
            // The job of our rollback may not show at once.
            t.unseen_rounds += 1;
            if t.unseen_rounds <= GRACE_ROUNDS {
                // Still idle as far as anyone can see: keep looking, claim nothing.
                moving = true;
                progress = format!("waiting for the rollback job to show ({progress})");
            } else {
                phase = Phase::Unknown;
                failure = Some(Problem::new(format!(
                    "the rollback job did not show in {GRACE_ROUNDS} reads after the rollback was sent; the rollback request may or may not have been received: the job reports state {:?}{code}; check with `status` before trying again",
                    job.state
                )));
            }
        }
        let failure = failure.or_else(|| {
            (phase == Phase::Unknown).then(|| {
                let recent: Vec<String> = job
                    .messages
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .map(|m| m.text.clone())
                    .collect();
                Problem::new(format!(
                    "the upgrades job reports state {:?}{code}{}",
                    job.state,
                    if recent.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", recent.join(" / "))
                    }
                ))
            })
        });
        t.last_detail = detail.clone();
        Snapshot {
            phase,
            platform_state: Some(job.state).filter(|s| !s.is_empty()),
            from_version: None,
            progress,
            failure,
            detail,
            retry_after: None,
            moving,
            next_step: None,
            next_command: None,
            events,
            domains: None,
            reason,
        }
    }

    /// While a rollback runs, pods restart: an error is a reason to look again, not to stop.
    fn unavailable(&self, error: &Error) -> Snapshot {
        let t = &self.tracking;
        Snapshot {
            phase: Phase::RollingBack,
            platform_state: None,
            from_version: None,
            progress: format!(
                "the admin API is not answering ({error}); the rollback job goes on, still waiting"
            ),
            failure: None,
            detail: t.last_detail.clone(),
            retry_after: None,
            moving: true,
            next_step: None,
            next_command: None,
            events: Vec::new(),
            domains: None,
            reason: None,
        }
    }

    /// How long our rollback has run, for errors during the wait.
    fn ran_for(&self) -> String {
        match self.tracking.accepted_at {
            Some(at) => format!(
                "the rollback job had run for {} and continues on the ArcGIS deployment",
                crate::config::show_duration(at.elapsed())
            ),
            None => "a running rollback job continues on the ArcGIS deployment".into(),
        }
    }
}

impl Rollback for ArcgisTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(10)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        let waiting = {
            let t = &self.tracking;
            t.accepted_at.is_some() || t.expected
        };
        let upgrades: Upgrades = match self.client.call("/admin/system/upgrades", Vec::new()).await
        {
            Ok(answer) => answer,
            Err(Error::Auth(p)) if waiting => {
                let message = if is_token_code(&p) {
                    format!(
                        "the token expired or is no longer valid ({}); {}",
                        p.message,
                        self.ran_for()
                    )
                } else {
                    format!("{}; {}", p.message, self.ran_for())
                };
                return Err(Error::Auth(Problem { message, ..p }));
            }
            Err(error @ (Error::Usage(_) | Error::Auth(_))) => return Err(error),
            Err(error) if waiting => return Ok(self.unavailable(&error)),
            Err(error) => return Err(error),
        };
        match upgrades.into_job(self.client.url()) {
            Ok((job, detail)) => Ok(self.judge(job, detail)),
            Err(error) if waiting => Ok(self.unavailable(&error)),
            Err(error) => Err(error),
        }
    }

    fn decide(&self, snapshot: &Snapshot) -> Decision {
        let state = snapshot.platform_state.as_deref().unwrap_or("no state");
        match snapshot.phase {
            // The last job was a rollback: `previous` would now remove a further patch, which
            // a retried step must never do by accident.
            Phase::RolledBack if !matches!(self.to, Some(Choice::Id(_))) => {
                let done = self
                    .tracking
                    .last_rollback
                    .as_ref()
                    .map(|m| format!(" ({} at {})", m.text, m.stamp))
                    .unwrap_or_default();
                Decision::Nothing(format!(
                    "the last job already rolled back a patch{done}; to roll back a further patch, name it with --to ID (see `rollback arcgis targets`)"
                ))
            }
            // Idle, yet moving: a rollback of ours was accepted or may have been received, and
            // its job has not shown yet.
            Phase::Idle if snapshot.moving => Decision::Attach,
            Phase::Idle | Phase::RolledBack => Decision::RollBack,
            Phase::RollingBack => Decision::Attach,
            Phase::Upgrading => Decision::Nothing(format!(
                "an upgrade job is running ({state}); a patch can be rolled back once it has ended"
            )),
            Phase::Failed | Phase::Unknown => Decision::Refuse(Error::Unexpected(
                snapshot.failure.clone().unwrap_or_else(|| {
                    Problem::new(format!(
                        "unrecognised job state {state}; no rollback was sent"
                    ))
                }),
            )),
        }
    }

    /// `targets`: the versions Check Rollback offers. A running job blocks it.
    async fn list(&mut self, snapshot: &Snapshot) -> Result<Listing, Error> {
        if snapshot.phase.is_active() {
            return Err(Error::NothingToRollBack(Problem::new(format!(
                "a job is running ({}); the rollback options can be read once it has ended",
                snapshot.progress
            ))));
        }
        let (options, detail) = self.options().await?;
        if options.is_empty() {
            return Err(Error::NothingToRollBack(Problem::new(format!(
                "no patch is installed on {}: there is no version to roll back to",
                self.client.url()
            ))));
        }
        let header = ["ID", "VERSION", "TYPE", "NAME"].map(String::from).to_vec();
        let mut rows = vec![header];
        rows.extend(options.iter().map(RollbackOption::cells));
        Ok(Listing { rows, detail })
    }

    fn expect_rollback(&mut self) -> bool {
        let t = &mut self.tracking;
        t.expected = true;
        t.unseen_rounds = 0;
        true
    }

    async fn prepare(&mut self, _snapshot: &Snapshot) -> Result<(), Error> {
        let (options, _) = self.options().await?;
        let choice = self.to.clone().unwrap_or(Choice::Previous);
        let chosen = choose(&options, &choice, self.client.url())?;
        if !chosen.id.starts_with("pat_") {
            tracing::warn!("{} does not look like a patch id (pat_…)", chosen.id);
        }
        self.tracking.chosen = Some(chosen);
        Ok(())
    }

    async fn describe(&mut self, snapshot: &Snapshot) -> Prompt {
        let (target, build) = self
            .tracking
            .chosen
            .as_ref()
            .map(|c| (c.readable(), c.build.clone()))
            .unwrap_or_default();
        let abandoned = match build {
            Some(build) => format!("the patches after build {build}"),
            None => "the patches installed after it".into(),
        };
        Prompt {
            context: vec![
                format!("{}: {}", self.client.url(), snapshot.progress),
                "The organization is read-only while the rollback runs, and patches installed after the chosen version are removed with it.".into(),
            ],
            question: format!(
                "Abandon {abandoned} and return {} to {target}?",
                self.client.url()
            ),
        }
    }

    fn rollback_request(&self) -> Request {
        let id = self
            .tracking
            .chosen
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        self.client.request(
            "/admin/system/upgrades/rollback",
            vec![
                (
                    "versionManifest",
                    Field::Plain(serde_json::json!({ "id": id }).to_string()),
                ),
                ("rollbackSettings", Field::Plain("{}".into())),
            ],
        )
    }

    fn rejection(&self, response: &Response) -> Error {
        match envelope(response) {
            Err(error) => error,
            Ok(_) => Error::from_http_status(
                response.status,
                Problem::new(format!(
                    "{} answered HTTP {}",
                    response.url.path(),
                    response.status
                )),
            ),
        }
    }

    fn accepted(&mut self, response: &Response) -> Result<Option<String>, Error> {
        match envelope(response) {
            // A JSON error in a success status: the rollback was refused.
            Err(error @ (Error::Platform(_) | Error::Auth(_))) => return Err(error),
            Err(error) => tracing::debug!(
                "the rollback answer is not plain JSON ({error}); taken as accepted"
            ),
            Ok(_) => {}
        }
        let t = &mut self.tracking;
        t.accepted_at = Some(Instant::now());
        t.unseen_rounds = 0;
        Ok(None)
    }

    async fn health(&mut self) -> Result<Health, Error> {
        self.read_health().await
    }

    async fn settled_version(&mut self) -> Option<String> {
        self.tracking
            .chosen
            .as_ref()
            .and_then(RollbackOption::version_build)
    }
}
