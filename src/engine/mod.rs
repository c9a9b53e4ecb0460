//! `start`, `status`, a single step (`walk`) and the wait, written once for every platform.

use std::time::SystemTime;

mod send;
pub mod verify;
pub mod wait;

use crate::audit::{Audit, Delivered, Kind};
use crate::config::Global;
use crate::error::{Error, Problem};
use crate::http::Request;
use crate::output::{Printer, table};
use crate::platforms::{Action, Decision, Phase, Prompt, Rollback, Snapshot};
use crate::report::{Outcome, Report, Sent};
use send::{recent_rollback, send_confirmed};
use wait::Step;

/// What the engine works with besides the platform: the resolved options, the one printer,
/// the audit trail.
pub struct Ctx<'a> {
    pub global: &'a Global,
    pub printer: &'a Printer,
    pub audit: &'a Audit,
}

/// Does what the command asked of the target.
pub async fn run(
    platform: &mut impl Rollback,
    action: Action,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    match action {
        Action::Start => start(platform, ctx, report).await,
        Action::Status { watch } => status(platform, ctx, report, watch).await,
        Action::Step(n) => {
            let snapshot = platform.read().await?;
            report.update(&snapshot);
            let step = platform.step(n, &snapshot).await?;
            self::step(
                platform,
                ctx,
                report,
                &step.request,
                &step.what,
                &step.question,
            )
            .await
        }
        Action::List => {
            let snapshot = platform.read().await?;
            report.update(&snapshot);
            let listing = platform.list(&snapshot).await?;
            report.detail = listing.detail;
            // One line an entry, whatever the server put into its fields.
            report.summary = Some(table(&listing.rows));
            report.outcome = Outcome::Status;
            Ok(())
        }
    }
}

/// `start`: check, confirm, send once, wait.
pub async fn start(
    platform: &mut impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let mut snapshot = platform.read().await?;
    report.update(&snapshot);
    ctx.printer.reading(&snapshot);
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
        let ago = crate::config::show_duration(
            SystemTime::now()
                .duration_since(prior.at)
                .unwrap_or_default(),
        );
        let fate = match prior.outcome {
            Delivered::Accepted => "accepted",
            _ => "its fate unknown",
        };
        ctx.printer.note(
            snapshot.phase,
            &format!(
                "A rollback of {} was sent from this machine {ago} ago ({fate}; audit log {}): looking for it instead of sending another.",
                report.target,
                ctx.audit.path().map(|p| p.display().to_string()).unwrap_or_default()
            ),
        );
        snapshot = platform.read().await?;
        report.update(&snapshot);
        ctx.printer.reading(&snapshot);
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
            let prompt = if ctx.global.interactive && !ctx.global.dry_run {
                platform.describe(&snapshot).await
            } else {
                Prompt::default()
            };
            if !send_confirmed(
                platform,
                ctx,
                report,
                &request,
                (Kind::Rollback, "Rollback"),
                &prompt,
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

/// `status`: one reading, or with `watch` a wait until the platform settles.
pub async fn status(
    platform: &mut impl Rollback,
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
        ctx.printer.reading(&snapshot);
        return wait_for_end(platform, ctx, report, rolling_back).await;
    }
    Ok(())
}

/// A single mutating step outside a rollback (`cloudsvc walk`): confirm, send once, wait for
/// the platform to finish it, report the state it leaves.
pub async fn step(
    platform: &mut impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: &str,
    question: &str,
) -> Result<(), Error> {
    let question = Prompt {
        context: Vec::new(),
        question: question.to_string(),
    };
    if !send_confirmed(
        platform,
        ctx,
        report,
        request,
        (Kind::Step, what),
        &question,
    )
    .await?
    {
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
    platform: &mut impl Rollback,
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
        ctx.printer.reading(&snapshot);
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
                &Prompt {
                    context: Vec::new(),
                    question: step.question.clone(),
                },
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
    platform: &mut impl Rollback,
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
mod tests;
