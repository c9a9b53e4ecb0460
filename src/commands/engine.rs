//! `start`, `status`, a single step (`walk`) and the wait, written once for every platform.

use std::time::{Duration, SystemTime};

use crate::audit::{Delivered, Kind, Prior};
use crate::error::{Error, Problem};
use crate::http::{Delivery, Request, Response, SEND_RETRY_STATUSES, backoff};
use crate::platform::{Decision, Phase, Rollback, Snapshot};
use crate::report::{Outcome, Report, Sent};
use crate::wait::{self, Step};

use super::Ctx;

/// Times a mutating request is sent again after the platform provably did not act on it
/// (no connection, 429, 503), each time after checking the precondition again.
const MAX_RESENDS: u32 = 2;

/// `start`: check, confirm, send once, wait.
pub async fn start(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let mut snapshot = platform.read().await?;
    report.update(&snapshot);
    ctx.printer.progress(snapshot.phase, &snapshot.progress);
    let mut decision = platform.decide(&snapshot);
    // Only where the platform may not show that rollback yet: a completed rollback it does
    // show needs no guessing.
    let unsettled = match decision {
        Decision::RollBack => true,
        Decision::Nothing(_) => snapshot.moving,
        Decision::Attach | Decision::Refuse(_) => false,
    };
    if unsettled
        && let Some(prior) = recent_rollback(platform, ctx, report)
        && platform.expect_rollback()
    {
        // A retried CI step, or a second `start` right after `--no-wait`: the platform may not
        // show that rollback yet. Look for it instead of sending another.
        let ago = SystemTime::now()
            .duration_since(prior.at)
            .unwrap_or_default()
            .as_secs();
        let fate = match prior.outcome {
            Delivered::Accepted => "accepted",
            _ => "its fate unknown",
        };
        ctx.printer.note(
            snapshot.phase,
            &format!(
                "A rollback of {} was sent from this machine {ago}s ago ({fate}; audit log {}): looking for it instead of sending another.",
                report.target,
                ctx.audit.path().map(|p| p.display().to_string()).unwrap_or_default()
            ),
        );
        snapshot = platform.read().await?;
        report.update(&snapshot);
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        decision = platform.decide(&snapshot);
        if matches!(decision, Decision::RollBack) {
            ctx.printer.note(
                snapshot.phase,
                "The platform shows no rollback running: sending one.",
            );
        }
    }
    let state = snapshot.platform_state.clone().unwrap_or_default();
    match decision {
        Decision::Nothing(reason) => {
            return Err(Error::NothingToRollBack(Problem::new(format!(
                "nothing to roll back for {}: {reason}",
                report.target
            ))));
        }
        Decision::Refuse(error) => return Err(error),
        Decision::Attach => {
            report.sent = Sent::Running;
            if ctx.global.dry_run {
                report.outcome = Outcome::WouldSend;
                return Ok(());
            }
            ctx.printer.note(
                snapshot.phase,
                &format!("A rollback is already running ({state}); waiting for it instead of sending another."),
            );
            if ctx.global.no_wait {
                report.outcome = Outcome::InProgress;
                return Ok(());
            }
        }
        Decision::RollBack => {
            platform.prepare(&snapshot).await?;
            let request = platform.rollback_request();
            if !send_confirmed(
                platform,
                ctx,
                report,
                &request,
                (Kind::Rollback, "Rollback"),
                &platform.describe(&snapshot),
            )
            .await?
            {
                return Ok(());
            }
            if ctx.global.no_wait {
                report.outcome = Outcome::Accepted;
                return Ok(());
            }
        }
    }
    wait_for_end(platform, ctx, report, true).await
}

/// The rollback request this machine sent to the same target moments ago, if any.
fn recent_rollback(platform: &impl Rollback, ctx: &Ctx<'_>, report: &Report) -> Option<Prior> {
    let url = platform.rollback_request().url;
    ctx.audit
        .recent_rollback(report.platform, &report.target, url.as_str())
}

