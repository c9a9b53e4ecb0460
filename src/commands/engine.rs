//! `start`, `status`, a single step (`walk`) and the wait, written once for every platform.

use crate::error::{Error, Problem};
use crate::http::{Delivery, Request};
use crate::platform::{Decision, Phase, Rollback, Snapshot};
use crate::report::{Outcome, Report, Sent};
use crate::wait::{self, Step};

use super::Ctx;

/// `start`: check, confirm, send once, wait.
pub async fn start(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let snapshot = platform.read().await?;
    report.update(&snapshot);
    ctx.printer.progress(snapshot.phase, &snapshot.progress);
    let state = snapshot.platform_state.clone().unwrap_or_default();
    match platform.decide(&snapshot) {
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
                "Rollback",
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

/// Records the request, and unless this is a dry run asks (on a terminal) and sends it. The
/// first accepted request's operation id becomes the result's. `false`: a dry run, nothing sent.
/// `what` names the request in notes ("Rollback").
async fn send_confirmed(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: &str,
    question: &str,
) -> Result<bool, Error> {
    report.requests.push(platform.http().record(request));
    if ctx.global.dry_run {
        report.outcome = Outcome::WouldSend;
        return Ok(false);
    }
    if ctx.global.interactive && !ctx.printer.confirm(question)? {
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

/// Sends a mutating request at most once. When the answer leaves it unclear whether the
/// platform acted on it, the state is read again instead of sending a second time.
async fn send(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: &str,
) -> Result<Option<String>, Error> {
    let before = report.sent;
    report.sent = Sent::InFlight;
    let delivery = platform.http().send_once(request).await;
    if let (Delivery::Answered(response), Some(record)) = (&delivery, report.requests.last_mut()) {
        // A redirect was followed: the result shows where the request was finally sent.
        record.url = response.url.to_string();
    }
    let doubt = match delivery {
        Delivery::Answered(response) if response.is_success() => {
            let operation = platform
                .accepted(&response)
                .inspect_err(|_| report.sent = before)?;
            report.sent = Sent::Running;
            ctx.printer.note(
                Phase::RollingBack,
                &format!("{what} accepted (HTTP {}).", response.status),
            );
            return Ok(operation);
        }
        Delivery::Answered(response) => {
            let error = platform.rejection(&response);
            let unclear = matches!(response.status, 500 | 502 | 504);
            if !unclear {
                report.sent = before;
                if !matches!(error, Error::NothingToRollBack(_)) {
                    return Err(error);
                }
                // The upgrade may have ended, or someone else rolled it back, since we looked.
            }
            error
        }
        Delivery::Ambiguous(error) => error,
        Delivery::NotSent(error) => {
            report.sent = before;
            return Err(error);
        }
    };
    ctx.printer.note(
        report.phase,
        &format!("{doubt}; reading the state again instead of sending the request twice."),
    );
    match platform.read().await {
        Ok(snapshot) => {
            report.update(&snapshot);
            if matches!(snapshot.phase, Phase::RollingBack | Phase::RolledBack) {
                report.sent = Sent::Running;
                Ok(None)
            } else {
                Err(doubt)
            }
        }
        Err(read_error) => {
            tracing::debug!("re-reading the state failed: {read_error}");
            Err(doubt)
        }
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
    if !send_confirmed(platform, ctx, report, request, what, question).await? {
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
                &step.what,
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
