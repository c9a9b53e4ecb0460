//! The result document: what a run did, in the shape every platform shares (docs/json-output.md).

use std::sync::{Mutex, TryLockError};
use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::error::{Error, ErrorDoc};
use crate::http::RequestRecord;
use crate::platforms::{Health, HealthState, Phase, Progress, Snapshot};

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    RolledBack,
    Accepted,
    InProgress,
    NothingToRollBack,
    Failed,
    TimedOut,
    WouldSend,
    Status,
    Error,
}

/// The result document printed with `--json` and last in `--output jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub platform: &'static str,
    pub target: String,
    pub action: &'static str,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub phase: Phase,
    pub platform_state: Option<String>,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub operation_id: Option<String>,
    /// Why the upgrade failed or was rolled back, in one line, when the platform says.
    pub reason: Option<String>,
    /// Upgrade domains done out of all, from the latest reading; `null` without domains.
    pub progress: Option<Progress>,
    pub started_at: String,
    pub finished_at: String,
    pub elapsed_ms: u64,
    pub dry_run: bool,
    pub requests: Requests,
    pub error: Option<ErrorDoc>,
    /// What to do next when the run leaves the user stuck: one line, often a command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `--verify`'s verdict: the last health read; `null` without `--verify`.
    pub health: Option<HealthDoc>,
    pub detail: serde_json::Value,
    /// The command that moves the platform on, from the latest reading ([`Snapshot::next_command`]).
    #[serde(skip)]
    pub next_command: Option<Vec<String>>,
    /// Where the rollback stands from this run's point of view.
    #[serde(skip)]
    pub sent: Sent,
    /// The latest progress line, for the text output.
    #[serde(skip)]
    pub summary: Option<String>,
    /// Where the operation runs ("the cluster"), for messages.
    #[serde(skip)]
    pub place: &'static str,
    /// The step the command sends instead of a rollback, for messages ([`Describe::step`]).
    ///
    /// [`Describe::step`]: crate::platforms::Describe::step
    #[serde(skip)]
    pub step: Option<&'static str>,
    #[serde(skip)]
    started: Instant,
}

/// The result's `health`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthDoc {
    pub state: HealthState,
    pub checked_at: String,
    /// What is unhealthy, the first entity first; or why the state is unknown.
    pub details: Vec<String>,
}

impl HealthDoc {
    pub fn new(health: &Health) -> Self {
        Self {
            state: health.state,
            checked_at: now_rfc3339(),
            details: health.details.clone(),
        }
    }
}

/// Whether a rollback is running because of (or seen by) this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// No rollback request left this process.
    Nothing,
    /// The request was on its way; the server may or may not have it.
    InFlight,
    /// A rollback is running: ours was accepted, or one was found running.
    Running,
}

impl Report {
    pub fn new(
        platform: &'static str,
        target: String,
        action: &'static str,
        place: &'static str,
        dry_run: bool,
    ) -> Self {
        Self {
            schema_version: 1,
            platform,
            target,
            action,
            outcome: Outcome::Status,
            exit_code: 0,
            phase: Phase::Unknown,
            platform_state: None,
            from_version: None,
            to_version: None,
            operation_id: None,
            reason: None,
            progress: None,
            started_at: now_rfc3339(),
            finished_at: String::new(),
            elapsed_ms: 0,
            dry_run,
            requests: Requests::default(),
            error: None,
            next: None,
            health: None,
            detail: serde_json::Value::Null,
            next_command: None,
            sent: Sent::Nothing,
            summary: None,
            place,
            step: None,
            started: Instant::now(),
        }
        .published()
    }

    /// Closes the document: the outcome and exit code of an error, the end time.
    pub fn finish(&mut self, result: Result<(), Error>, if_upgrading: bool) {
        if let Err(error) = result {
            self.outcome = match &error {
                Error::NothingToRollBack(_) => Outcome::NothingToRollBack,
                Error::RollbackFailed(_) => Outcome::Failed,
                Error::TimedOut(_) => Outcome::TimedOut,
                // The rollback completed: what went wrong after it does not undo that.
                Error::Unhealthy(_) => Outcome::RolledBack,
                Error::Interrupted(_) | Error::Signal(..)
                    if self.outcome == Outcome::RolledBack =>
                {
                    Outcome::RolledBack
                }
                Error::Interrupted(_) | Error::Signal(..) if self.sent == Sent::Running => {
                    Outcome::InProgress
                }
                _ => Outcome::Error,
            };
            if matches!(error, Error::NothingToRollBack(_)) && if_upgrading {
                // The caller said "only if upgrading": an expected, successful end.
                self.exit_code = 0;
                self.summary = Some(error.to_string());
            } else {
                self.exit_code = error.exit_code();
                self.error = Some(error.to_doc());
            }
        }
        self.finished_at = now_rfc3339();
        self.elapsed_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    }
}

