//! The engine driven by a scripted platform: no server, no HTTP client.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use reqwest::{Method, Url};

use super::*;
use crate::audit::Audit;
use crate::config::Global;
use crate::config::OutputFormat;
use crate::http::{Delivery, RequestRecord, Response};
use crate::output::Printer;
use crate::platforms::{Health, HealthState};
use crate::testing::response;

/// A platform that answers reads and sends from scripts (the last read repeats).
#[derive(Default)]
struct Fake {
    reads: RefCell<VecDeque<Result<Snapshot, Error>>>,
    deliveries: RefCell<VecDeque<Delivery>>,
    read_count: Cell<usize>,
    sent: Cell<usize>,
    expected: Cell<bool>,
    /// Health reads in turn (the last repeats); none scripted: no health signal.
    healths: RefCell<VecDeque<Result<Health, Error>>>,
    health_reads: Cell<usize>,
}

fn snapshot(phase: Phase, state: &str, moving: bool) -> Snapshot {
    Snapshot {
        phase,
        platform_state: Some(state.into()),
        from_version: Some("2.0.0".into()),
        progress: state.into(),
        failure: None,
        detail: serde_json::json!({ "state": state }),
        retry_after: None,
        moving,
        next_step: None,
        next_command: None,
        events: Vec::new(),
        domains: None,
        reason: None,
    }
}

fn upgrading() -> Snapshot {
    snapshot(Phase::Upgrading, "RollingForwardInProgress", true)
}
fn rolling_back() -> Snapshot {
    snapshot(Phase::RollingBack, "RollingBackInProgress", true)
}
fn rolled_back() -> Snapshot {
    snapshot(Phase::RolledBack, "RollingBackCompleted", false)
}

impl Fake {
    fn new(reads: Vec<Snapshot>, deliveries: Vec<Delivery>) -> Self {
        Self {
            reads: RefCell::new(reads.into_iter().map(Ok).collect()),
            deliveries: RefCell::new(deliveries.into()),
            ..Self::default()
        }
    }
}

impl Rollback for Fake {
    fn record(&self, request: &Request) -> RequestRecord {
        RequestRecord {
            method: request.method.to_string(),
            url: request.url.to_string(),
            headers: serde_json::Map::new(),
            body: None,
        }
    }

    async fn send(&mut self, _: &Request) -> Delivery {
        self.sent.set(self.sent.get() + 1);
        self.deliveries
            .borrow_mut()
            .pop_front()
            .expect("a delivery scripted for every send")
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_millis(10)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        self.read_count.set(self.read_count.get() + 1);
        let mut reads = self.reads.borrow_mut();
        if reads.len() > 1 {
            return reads.pop_front().unwrap();
        }
        match reads.front().expect("a read scripted") {
            Ok(snapshot) => Ok(snapshot.clone()),
            Err(error) => Err(Error::unexpected(error.to_string())),
        }
    }

    async fn describe(&mut self, _: &Snapshot) -> Prompt {
        Prompt {
            context: Vec::new(),
            question: "Roll back?".into(),
        }
    }

    fn rollback_request(&self) -> Request {
        Request::new(
            Method::POST,
            Url::parse("https://platform.invalid/rollback").unwrap(),
        )
    }

    fn rejection(&self, response: &Response) -> Error {
        Error::from_http_status(
            response.status,
            Problem::new(format!("HTTP {}", response.status)),
        )
    }

    fn expect_rollback(&mut self) -> bool {
        self.expected.set(true);
        false
    }

    async fn health(&mut self) -> Result<Health, Error> {
        self.health_reads.set(self.health_reads.get() + 1);
        let mut healths = self.healths.borrow_mut();
        if healths.len() > 1 {
            return healths.pop_front().unwrap();
        }
        match healths.front() {
            Some(Ok(health)) => Ok(health.clone()),
            Some(Err(error)) => Err(Error::unexpected(error.to_string())),
            None => Ok(Health {
                state: HealthState::Unknown,
                settling: false,
                details: vec!["no health signal".into()],
            }),
        }
    }
}

