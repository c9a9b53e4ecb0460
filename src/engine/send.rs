//! Sending a mutating request: once, again only when the platform provably did not act on it
//! (after the precondition was read again), never again when its fate is unknown; and the audit
//! trail of what was sent.

use super::Ctx;
use crate::audit::{Delivered, Kind, Prior};
use crate::error::{Error, Problem};
use crate::http::{Delivery, Request, Response, SEND_RETRY_STATUSES, backoff};
use crate::platforms::{Decision, Phase, Prompt, Rollback};
use crate::report::{Outcome, Report, Sent};

/// Times a mutating request is sent again after the platform provably did not act on it
/// (no connection, 429, 503), each time after checking the precondition again.
const MAX_RESENDS: u32 = 2;

/// The rollback request this machine sent to the same target moments ago, if any.
pub(super) fn recent_rollback(
    platform: &impl Rollback,
    ctx: &Ctx<'_>,
    report: &Report,
) -> Option<Prior> {
    let url = platform.rollback_request().url;
    ctx.audit
        .recent_rollback(report.platform, &report.target, url.as_str())
}

/// Records the request, and unless this is a dry run asks (on a terminal) and sends it. The
/// first accepted request's operation id becomes the result's. `false`: a dry run, nothing sent.
/// `what` says what the request is, and names it in notes ("Rollback").
pub(super) async fn send_confirmed(
    platform: &mut impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    request: &Request,
    what: (Kind, &str),
    question: &Prompt,
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
    platform: &mut impl Rollback,
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
                // The step the platform waited for before this request is no longer the next.
                report.next_command = None;
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
                crate::config::show_duration(delay)
            ),
        );
        tokio::time::sleep(delay).await;
        let snapshot = platform.read().await?;
        report.update(&snapshot);
        ctx.printer.reading(&snapshot);
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
    platform: &mut impl Rollback,
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
    platform: &mut impl Rollback,
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
            ctx.printer.reading(&snapshot);
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
    let mut entry = ctx
        .audit
        .entry("request", report.platform, &report.target, fate);
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
