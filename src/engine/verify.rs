//! `--verify`: once a rollback completed, read the target's health until it is healthy or the
//! platform says no health signal exists. The bound (`--verify-timeout`) and signals are kept
//! by the caller, around this wait.

use crate::error::{Error, Problem};
use crate::platforms::{Health, HealthState, Phase, Rollback};
use crate::report::{HealthDoc, Report};

use super::Ctx;
use super::wait::{self, Step};

/// Reads health until healthy (exit 0), or until the platform has no signal to give (exit 0,
/// said as a note); a read that fails counts as unknown and is read again. Unhealthy ends only
/// with the bound, which the caller turns into [`not_healthy_in_time`].
pub async fn verify(
    platform: &mut impl Rollback,
    ctx: &Ctx<'_>,
    report: &mut Report,
    strict: bool,
) -> Result<(), Error> {
    let interval = ctx
        .global
        .poll_interval
        .unwrap_or_else(|| platform.default_poll_interval());
    let last = wait::poll(interval, async || {
        let health = platform.health().await.unwrap_or_else(|e| Health {
            state: HealthState::Unknown,
            settling: true,
            details: vec![format!("the health read failed: {e}")],
        });
        report.health = Some(HealthDoc::new(&health));
        ctx.printer.progress(Phase::RolledBack, &line(&health));
        Ok(if health.is_healthy(strict) || !health.settling {
            Step::Done(health)
        } else {
            Step::Continue { retry_after: None }
        })
    })
    .await?;
    if !last.is_healthy(strict) {
        // No health signal on this platform: said, not failed.
        ctx.printer.note(Phase::RolledBack, &line(&last));
    }
    match last.state {
        HealthState::Error | HealthState::Warning if !last.is_healthy(strict) => {
            Err(unhealthy(report, &last))
        }
        _ => Ok(()),
    }
}

/// The error for a health wait that ran out: the last verdict read, and what it named.
pub fn not_healthy_in_time(report: &Report, timeout: std::time::Duration) -> Error {
    let last = match &report.health {
        Some(health) => {
            let first = health
                .details
                .first()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            format!("last read {}{first}", state_word(health.state))
        }
        None => "no health was read".into(),
    };
    Error::Unhealthy(Problem::new(format!(
        "rolled back, but {} was not healthy within {} ({last})",
        report.target,
        humantime::format_duration(timeout)
    )))
}

fn unhealthy(report: &Report, health: &Health) -> Error {
    let first = health
        .details
        .first()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    Error::Unhealthy(Problem::new(format!(
        "rolled back, but {} is {}{first}",
        report.target,
        state_word(health.state)
    )))
}

/// "health: error (partition … is Error: …)" for the progress line.
fn line(health: &Health) -> String {
    match health.details.first() {
        Some(first) => format!("health: {} ({first})", state_word(health.state)),
        None => format!("health: {}", state_word(health.state)),
    }
}

fn state_word(state: HealthState) -> &'static str {
    match state {
        HealthState::Ok => "ok",
        HealthState::Warning => "warning",
        HealthState::Error => "error",
        HealthState::Unknown => "unknown",
    }
}