/// Records the request, and unless this is a dry run asks (on a terminal) and sends it. The
/// first accepted request's operation id becomes the result's. `false`: a dry run, nothing sent.
/// `what` says what the request is, and names it in notes ("Rollback").
async fn send_confirmed(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: (Kind, &str),
    question: &str,
) -> Result<bool, Error> {
    report.requests.push(platform.record(request));
    if ctx.global.dry_run {
        report.outcome = Outcome::WouldSend;
        return Ok(false);
    }
    if ctx.global.interactive && !ctx.printer.confirm(question).await? {
        let sent = if report.requests.len() > 1 {
            "nothing more was sent"
        } else {
            "nothing was sent"
        };
        return Err(Error::Interrupted(Problem::new(format!(
            "not confirmed; {sent}"
        ))));
    }
    let operation = send(platform, ctx, report, request, what).await?;
    if report.operation_id.is_none() {
        report.operation_id = operation;
    }
    Ok(true)
}

/// Sends a mutating request at most once, unless the platform provably did not act on it (no
/// connection, 429, 503): then, after checking the precondition again, at most
/// [`MAX_RESENDS`] more times. When it may or may not have been received, the state is read
/// again instead of sending it a second time.
async fn send(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    (kind, what): (Kind, &str),
) -> Result<Option<String>, Error> {
    let before = report.sent;
    let mut resends = 0;
    loop {
        report.sent = Sent::InFlight;
        let delivery = platform.send(request).await;
        if let Delivery::Answered(response) = &delivery {
            // A redirect was followed: the result shows where the request was finally sent.
            report.requests.sent_to(response.url.to_string());
        }
        let (error, delay) = match delivery {
            Delivery::Answered(response) if response.is_success() => {
                let judged = platform.accepted(&response);
                let fate = if judged.is_ok() {
                    Delivered::Accepted
                } else {
                    Delivered::Refused
                };
                audit(ctx, report, request, kind, fate, Some(&response));
                let operation = judged.inspect_err(|_| report.sent = before)?;
                report.sent = Sent::Running;
                ctx.printer.note(
                    Phase::RollingBack,
                    &format!("{what} accepted (HTTP {}).", response.status),
                );
                return Ok(operation);
            }
            Delivery::Answered(response) => {
                let error = platform.rejection(&response);
                // 500/502/504: the server (or a gateway in front of it) failed while handling
                // it, so it may have acted; 429/503 and the rest: it did not.
                let unclear = matches!(response.status, 500 | 502 | 504);
                let fate = if unclear {
                    Delivered::Ambiguous
                } else {
                    Delivered::Refused
                };
                audit(ctx, report, request, kind, fate, Some(&response));
                if unclear {
                    return settle_doubt(platform, ctx, report, (kind, what), error).await;
                }
                if SEND_RETRY_STATUSES.contains(&response.status) {
                    (error, response.retry_after().filter(|d| !d.is_zero()))
                } else {
                    report.sent = before;
                    if !matches!(error, Error::NothingToRollBack(_)) {
                        return Err(error);
                    }
                    // The upgrade may have ended, or someone else rolled it back, since we
                    // looked.
                    return look_again(platform, ctx, report, error).await;
                }
            }
            Delivery::Ambiguous(error) => {
                audit(ctx, report, request, kind, Delivered::Ambiguous, None);
                return settle_doubt(platform, ctx, report, (kind, what), error).await;
            }
            Delivery::NotSent { error, retry } => {
                audit(ctx, report, request, kind, Delivered::NotSent, None);
                if !retry {
                    report.sent = before;
                    return Err(error);
                }
                (error, None)
            }
        };
        // Provably not acted on.
        report.sent = before;
        if resends == MAX_RESENDS {
            return Err(error);
        }
        let delay = delay.unwrap_or_else(|| backoff(resends));
        resends += 1;
        ctx.printer.note(
            report.phase,
            &format!(
                "{what} not taken ({error}); checking the state again before sending it again in {}.",
                humantime::format_duration(Duration::from_millis(
                    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
                ))
            ),
        );
        tokio::time::sleep(delay).await;
        let snapshot = platform.read().await?;
        report.update(&snapshot);
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        match kind {
            Kind::Rollback => match platform.decide(&snapshot) {
                Decision::RollBack => {}
                Decision::Attach => {
                    report.sent = Sent::Running;
                    ctx.printer.note(
                        snapshot.phase,
                        "A rollback is running now; waiting for it instead of sending another.",
                    );
                    return Ok(None);
                }
                Decision::Nothing(reason) => {
                    return Err(Error::NothingToRollBack(Problem::new(format!(
                        "nothing to roll back for {} any more: {reason}",
                        report.target
                    ))));
                }
                Decision::Refuse(error) => return Err(error),
            },
            Kind::Step if !snapshot.phase.is_active() => {
                return Err(Error::Platform(Problem::new(format!(
                    "the {} was not taken, and {} now reports {} ({}); it was not sent again",
                    what.to_lowercase(),
                    report.target,
                    snapshot.phase.as_str(),
                    snapshot.platform_state.as_deref().unwrap_or("no state")
                ))));
            }
            Kind::Step => {}
        }
    }
}

