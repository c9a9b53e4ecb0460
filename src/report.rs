//! The result document: what a run did, in the shape every platform shares (DESIGN.md).

use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::error::{Error, ErrorDoc};
use crate::http::RequestRecord;
use crate::platform::Snapshot;

/// The normalized state every platform maps its own states into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Upgrading,
    RollingBack,
    RolledBack,
    Failed,
    Unknown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Upgrading => "upgrading",
            Self::RollingBack => "rolling_back",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// Whether an upgrade or rollback is still moving.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Upgrading | Self::RollingBack)
    }
}

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
#[derive(Debug, Serialize)]
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
    pub started_at: String,
    pub finished_at: String,
    pub elapsed_ms: u64,
    pub dry_run: bool,
    pub requests: Vec<RequestRecord>,
    pub error: Option<ErrorDoc>,
    pub detail: serde_json::Value,
    /// Where the rollback stands from this run's point of view.
    #[serde(skip)]
    pub sent: Sent,
    /// The latest progress line, for the text output.
    #[serde(skip)]
    pub summary: Option<String>,
    /// Where the operation runs ("the cluster"), for messages.
    #[serde(skip)]
    pub place: &'static str,
    #[serde(skip)]
    started: Instant,
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
            started_at: now_rfc3339(),
            finished_at: String::new(),
            elapsed_ms: 0,
            dry_run,
            requests: Vec::new(),
            error: None,
            detail: serde_json::Value::Null,
            sent: Sent::Nothing,
            summary: None,
            place,
            started: Instant::now(),
        }
    }

    /// Closes the document: the outcome and exit code of an error, the end time.
    pub fn finish(&mut self, result: Result<(), Error>, if_upgrading: bool) {
        if let Err(error) = result {
            self.outcome = match &error {
                Error::NothingToRollBack(_) => Outcome::NothingToRollBack,
                Error::RollbackFailed(_) => Outcome::Failed,
                Error::TimedOut(_) => Outcome::TimedOut,
                Error::Interrupted(_) if self.sent == Sent::Running => Outcome::InProgress,
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
        self.summary = Some(snapshot.progress.clone());
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
