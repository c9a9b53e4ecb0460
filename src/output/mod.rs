//! Everything the user sees: the result on stdout (text, JSON or JSON lines) and progress,
//! notes, warnings and errors on stderr (a live line on a terminal, timestamped lines otherwise).
//!
//! Two rules hold for every string printed, whatever its source:
//! - human-readable output is terminal-safe: control characters, DEL, C1 controls and BiDi
//!   overrides in it are shown as visible escapes ([`escape`]), and a string from a server is
//!   one line (its newlines escaped) so that it cannot fake a line of its own; JSON is exact
//!   (serde escapes it);
//! - no credential the run holds is printed ([`crate::redact`]).
//!
//! Writing to stderr never ends a run (a closed or full stderr is ignored); a result that
//! could not be written to stdout is reported to the caller.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::OutputFormat;
use crate::error::Error;
use crate::platforms::{Phase, Progress, Snapshot};
use crate::report::{Outcome, Report};

mod escape;
mod latest;
mod prompt;
mod text;

use escape::lines;
pub use escape::one_line;
pub use latest::Watch;
use text::render_text;
pub use text::table;

/// The one printer of a run.
pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    color: bool,
    live: bool,
    bar: RefCell<Option<ProgressBar>>,
    last: RefCell<Option<(Phase, String)>>,
    /// The upgrade domains of the last reading, carried by every JSON line after it.
    domains: RefCell<Option<Progress>>,
    /// The first failed write to stdout (JSON lines before the result).
    stdout_error: RefCell<Option<std::io::Error>>,
    /// Where each reading is also kept for a printer of many runs (a fleet's target).
    watch: Option<Watch>,
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool, color: bool) -> Self {
        let live = format != OutputFormat::Jsonl && !quiet && std::io::stderr().is_terminal();
        Self {
            format,
            quiet,
            color,
            live,
            bar: RefCell::new(None),
            last: RefCell::new(None),
            domains: RefCell::new(None),
            stdout_error: RefCell::new(None),
            watch: None,
        }
    }

    /// This printer, also keeping each reading's phase and domains in `watch`.
    pub fn watched(mut self, watch: Option<Watch>) -> Self {
        self.watch = watch;
        self
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A line on stderr that stays, above the live line if there is one. `text` is already
    /// terminal-safe.
    fn line(&self, text: &str) {
        match &*self.bar.borrow() {
            Some(bar) => bar.println(text),
            None if self.live => stderr_line(text),
            None => stderr_line(&format!(
                "{} {text}",
                humantime::format_rfc3339_seconds(SystemTime::now())
            )),
        }
    }

    fn event(&self, phase: Phase, message: &str) {
        let mut event = serde_json::json!({
            "type": "progress",
            "at": crate::report::now_rfc3339(),
            "phase": phase,
            "message": message,
            "progress": *self.domains.borrow(),
        });
        crate::redact::redact_json(&mut event);
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{event}").and_then(|()| out.flush());
        self.stdout_failed(written);
    }

    fn stdout_failed(&self, written: std::io::Result<()>) {
        if let Err(e) = written {
            self.stdout_error.borrow_mut().get_or_insert(e);
        }
    }

    /// Where the operation stands, from a reading of the platform: its line, led by the
    /// upgrade domains done ("UD 2/5 (UD2): …") where the platform has them; in `-o jsonl`,
    /// the event's `progress`.
    pub fn reading(&self, snapshot: &Snapshot) {
        if let Some(watch) = &self.watch {
            let mut latest = watch.borrow_mut();
            latest.phase = Some(snapshot.phase);
            latest.domains.clone_from(&snapshot.domains);
        }
        self.domains.borrow_mut().clone_from(&snapshot.domains);
        let label = snapshot.domains.as_ref().map(domains_label);
        self.show(snapshot.phase, &snapshot.progress, label);
    }

    /// Where the operation stands; repeated readings that say the same thing are shown once.
    pub fn progress(&self, phase: Phase, message: &str) {
        if let Some(watch) = &self.watch {
            watch.borrow_mut().phase = Some(phase);
        }
        self.show(phase, message, None);
    }

    /// A progress line, after its `label` on stderr (the domains: JSON lines carry them as
    /// `progress`).
    fn show(&self, phase: Phase, message: &str, label: Option<String>) {
        let line = match &label {
            Some(label) => format!("{label}: {message}"),
            None => message.to_string(),
        };
        let current = Some((phase, line.clone()));
        if *self.last.borrow() == current {
            return;
        }
        *self.last.borrow_mut() = current;
        #[cfg(debug_assertions)]
        test_panic(message);
        if self.format == OutputFormat::Jsonl {
            self.event(phase, message);
            return;
        }
        if self.quiet {
            return;
        }
        let message = one_line(&line);
        if !self.live {
            self.line(&message);
            return;
        }
        let mut bar = self.bar.borrow_mut();
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // The time so far as every duration is shown (`850ms`, then `1m 5s`).
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{took}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .with_key(
                        "took",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&crate::config::show_duration(state.elapsed()));
                        },
                    ),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(message.into_owned());
    }

    /// A one-off statement about what the tool did or found.
    pub fn note(&self, phase: Phase, message: &str) {
        if self.format == OutputFormat::Jsonl {
            self.event(phase, message);
        } else if !self.quiet {
            self.line(&one_line(message));
        }
    }

    /// `warning: MESSAGE` on stderr, unless `-q`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            self.caution(message);
        }
    }

    /// A warning `-q` does not hide: a safety the user turned off (`--insecure`).
    pub fn caution(&self, message: &str) {
        let label = self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
            "warning:",
        );
        self.line(&format!("{label} {}", one_line(message)));
    }

    /// `error: MESSAGE` on stderr.
    pub fn error(&self, message: &str) {
        let label = self.paint(
            Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            "error:",
        );
        stderr_line(&format!("{label} {}", one_line(message)));
    }

    /// The end of the run: the result on stdout, an error (if any) on stderr. Fails when the
    /// result (or a JSON line before it) could not be written to stdout.
    pub fn result(&self, report: &Report) -> std::io::Result<()> {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        let mut out = std::io::stdout().lock();
        let text = match self.format {
            OutputFormat::Text => render_text(report),
            format => Some(document(report, format)),
        };
        let no_result = text.is_none();
        let written = match text {
            Some(text) => out.write_all(text.as_bytes()),
            None => Ok(()),
        };
        self.stdout_failed(written.and_then(|()| out.flush()));
        drop(out);
        let next = report
            .next
            .as_deref()
            .filter(|_| self.format == OutputFormat::Text);
        if let Some(error) = &report.error {
            self.error(&error.message);
            // No text result on stdout after an error: why the upgrade failed goes with it,
            // unless the error already says it in the same words.
            if let (Some(reason), true) = (&report.reason, no_result)
                && !error.message.contains(reason.as_str())
            {
                stderr_line(&format!("reason: {}", one_line(reason)));
            }
            if let Some(next) = next {
                stderr_line(&format!("next: {}", one_line(next)));
            }
        } else if let (Some(next), false) = (next, self.quiet) {
            stderr_line(&format!("next: {}", one_line(next)));
        } else if let (Outcome::NothingToRollBack, Some(summary), false) =
            (report.outcome, &report.summary, self.quiet)
        {
            stderr_line(&format!("{} (--if-upgrading: exit 0)", one_line(summary)));
        }
        match self.stdout_error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// "UD 2/5 (UD2)": upgrade domains done out of all, and the one being worked on (Cloud
/// Services numbers its domains, Service Fabric names them).
fn domains_label(domains: &Progress) -> String {
    let mut label = format!("UD {}/{}", domains.domains_done, domains.domains_total);
    match domains.current.as_deref() {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            label.push_str(&format!(" (UD {n})"));
        }
        Some(name) => label.push_str(&format!(" ({})", one_line(name))),
        None => {}
    }
    label
}