fn global(dry_run: bool, no_wait: bool) -> Global {
    Global {
        dry_run,
        no_wait,
        timeout: Duration::from_secs(60),
        poll_interval: None,
        interactive: false,
        audit_log: None,
        verify: None,
    }
}

/// Runs `start` (or with `status`, `status --watch`) against `fake`.
async fn drive(fake: &mut Fake, global: &Global, action: &str) -> (Report, Result<(), Error>) {
    let printer = Printer::new(OutputFormat::Json, true, false);
    let audit = Audit::new(None);
    let ctx = Ctx {
        global,
        printer: &printer,
        audit: &audit,
    };
    let mut report = Report::new("fake", "t".into(), "start", "the fake", global.dry_run);
    let result = match action {
        "start" => start(fake, &ctx, &mut report).await,
        _ => status(fake, &ctx, &mut report, true).await,
    };
    (report, result)
}

fn accepted() -> Delivery {
    Delivery::Answered(response(202, b""))
}

#[tokio::test]
async fn start_sends_once_and_waits_for_the_end() {
    let mut fake = Fake::new(
        vec![upgrading(), rolling_back(), rolled_back()],
        vec![accepted()],
    );
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    result.unwrap();
    assert_eq!(fake.sent.get(), 1);
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(report.sent, Sent::Running);
    assert_eq!(report.requests.len(), 1);
    assert_eq!(
        report.platform_state.as_deref(),
        Some("RollingBackCompleted")
    );
}

#[tokio::test]
async fn a_running_rollback_is_attached_to_and_nothing_is_sent() {
    let mut fake = Fake::new(vec![rolling_back(), rolled_back()], vec![]);
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    result.unwrap();
    assert_eq!(fake.sent.get(), 0);
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(report.requests.is_empty());
}

#[tokio::test]
async fn nothing_to_roll_back_is_exit_3_and_sends_nothing() {
    let mut fake = Fake::new(
        vec![snapshot(Phase::Idle, "RollingForwardCompleted", false)],
        vec![],
    );
    let (_, result) = drive(&mut fake, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().exit_code(), 3);
    assert_eq!(fake.sent.get(), 0);
}

#[tokio::test]
async fn a_dry_run_records_the_request_and_sends_none() {
    let mut fake = Fake::new(vec![upgrading()], vec![]);
    let (report, result) = drive(&mut fake, &global(true, false), "start").await;
    result.unwrap();
    assert_eq!(fake.sent.get(), 0);
    assert_eq!(report.outcome, Outcome::WouldSend);
    assert_eq!(report.requests[0].url, "https://platform.invalid/rollback");
}

#[tokio::test]
async fn no_wait_returns_once_accepted() {
    let mut fake = Fake::new(vec![upgrading()], vec![accepted()]);
    let (report, result) = drive(&mut fake, &global(false, true), "start").await;
    result.unwrap();
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(fake.read_count.get(), 1);
}

#[tokio::test]
async fn an_ambiguous_send_is_never_repeated_and_says_so() {
    let mut fake = Fake::new(
        vec![upgrading(), upgrading()],
        vec![Delivery::Ambiguous(Error::unreachable("reset"))],
    );
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    let error = result.unwrap_err();
    assert_eq!(fake.sent.get(), 1);
    assert!(
        fake.expected.get(),
        "the platform was told to expect a rollback"
    );
    assert_eq!(error.kind(), "unconfirmed");
    assert_eq!(
        error.to_string(),
        "the rollback request may or may not have been received (reset); t is now upgrading (RollingForwardInProgress); check with `status` before trying again"
    );
    assert_eq!(report.sent, Sent::InFlight);
}

#[tokio::test]
async fn an_ambiguous_send_with_a_rollback_showing_is_waited_for() {
    let mut fake = Fake::new(
        vec![upgrading(), rolling_back(), rolled_back()],
        vec![Delivery::Answered(response(500, b"oops"))],
    );
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    result.unwrap();
    assert_eq!(fake.sent.get(), 1);
    assert_eq!(report.outcome, Outcome::RolledBack);
}