/// After the platform refused the rollback as having nothing to roll back: a rollback that
/// started meanwhile is waited for; otherwise the refusal stands.
async fn look_again(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    refusal: Error,
) -> Result<Option<String>, Error> {
    ctx.printer.note(
        report.phase,
        &format!("{refusal}; reading the state again."),
    );
    match platform.read().await {
        Ok(snapshot) if matches!(snapshot.phase, Phase::RollingBack | Phase::RolledBack) => {
            report.update(&snapshot);
            report.sent = Sent::Running;
            Ok(None)
        }
        Ok(snapshot) => {
            report.update(&snapshot);
            Err(refusal)
        }
        Err(read_error) => {
            tracing::debug!("re-reading the state failed: {read_error}");
            Err(refusal)
        }
    }
}

/// The request may or may not have been received: never send it again; read the state and
/// wait for the rollback if it shows one, otherwise say plainly that nobody knows.
async fn settle_doubt(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    (kind, what): (Kind, &str),
    doubt: Error,
) -> Result<Option<String>, Error> {
    ctx.printer.note(
        report.phase,
        &format!("{doubt}; reading the state again instead of sending the request twice."),
    );
    if kind == Kind::Rollback {
        platform.expect_rollback();
    }
    let unconfirmed = |now: String| {
        let problem = doubt.problem();
        Error::Unconfirmed(Problem {
            message: format!(
                "the {} request may or may not have been received ({doubt}); {now}; check with `status` before trying again",
                what.to_lowercase()
            ),
            ..problem
        })
    };
    match platform.read().await {
        Ok(snapshot) => {
            report.update(&snapshot);
            ctx.printer.progress(snapshot.phase, &snapshot.progress);
            // A rollback shows, or the platform, told to expect one, is waiting for it to show.
            let shows = matches!(snapshot.phase, Phase::RollingBack | Phase::RolledBack)
                || (kind == Kind::Rollback
                    && matches!(platform.decide(&snapshot), Decision::Attach));
            if shows {
                report.sent = Sent::Running;
                return Ok(None);
            }
            Err(unconfirmed(format!(
                "{} is now {} ({})",
                report.target,
                snapshot.phase.as_str(),
                snapshot.platform_state.as_deref().unwrap_or("no state")
            )))
        }
        Err(read_error) => Err(unconfirmed(format!(
            "reading the state afterwards failed: {read_error}"
        ))),
    }
}