/// The result document as JSON, secrets redacted (each target of a fleet).
pub fn result_value(report: &Report) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    crate::redact::redact_json(&mut value);
    value
}

/// The result document as printed with `--json` (pretty) or last in `-o jsonl` (one line with
/// `"type": "result"`), secrets redacted.
fn document(report: &Report, format: OutputFormat) -> String {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    crate::redact::redact_json(&mut value);
    if format == OutputFormat::Jsonl {
        if let Some(map) = value.as_object_mut() {
            map.shift_insert(0, "type".into(), "result".into());
        }
        format!("{value}\n")
    } else {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    }
}

/// Writes one line to stderr. A closed or full stderr is ignored: losing a message must never
/// end a run (nor lose its result).
pub fn stderr_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// The writer of `-v` logs: stderr, secrets redacted, failures ignored.
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The log formatter hands over one whole line at a time.
        let text = String::from_utf8_lossy(buf);
        let _ = std::io::stderr()
            .lock()
            .write_all(crate::redact::redact(&text).as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// How log lines show their fields: each value made one terminal-safe line, so that the
/// tool's own colours (level, timestamp) survive while a server's escape sequences do not.
pub fn log_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let value = format!("{value:?}");
        if field.name() == "message" {
            write!(writer, "{}", one_line(&value))
        } else {
            write!(writer, "{}={}", field.name(), one_line(&value))
        }
    })
    .delimited(" ")
}

/// The panic hook, the last line of defence: one line on stderr and, with `--json` or
/// `-o jsonl`, the result document (`outcome` `error`, `error.kind` `internal`) with what the
/// run knew; then exit 1. It exits itself because release builds abort on panic.
pub fn install_panic_hook(format: OutputFormat) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message =
            format!("internal error: {payload}{place} (a bug in rollback: please report it)");
        let error = Error::Internal(crate::error::Problem::new(message.clone()));
        if format != OutputFormat::Text
            && let Some(report) = crate::report::crash_report(&message)
        {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(document(&report, format).as_bytes());
            let _ = out.flush();
        }
        // Start on a fresh line when a live line may be on the terminal.
        let clear = if std::io::stderr().is_terminal() {
            "\r\x1b[2K"
        } else {
            ""
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{clear}error: {}", one_line(&message));
        let _ = err.flush();
        std::process::exit(i32::from(error.exit_code()));
    }));
}

/// Test-only (debug builds): panics on a progress line that contains the value of
/// `ROLLBACK_TEST_PANIC_ON`, so that the integration tests can prove the panic hook. Release
/// builds have no such trigger.
#[cfg(debug_assertions)]
fn test_panic(message: &str) {
    if let Some(marker) = std::env::var("ROLLBACK_TEST_PANIC_ON")
        .ok()
        .filter(|m| !m.is_empty())
        && message.contains(&marker)
    {
        panic!("test panic on the progress line {message:?}");
    }
}

#[cfg(test)]
mod tests;