#[tokio::test(start_paused = true)]
async fn not_acted_on_is_resent_at_most_twice_after_rechecking() {
    let busy = || Delivery::Answered(response(503, b"busy"));
    let mut fake = Fake::new(vec![upgrading()], vec![busy(), busy(), busy()]);
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().exit_code(), 6);
    assert_eq!(fake.sent.get(), 3);
    // The precondition before each of the two resends.
    assert_eq!(fake.read_count.get(), 3);
    assert_eq!(report.sent, Sent::Nothing);
}

#[tokio::test(start_paused = true)]
async fn a_resend_is_not_made_when_the_precondition_changed() {
    let refused = Delivery::NotSent {
        error: Error::unreachable("refused"),
        retry: true,
    };
    let mut fake = Fake::new(
        vec![
            upgrading(),
            snapshot(Phase::Idle, "RollingForwardCompleted", false),
        ],
        vec![refused],
    );
    let (_, result) = drive(&mut fake, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().exit_code(), 3);
    assert_eq!(fake.sent.get(), 1);
}

#[tokio::test]
async fn a_refusal_that_cannot_change_is_not_retried() {
    let mut fake = Fake::new(
        vec![upgrading()],
        vec![Delivery::NotSent {
            error: Error::Auth(Problem::new("certificate refused")),
            retry: false,
        }],
    );
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().exit_code(), 4);
    assert_eq!(fake.sent.get(), 1);
    assert_eq!(report.sent, Sent::Nothing);
}

#[tokio::test]
async fn a_failed_rollback_is_exit_1_and_an_upgrade_that_ends_is_not_success() {
    let mut failed = Fake::new(
        vec![
            upgrading(),
            snapshot(Phase::Failed, "RollingBackFailed", false),
        ],
        vec![accepted()],
    );
    let (report, result) = drive(&mut failed, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().kind(), "rollback_failed");
    assert_eq!(report.phase, Phase::Failed);

    let mut forward = Fake::new(
        vec![
            upgrading(),
            snapshot(Phase::Idle, "RollingForwardCompleted", false),
        ],
        vec![accepted()],
    );
    let (_, result) = drive(&mut forward, &global(false, false), "start").await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), "rollback_failed");
    assert_eq!(
        error.to_string(),
        "the upgrade ended as RollingForwardCompleted instead of rolling back"
    );
}

#[tokio::test]
async fn a_read_error_during_the_wait_ends_it() {
    let mut fake = Fake {
        reads: RefCell::new(vec![Ok(upgrading()), Err(Error::unexpected("garbled"))].into()),
        deliveries: RefCell::new(vec![accepted()].into()),
        ..Fake::default()
    };
    let (report, result) = drive(&mut fake, &global(false, false), "start").await;
    assert_eq!(result.unwrap_err().to_string(), "garbled");
    assert_eq!(report.sent, Sent::Running, "the rollback was accepted");
}

#[tokio::test]
async fn status_watch_waits_for_a_rollback_started_elsewhere() {
    let mut fake = Fake::new(vec![rolling_back(), rolling_back(), rolled_back()], vec![]);
    let (report, result) = drive(&mut fake, &global(false, false), "status").await;
    result.unwrap();
    assert_eq!(fake.sent.get(), 0);
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(fake.read_count.get(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_a_wait_that_never_ends() {
    let mut fake = Fake::new(vec![upgrading(), rolling_back()], vec![accepted()]);
    let global = global(false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let outcome = crate::engine::wait::bounded(deadline, drive(&mut fake, &global, "start")).await;
    assert!(outcome.is_err(), "the wait was cut by the deadline");
    assert_eq!(fake.sent.get(), 1);
    // 10 ms polls for 5 s of paused time.
    assert!(fake.read_count.get() > 400, "{}", fake.read_count.get());
}

mod verify;
