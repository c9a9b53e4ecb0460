//! `start`, `status` and the wait, written once for every platform.

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
            let request = platform.rollback_request();
            report.requests.push(platform.http().record(&request));
            if ctx.global.dry_run {
                report.outcome = Outcome::WouldSend;
                return Ok(());
            }
            if ctx.global.interactive && !ctx.printer.confirm(&platform.describe(&snapshot))? {
                return Err(Error::Interrupted(Problem::new(
                    "not confirmed; no rollback was sent",
                )));
            }
            send(platform, ctx, report, &request).await?;
            if ctx.global.no_wait {
                report.outcome = Outcome::Accepted;
                return Ok(());
            }
        }
    }
    wait_for_end(platform, ctx, report, true).await
}

/// Sends the rollback at most once. When the answer leaves it unclear whether the platform
/// acted on it, the state is read again instead of sending a second time.
async fn send(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
) -> Result<(), Error> {
    report.sent = Sent::InFlight;
    let doubt = match platform.http().send_once(request).await {
        Delivery::Answered(response) if response.is_success() => {
            report.operation_id = platform.operation_id(&response);
            report.sent = Sent::Running;
            ctx.printer.note(
                Phase::RollingBack,
                &format!("Rollback accepted (HTTP {}).", response.status),
            );
            return Ok(());
        }
        Delivery::Answered(response) => {
            let error = platform.rejection(&response);
            let unclear = matches!(response.status, 500 | 502 | 504);
            if !unclear && !matches!(error, Error::NothingToRollBack(_)) {
                report.sent = Sent::Nothing;
                return Err(error);
            }
            if !unclear {
                // The upgrade may have ended, or someone else rolled it back, since we looked.
                report.sent = Sent::Nothing;
            }
            error
        }
        Delivery::Ambiguous(error) => error,
        Delivery::NotSent(error) => {
            report.sent = Sent::Nothing;
            return Err(error);
        }
    };
    ctx.printer.note(
        report.phase,
        &format!("{doubt}; reading the state again instead of sending the rollback twice."),
    );
    match platform.read().await {
        Ok(snapshot) => {
            report.update(&snapshot);
            if matches!(snapshot.phase, Phase::RollingBack | Phase::RolledBack) {
                report.sent = Sent::Running;
                Ok(())
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
    if watch && snapshot.phase.is_active() {
        let rolling_back = snapshot.phase == Phase::RollingBack;
        if rolling_back {
            report.sent = Sent::Running;
        }
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        return wait_for_end(platform, ctx, report, rolling_back).await;
    }
    Ok(())
}

/// Polls until the platform reports a final state and judges it. `rolling_back`: a rollback
/// is known to be running, so only its completion counts as success.
async fn wait_for_end(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    mut rolling_back: bool,
) -> Result<(), Error> {
    let interval = ctx
        .global
        .poll_interval
        .unwrap_or_else(|| platform.default_poll_interval());
    let last: Snapshot = wait::poll(interval, async || {
        let snapshot = platform.read().await?;
        report.update(&snapshot);
        ctx.printer.progress(snapshot.phase, &snapshot.progress);
        if snapshot.phase == Phase::RollingBack {
            rolling_back = true;
            report.sent = Sent::Running;
        }
        Ok(if snapshot.phase.is_active() {
            Step::Continue {
                retry_after: snapshot.retry_after,
            }
        } else {
            Step::Done(snapshot)
        })
    })
    .await?;
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
        Phase::Unknown => Err(Error::unexpected(format!(
            "the platform reports a state the tool does not know: {state}"
        ))),
        Phase::Upgrading | Phase::RollingBack => {
            unreachable!("the wait ends only on a final state")
        }
    }
}