/// Appends a sent request to the audit trail; a failure to write it is a warning.
fn audit(
    ctx: &Ctx<'_>,
    report: &Report,
    request: &Request,
    kind: Kind,
    fate: Delivered,
    response: Option<&Response>,
) {
    let outcome = serde_json::to_value(fate)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut entry = ctx
        .audit
        .entry("request", report.platform, &report.target, &outcome);
    entry.kind = Some(kind);
    entry.method = Some(request.method.to_string());
    entry.url = Some(request.url.to_string());
    if let Some(response) = response {
        entry.http_status = Some(response.status);
        if response.url != request.url {
            entry.sent_to = Some(response.url.to_string());
        }
    }
    if let Err(warning) = ctx.audit.append(&entry) {
        ctx.printer.warn(&warning);
    }
}

/// `status`: one reading, or with `watch` a wait until the platform settles.
pub async fn status(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    watch: bool,
) -> Result<(), Error> {
    let snapshot = platform.read().await?;
    report.update(&snapshot);
    report.outcome = Outcome::Status;
    if watch && snapshot.moving {
        let rolling_back = snapshot.phase == Phase::RollingBack;
        if rolling_back {
            report.sent = Sent::Running;
        }
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        return wait_for_end(platform, ctx, report, rolling_back).await;
    }
    Ok(())
}

/// A single mutating step outside a rollback (`cloudsvc walk`): confirm, send once, wait for
/// the platform to finish it, report the state it leaves.
pub async fn step(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: &str,
    question: &str,
) -> Result<(), Error> {
    if !send_confirmed(platform, ctx, report, request, (Kind::Step, what), question).await? {
        return Ok(());
    }
    if ctx.global.no_wait {
        report.outcome = Outcome::Accepted;
        return Ok(());
    }
    let last = poll_until_still(platform, ctx, report, &mut false).await?;
    if last.phase == Phase::Failed {
        return Err(Error::RollbackFailed(
            last.failure
                .unwrap_or_else(|| Problem::new("the operation failed")),
        ));
    }
    report.outcome = Outcome::Status;
    Ok(())
}

/// Polls until the platform stops moving, sending the steps it asks for on the way.
async fn poll_until_still(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    rolling_back: &mut bool,
) -> Result<Snapshot, Error> {
    let interval = ctx
        .global
        .poll_interval
        .unwrap_or_else(|| platform.default_poll_interval());
    wait::poll(interval, async || {
        let snapshot = platform.read().await?;
        report.update(&snapshot);
        for event in &snapshot.events {
            ctx.printer.note(snapshot.phase, event);
        }
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        if snapshot.phase == Phase::RollingBack {
            *rolling_back = true;
            report.sent = Sent::Running;
        }
        if let Some(step) = &snapshot.next_step {
            ctx.printer.note(snapshot.phase, &step.note);
            send_confirmed(
                platform,
                ctx,
                report,
                &step.request,
                (Kind::Step, &step.what),
                &step.question,
            )
            .await?;
        }
        Ok(if snapshot.moving {
            Step::Continue {
                retry_after: snapshot.retry_after,
            }
        } else {
            Step::Done(snapshot)
        })
    })
    .await
}