impl Report {
    /// Takes in a new reading of the platform's state.
    pub fn update(&mut self, snapshot: &Snapshot) {
        self.phase = snapshot.phase;
        self.platform_state.clone_from(&snapshot.platform_state);
        if snapshot.from_version.is_some() {
            self.from_version.clone_from(&snapshot.from_version);
        }
        self.detail = snapshot.detail.clone();
        if snapshot.reason.is_some() {
            self.reason.clone_from(&snapshot.reason);
        }
        self.progress.clone_from(&snapshot.domains);
        self.next_command.clone_from(&snapshot.next_command);
        self.summary = Some(snapshot.progress.clone());
        publish(self);
    }

    fn published(self) -> Self {
        publish(&self);
        self
    }
}

/// The mutating requests of a run, in the order they were recorded. Each push also reaches the
/// crash snapshot, so that a panic still reports what was sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Requests(Vec<RequestRecord>);

impl Requests {
    pub fn push(&mut self, record: RequestRecord) {
        self.0.push(record);
        *lock(&SENT) = Some(self.0.clone());
    }

    /// The last request was finally sent to `url` (a redirect was followed).
    pub fn sent_to(&mut self, url: String) {
        if let Some(last) = self.0.last_mut() {
            last.url = url;
            *lock(&SENT) = Some(self.0.clone());
        }
    }
}

impl std::ops::Deref for Requests {
    type Target = [RequestRecord];

    fn deref(&self) -> &[RequestRecord] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a Requests {
    type Item = &'a RequestRecord;
    type IntoIter = std::slice::Iter<'a, RequestRecord>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

// What the panic hook can still report: the document as of the last reading (or its creation)
// and the requests recorded since. Kept apart from `Report` so that a panic anywhere, with the
// report borrowed up the stack, can read it.
static LAST: Mutex<Option<Report>> = Mutex::new(None);
static SENT: Mutex<Option<Vec<RequestRecord>>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn publish(report: &Report) {
    *lock(&LAST) = Some(report.clone());
}

/// The result document of a run that panicked: what the run knew (platform, target, action,
/// the last state read, the requests recorded), with `outcome` `error` and `error.kind`
/// `internal`. `None` when no run had begun, or when the panic struck while the snapshot was
/// being written.
pub fn crash_report(message: &str) -> Option<Report> {
    let report = match LAST.try_lock() {
        Ok(last) => last.clone()?,
        Err(TryLockError::Poisoned(last)) => last.into_inner().clone()?,
        Err(TryLockError::WouldBlock) => return None,
    };
    let sent = match SENT.try_lock() {
        Ok(sent) => sent.clone(),
        Err(TryLockError::Poisoned(sent)) => sent.into_inner().clone(),
        Err(TryLockError::WouldBlock) => None,
    };
    Some(crash_document(report, sent, message))
}

fn crash_document(mut report: Report, sent: Option<Vec<RequestRecord>>, message: &str) -> Report {
    if let Some(sent) = sent {
        report.requests = Requests(sent);
    }
    report.finish(
        Err(Error::Internal(crate::error::Problem::new(message))),
        false,
    );
    report
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_document_carries_what_the_run_knew() {
        let mut report = Report::new("sf-app", "myapp~app1".into(), "start", "the cluster", false);
        report.update(&Snapshot {
            phase: Phase::RollingBack,
            platform_state: Some("RollingBackInProgress".into()),
            from_version: Some("2.0.0".into()),
            progress: "RollingBackInProgress".into(),
            failure: None,
            detail: serde_json::json!({"UpgradeState": "RollingBackInProgress"}),
            retry_after: None,
            moving: true,
            next_step: None,
            next_command: None,
            events: Vec::new(),
            domains: None,
            reason: None,
        });
        report.sent = Sent::Running;
        let record = RequestRecord {
            method: "POST".into(),
            url: "http://127.0.0.1:1/$/RollbackUpgrade".into(),
            headers: serde_json::Map::new(),
            body: None,
        };
        let doc = crash_document(report, Some(vec![record.clone()]), "internal error: boom");
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value["platform"], "sf-app");
        assert_eq!(value["target"], "myapp~app1");
        assert_eq!(value["action"], "start");
        assert_eq!(value["outcome"], "error");
        assert_eq!(value["exit_code"], 1);
        assert_eq!(value["phase"], "rolling_back");
        assert_eq!(value["platform_state"], "RollingBackInProgress");
        assert_eq!(value["from_version"], "2.0.0");
        assert_eq!(
            value["requests"],
            serde_json::to_value(vec![record]).unwrap()
        );
        assert_eq!(
            value["error"],
            serde_json::json!({"kind": "internal", "message": "internal error: boom", "http_status": null, "platform_code": null})
        );
        assert_eq!(value["detail"]["UpgradeState"], "RollingBackInProgress");
        assert!(humantime::parse_rfc3339(value["finished_at"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn pushed_requests_are_published() {
        let mut requests = Requests::default();
        let record = RequestRecord {
            method: "POST".into(),
            url: "http://127.0.0.1:1/x".into(),
            headers: serde_json::Map::new(),
            body: None,
        };
        requests.push(record.clone());
        assert_eq!(&*requests, std::slice::from_ref(&record));
        assert!(lock(&SENT).as_ref().is_some_and(|s| s.contains(&record)));
    }
}
