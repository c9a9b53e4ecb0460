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
    report.requests.push(platform.http().record(request));
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
        let delivery = platform.http().send_once(request).await;
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