/// Polls until the platform reports a final state and judges it. `rolling_back`: a rollback
/// is known to be running, so only its completion counts as success.
async fn wait_for_end(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    mut rolling_back: bool,
) -> Result<(), Error> {
    let last = poll_until_still(platform, ctx, report, &mut rolling_back).await?;
    let state = last.platform_state.as_deref().unwrap_or("no state");
    match last.phase {
        Phase::RolledBack => {
            report.outcome = Outcome::RolledBack;
            report.to_version = platform.settled_version().await;
            Ok(())
        }
        Phase::Failed => {
            Err(Error::RollbackFailed(last.failure.unwrap_or_else(|| {
                Problem::new(format!("the rollback failed ({state})"))
            })))
        }
        Phase::Idle if rolling_back => Err(Error::RollbackFailed(Problem::new(format!(
            "the upgrade ended as {state} instead of rolling back"
        )))),
        Phase::Idle => {
            report.outcome = Outcome::Status;
            Ok(())
        }
        Phase::Unknown | Phase::Upgrading | Phase::RollingBack => {
            Err(Error::Unexpected(last.failure.unwrap_or_else(|| {
                Problem::new(format!(
                    "the platform reports a state the tool does not know: {state}"
                ))
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The engine driven by a scripted platform: no server, no HTTP client.

    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::time::Duration;

    use reqwest::{Method, Url};

    use super::*;
    use crate::audit::Audit;
    use crate::cli::OutputFormat;
    use crate::http::RequestRecord;
    use crate::output::Printer;
    use crate::settings::Global;
    use crate::testing::response;

    /// A platform that answers reads and sends from scripts (the last read repeats).
    #[derive(Default)]
    struct Fake {
        reads: RefCell<VecDeque<Result<Snapshot, Error>>>,
        deliveries: RefCell<VecDeque<Delivery>>,
        read_count: Cell<usize>,
        sent: Cell<usize>,
        expected: Cell<bool>,
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
            events: Vec::new(),
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

        async fn send(&self, _: &Request) -> Delivery {
            self.sent.set(self.sent.get() + 1);
            self.deliveries
                .borrow_mut()
                .pop_front()
                .expect("a delivery scripted for every send")
        }

        fn default_poll_interval(&self) -> Duration {
            Duration::from_millis(10)
        }

        async fn read(&self) -> Result<Snapshot, Error> {
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

        fn describe(&self, _: &Snapshot) -> String {
            "Roll back?".into()
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

        fn expect_rollback(&self) -> bool {
            self.expected.set(true);
            false
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
        }
    }

    /// Runs `start` (or with `status`, `status --watch`) against `fake`.
    async fn drive(fake: &Fake, global: &Global, action: &str) -> (Report, Result<(), Error>) {
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
        let fake = Fake::new(
            vec![upgrading(), rolling_back(), rolled_back()],
            vec![accepted()],
        );
        let (report, result) = drive(&fake, &global(false, false), "start").await;
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
        let fake = Fake::new(vec![rolling_back(), rolled_back()], vec![]);
        let (report, result) = drive(&fake, &global(false, false), "start").await;
        result.unwrap();
        assert_eq!(fake.sent.get(), 0);
        assert_eq!(report.outcome, Outcome::RolledBack);
        assert!(report.requests.is_empty());
    }

    #[tokio::test]
    async fn nothing_to_roll_back_is_exit_3_and_sends_nothing() {
        let fake = Fake::new(
            vec![snapshot(Phase::Idle, "RollingForwardCompleted", false)],
            vec![],
        );
        let (_, result) = drive(&fake, &global(false, false), "start").await;
        assert_eq!(result.unwrap_err().exit_code(), 3);
        assert_eq!(fake.sent.get(), 0);
    }

    #[tokio::test]
    async fn a_dry_run_records_the_request_and_sends_none() {
        let fake = Fake::new(vec![upgrading()], vec![]);
        let (report, result) = drive(&fake, &global(true, false), "start").await;
        result.unwrap();
        assert_eq!(fake.sent.get(), 0);
        assert_eq!(report.outcome, Outcome::WouldSend);
        assert_eq!(report.requests[0].url, "https://platform.invalid/rollback");
    }

    #[tokio::test]
    async fn no_wait_returns_once_accepted() {
        let fake = Fake::new(vec![upgrading()], vec![accepted()]);
        let (report, result) = drive(&fake, &global(false, true), "start").await;
        result.unwrap();
        assert_eq!(report.outcome, Outcome::Accepted);
        assert_eq!(fake.read_count.get(), 1);
    }

    #[tokio::test]
    async fn an_ambiguous_send_is_never_repeated_and_says_so() {
        let fake = Fake::new(
            vec![upgrading(), upgrading()],
            vec![Delivery::Ambiguous(Error::unreachable("reset"))],
        );
        let (report, result) = drive(&fake, &global(false, false), "start").await;
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
        let fake = Fake::new(
            vec![upgrading(), rolling_back(), rolled_back()],
            vec![Delivery::Answered(response(500, b"oops"))],
        );
        let (report, result) = drive(&fake, &global(false, false), "start").await;
        result.unwrap();
        assert_eq!(fake.sent.get(), 1);
        assert_eq!(report.outcome, Outcome::RolledBack);
    }

    #[tokio::test(start_paused = true)]
    async fn not_acted_on_is_resent_at_most_twice_after_rechecking() {
        let busy = || Delivery::Answered(response(503, b"busy"));
        let fake = Fake::new(vec![upgrading()], vec![busy(), busy(), busy()]);
        let (report, result) = drive(&fake, &global(false, false), "start").await;
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
        let fake = Fake::new(
            vec![
                upgrading(),
                snapshot(Phase::Idle, "RollingForwardCompleted", false),
            ],
            vec![refused],
        );
        let (_, result) = drive(&fake, &global(false, false), "start").await;
        assert_eq!(result.unwrap_err().exit_code(), 3);
        assert_eq!(fake.sent.get(), 1);
    }

    #[tokio::test]
    async fn a_refusal_that_cannot_change_is_not_retried() {
        let fake = Fake::new(
            vec![upgrading()],
            vec![Delivery::NotSent {
                error: Error::Auth(Problem::new("certificate refused")),
                retry: false,
            }],
        );
        let (report, result) = drive(&fake, &global(false, false), "start").await;
        assert_eq!(result.unwrap_err().exit_code(), 4);
        assert_eq!(fake.sent.get(), 1);
        assert_eq!(report.sent, Sent::Nothing);
    }

    #[tokio::test]
    async fn a_failed_rollback_is_exit_1_and_an_upgrade_that_ends_is_not_success() {
        let failed = Fake::new(
            vec![
                upgrading(),
                snapshot(Phase::Failed, "RollingBackFailed", false),
            ],
            vec![accepted()],
        );
        let (report, result) = drive(&failed, &global(false, false), "start").await;
        assert_eq!(result.unwrap_err().kind(), "rollback_failed");
        assert_eq!(report.phase, Phase::Failed);

        let forward = Fake::new(
            vec![
                upgrading(),
                snapshot(Phase::Idle, "RollingForwardCompleted", false),
            ],
            vec![accepted()],
        );
        let (_, result) = drive(&forward, &global(false, false), "start").await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), "rollback_failed");
        assert_eq!(
            error.to_string(),
            "the upgrade ended as RollingForwardCompleted instead of rolling back"
        );
    }

    #[tokio::test]
    async fn a_read_error_during_the_wait_ends_it() {
        let fake = Fake {
            reads: RefCell::new(vec![Ok(upgrading()), Err(Error::unexpected("garbled"))].into()),
            deliveries: RefCell::new(vec![accepted()].into()),
            ..Fake::default()
        };
        let (report, result) = drive(&fake, &global(false, false), "start").await;
        assert_eq!(result.unwrap_err().to_string(), "garbled");
        assert_eq!(report.sent, Sent::Running, "the rollback was accepted");
    }

    #[tokio::test]
    async fn status_watch_waits_for_a_rollback_started_elsewhere() {
        let fake = Fake::new(vec![rolling_back(), rolling_back(), rolled_back()], vec![]);
        let (report, result) = drive(&fake, &global(false, false), "status").await;
        result.unwrap();
        assert_eq!(fake.sent.get(), 0);
        assert_eq!(report.outcome, Outcome::RolledBack);
        assert_eq!(fake.read_count.get(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_a_wait_that_never_ends() {
        let fake = Fake::new(vec![upgrading(), rolling_back()], vec![accepted()]);
        let global = global(false, false);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let outcome = crate::wait::bounded(deadline, drive(&fake, &global, "start")).await;
        assert!(outcome.is_err(), "the wait was cut by the deadline");
        assert_eq!(fake.sent.get(), 1);
        // 10 ms polls for 5 s of paused time.
        assert!(fake.read_count.get() > 400, "{}", fake.read_count.get());
    }
}
