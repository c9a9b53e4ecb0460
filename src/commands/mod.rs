//! Runs one command: resolves settings, bounds the run by `--timeout` and signals (Ctrl-C,
//! SIGTERM, SIGHUP), and turns the outcome into the result document and the exit code.

pub mod sandbox;
pub mod settings;
pub mod tools;

use std::cell::OnceCell;

use tokio::time::Instant;

use crate::audit::Audit;
use crate::config::{self, Global, GlobalArgs, Invocation, Profile, Section};
use crate::engine::wait::{self, Stop};
use crate::engine::{self, Ctx};
use crate::error::{Error, Problem};
use crate::output::Printer;
use crate::platforms::{Action, Describe, Phase, Platform};
use crate::report::{Report, Sent};

/// Runs a command of platform `P` and returns the process exit code.
pub async fn run<P: Platform>(global: &GlobalArgs, args: &P::Args, sections: &[Section]) -> u8 {
    let format = config::output_format(global);
    let color = config::use_color(global.color);
    init_tracing(global.verbose, global.quiet, color);
    let printer = Printer::new(format, global.quiet, color);
    let describe = P::describe(args);
    // Not checked yet: an absurdly long one is refused later, and not copied into the result.
    let target = crate::input::cut(describe.target.clone());
    let mut report = Report::new(
        describe.platform,
        target,
        describe.action,
        describe.place,
        global.dry_run,
    );
    report.step = describe.step;
    let audit = OnceCell::new();
    let result = execute::<P>(global, args, sections, &printer, &mut report, &audit).await;
    let next = next(&result, &report, &global.invocation, &describe);
    close(
        result,
        &mut report,
        global.if_upgrading,
        audit.get(),
        &printer,
    );
    report.next = next;
    match printer.result(&report) {
        Ok(()) => report.exit_code,
        Err(e) => {
            // The caller cannot have the result: that is a failure of its own, unless the run
            // already failed (its code says more).
            let error = Error::Output(Problem::new(format!(
                "cannot write the result to stdout: {e}"
            )));
            printer.error(&error.to_string());
            if report.exit_code == 0 {
                error.exit_code()
            } else {
                report.exit_code
            }
        }
    }
}

/// The one line that tells a user whom the run leaves stuck what to do next: the step the
/// platform waits for, how to attach to what goes on, what access is missing, where to look
/// when nothing answered.
fn next(
    result: &Result<(), Error>,
    report: &Report,
    invocation: &Invocation,
    describe: &Describe,
) -> Option<String> {
    let step = report
        .next_command
        .as_ref()
        .map(|words| format!("go on with `{}`", invocation.with_leaf(words)));
    let Err(error) = result else {
        return step;
    };
    match error {
        Error::TimedOut(_) | Error::Signal(..) | Error::Interrupted(_)
            if report.sent != Sent::Nothing =>
        {
            step.or_else(|| Some(format!("attach with `{}`", invocation.attach())))
        }
        // A rollback already running that moves only when walked (Cloud Services Manual).
        Error::NothingToRollBack(_) => step,
        Error::Auth(_) => Some(format!(
            "{} refused these credentials: rolling back needs {}",
            report.place, describe.access
        )),
        // Nothing answered (no HTTP status): the place is wrong or down.
        Error::Unreachable(problem)
            if problem.http_status.is_none() && report.requests.is_empty() =>
        {
            Some(format!(
                "check {} (or its variable or profile key); to try the tool without a platform: `{}`",
                describe.location_option,
                invocation.sandbox()
            ))
        }
        _ => None,
    }
}

/// Logs (`-v`) on stderr, redacted and terminal-safe.
pub fn init_tracing(verbose: u8, quiet: bool, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    // Log lines carry URLs and server answers: their fields are made terminal-safe and
    // redacted, and a failed write to stderr is ignored instead of ending the process.
    tracing_subscriber::fmt()
        .with_writer(crate::output::LogWriter)
        .fmt_fields(crate::output::log_fields())
        .log_internal_errors(false)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(color)
        .init();
}

async fn execute<P: Platform>(
    global_args: &GlobalArgs,
    args: &P::Args,
    sections: &[Section],
    printer: &Printer,
    report: &mut Report,
    audit: &OnceCell<Audit>,
) -> Result<(), Error> {
    // Under --sandbox the sandbox's own profile replaces the config file's; the sandbox lives
    // until the run ends.
    if global_args.sandbox_scenario.is_some() && !global_args.sandbox {
        // A rehearsal must never reach a real platform by mistake.
        return Err(Error::Usage(
            "--sandbox-scenario (ROLLBACK_SANDBOX_SCENARIO) needs --sandbox (ROLLBACK_SANDBOX=1)"
                .into(),
        ));
    }
    let (_sandbox, profile) = if global_args.sandbox {
        let (sandbox, profile) =
            sandbox::embedded(global_args, P::connection_given(args), sections, 1).await?;
        (Some(sandbox), profile)
    } else {
        (None, config::load_profile(global_args, sections)?)
    };
    tracing::info!("settings: {}", profile.origin);
    for warning in &profile.warnings {
        printer.warn(warning);
    }
    let global = config::global(global_args, &profile, P::reads_stdin(args))?;
    let audit = audit.get_or_init(|| Audit::new(global.audit_log.clone()));
    one::<P>(args, &profile, &global, printer, audit, report).await
}

