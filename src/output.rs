//! Everything the user sees: the result on stdout (text, JSON or JSON lines) and progress,
//! notes, warnings and errors on stderr (a live line on a terminal, timestamped lines otherwise).

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::OutputFormat;
use crate::error::Error;
use crate::report::{Outcome, Phase, Report};

/// The one printer of a run.
pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    color: bool,
    live: bool,
    bar: RefCell<Option<ProgressBar>>,
    last: RefCell<Option<(Phase, String)>>,
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
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A line on stderr that stays, above the live line if there is one.
    fn line(&self, text: &str) {
        match &*self.bar.borrow() {
            Some(bar) => bar.println(text),
            None if self.live => eprintln!("{text}"),
            None => eprintln!(
                "{} {text}",
                humantime::format_rfc3339_seconds(SystemTime::now())
            ),
        }
    }

    fn event(&self, phase: Phase, message: &str) {
        let event = serde_json::json!({
            "type": "progress",
            "at": crate::report::now_rfc3339(),
            "phase": phase,
            "message": message,
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{event}");
        let _ = out.flush();
    }

    /// Where the operation stands; repeated readings that say the same thing are shown once.
    pub fn progress(&self, phase: Phase, message: &str) {
        let current = Some((phase, message.to_string()));
        if *self.last.borrow() == current {
            return;
        }
        *self.last.borrow_mut() = current;
        if self.format == OutputFormat::Jsonl {
            self.event(phase, message);
            return;
        }
        if self.quiet {
            return;
        }
        if !self.live {
            self.line(message);
            return;
        }
        let mut bar = self.bar.borrow_mut();
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(message.to_string());
    }

    /// A one-off statement about what the tool did or found.
    pub fn note(&self, phase: Phase, message: &str) {
        if self.format == OutputFormat::Jsonl {
            self.event(phase, message);
        } else if !self.quiet {
            self.line(message);
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let label = self.paint(
                Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
                "warning:",
            );
            self.line(&format!("{label} {message}"));
        }
    }

    /// Asks a yes/no question on the terminal, after its lines of context (all but the last);
    /// anything but yes is no.
    pub fn confirm(&self, text: &str) -> Result<bool, Error> {
        // The live line would redraw over the question: clear it; the next progress starts anew.
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        *self.last.borrow_mut() = None;
        let (context, question) = text.rsplit_once('\n').unwrap_or(("", text));
        if !context.is_empty() {
            eprintln!("{context}");
        }
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact_on(&dialoguer::console::Term::stderr())
            .map_err(|e| {
                // The prompt line was left open.
                eprintln!();
                let dialoguer::Error::IO(io) = &e;
                if io.kind() == std::io::ErrorKind::Interrupted {
                    Error::Interrupted(crate::error::Problem::new(
                        "interrupted at the prompt; nothing was sent",
                    ))
                } else {
                    Error::Usage(format!("cannot ask for confirmation: {e}"))
                }
            })
    }

    /// The end of the run: the result on stdout, an error (if any) on stderr.
    pub fn result(&self, report: &Report) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        let mut out = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(report).unwrap_or_default()
                );
            }
            OutputFormat::Jsonl => {
                let mut value = serde_json::to_value(report).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.shift_insert(0, "type".into(), "result".into());
                }
                let _ = writeln!(out, "{value}");
            }
            OutputFormat::Text => {
                if let Some(text) = render_text(report) {
                    let _ = write!(out, "{text}");
                }
            }
        }
        let _ = out.flush();
        drop(out);
        if let Some(error) = &report.error {
            let label = self.paint(
                Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
                "error:",
            );
            eprintln!("{label} {}", error.message);
        } else if let (Outcome::NothingToRollBack, Some(summary), false) =
            (report.outcome, &report.summary, self.quiet)
        {
            eprintln!("{summary} (--if-upgrading: exit 0)");
        }
    }
}

fn versions(report: &Report) -> String {
    let mut text = String::new();
    if let Some(from) = &report.from_version {
        text.push_str(&format!(" from {from}"));
    }
    if let Some(to) = &report.to_version {
        text.push_str(&format!(" to {to}"));
    }
    text
}

fn state(report: &Report) -> &str {
    report.platform_state.as_deref().unwrap_or("no state")
}

/// The text result on stdout; `None` when the run ended in an error (stderr says why).
fn render_text(report: &Report) -> Option<String> {
    let target = &report.target;
    let elapsed = humantime::format_duration(Duration::from_secs(report.elapsed_ms / 1000));
    let text = match report.outcome {
        Outcome::RolledBack => format!(
            "Rolled back {target}{} ({}) in {elapsed}.\n",
            versions(report),
            state(report)
        ),
        Outcome::Accepted => format!(
            "Rollback of {target} accepted ({}); not waiting for it.\n",
            state(report)
        ),
        Outcome::InProgress if report.error.is_none() => {
            format!(
                "A rollback of {target} is already running ({}); not waiting for it.\n",
                state(report)
            )
        }
        Outcome::WouldSend if report.requests.is_empty() => format!(
            "Dry run: a rollback of {target} is already running ({}); nothing would be sent.\n",
            state(report)
        ),
        Outcome::WouldSend => {
            let mut text = format!(
                "Dry run: {target} is {} ({}); nothing was sent. Would send:\n\n",
                report.phase.as_str(),
                state(report)
            );
            for request in &report.requests {
                text.push_str(&request.to_string());
            }
            text
        }
        Outcome::Status if report.action == "targets" => report.summary.clone().unwrap_or_default(),
        Outcome::Status => {
            let mut text = format!(
                "target:   {target}\nphase:    {}\nstate:    {}\n",
                report.phase.as_str(),
                state(report)
            );
            if let Some(version) = &report.from_version {
                text.push_str(&format!("version:  {version} (the upgrade's target)\n"));
            }
            if let Some(summary) = &report.summary {
                text.push_str(&format!("progress: {summary}\n"));
            }
            text
        }
        _ => return None,
    };
    Some(text)
}