/// One target, the same for a single command and for every target of a fleet: open it and
/// run the engine within `--timeout` (and signals), then `--verify` when asked.
pub async fn one<P: Platform>(
    args: &P::Args,
    profile: &Profile,
    global: &Global,
    printer: &Printer,
    audit: &Audit,
    report: &mut Report,
) -> Result<(), Error> {
    let ctx = Ctx {
        global,
        printer,
        audit,
    };
    // `parse_duration` keeps the timeout within 30 days; saturate all the same rather than
    // let an unforeseen value overflow the clock.
    let now = Instant::now();
    let deadline = now
        .checked_add(global.timeout)
        .unwrap_or_else(|| now + config::MAX_DURATION);
    let work = async {
        // Inside the bound: settings may read stdin or a FIFO, which must give way too.
        let opened = P::open(args, profile, global, &mut report.target).await?;
        // What weakens the connection's security is said even with -q.
        for warning in &opened.warnings {
            printer.caution(warning);
        }
        let mut target = opened.target;
        engine::run(&mut target, opened.action, &ctx, report).await?;
        Ok((target, opened.action))
    };
    let (mut target, action) = match wait::bounded(deadline, work).await {
        Ok(result) => result?,
        Err(stop) => return Err(stopped(stop, report, global)),
    };
    // `--verify`, once a rollback completed (its own bound: `--timeout` was for the rollback).
    let waited = matches!(action, Action::Start | Action::Status { watch: true });
    match global.verify {
        Some(verify) if waited && report.phase == Phase::RolledBack && !global.dry_run => {
            let deadline = Instant::now() + verify.timeout;
            let health = engine::verify::verify(&mut target, &ctx, report, verify.strict);
            match wait::bounded(deadline, health).await {
                Ok(result) => result,
                Err(Stop::TimedOut) => {
                    Err(engine::verify::not_healthy_in_time(report, verify.timeout))
                }
                Err(Stop::Signal(signal)) => Err(Error::Signal(
                    signal,
                    Problem::new(format!(
                        "{}; the rollback completed, its health was not verified",
                        signal.describe()
                    )),
                )),
            }
        }
        _ => Ok(()),
    }
}

/// Closes a target's result document (outcome, exit code, end time) and appends the audit
/// trail's closing line when the run recorded a request.
pub fn close(
    result: Result<(), Error>,
    report: &mut Report,
    if_upgrading: bool,
    audit: Option<&Audit>,
    printer: &Printer,
) {
    report.finish(result, if_upgrading);
    if let Some(audit) = audit.filter(|a| a.wrote()) {
        let mut entry = audit.entry("result", report.platform, &report.target, report.outcome);
        entry.exit_code = Some(report.exit_code);
        if let Err(warning) = audit.append(&entry) {
            printer.warn(&warning);
        }
    }
}

/// The error for a run cut short: the state last seen, and what this run sent. It claims a
/// running rollback only when one was seen running.
fn stopped(stop: Stop, report: &Report, global: &Global) -> Error {
    let place = report.place;
    let what = report.step.unwrap_or("rollback");
    // The normalized phase with the platform's word; the platform's progress line when the
    // phase says nothing.
    let seen = match (report.phase, &report.platform_state, &report.summary) {
        (Phase::Unknown, None, None) => "no state was read".to_string(),
        (Phase::Unknown, _, Some(summary)) => format!("last seen: {summary}"),
        (phase, Some(state), _) => format!("last seen: {} ({state})", phase.as_str()),
        (phase, None, _) => format!("last seen: {}", phase.as_str()),
    };
    let sent = match report.sent {
        Sent::Nothing => format!("no {what} was sent"),
        Sent::InFlight => format!(
            "the {what} request may have reached {place}: check with `status` before trying again"
        ),
        Sent::Running if report.step.is_some() => format!("the {what} was accepted"),
        Sent::Running if report.phase == Phase::RollingBack => {
            format!("the rollback continues on {place}")
        }
        Sent::Running if report.requests.is_empty() => {
            format!("a rollback was seen running on {place} before")
        }
        Sent::Running => {
            format!("the rollback request was accepted, but {place} had not shown it running yet")
        }
    };
    let state = format!("{seen}; {sent}");
    match stop {
        Stop::TimedOut => Error::TimedOut(Problem::new(format!(
            "timed out after {}; {state}",
            humantime::format_duration(global.timeout)
        ))),
        Stop::Signal(signal) => Error::Signal(
            signal,
            Problem::new(format!("{}; {state}", signal.describe())),
        ),
    }
}
