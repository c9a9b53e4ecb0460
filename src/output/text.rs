//! The text result on stdout: one sentence or a few aligned lines for a person.

use std::borrow::Cow;
use std::time::Duration;

use super::{lines, one_line};
use crate::config::show_duration;
use crate::report::{Outcome, Report};

fn versions(report: &Report) -> String {
    let mut text = String::new();
    if let Some(from) = &report.from_version {
        text.push_str(&format!(" from {}", one_line(from)));
    }
    if let Some(to) = &report.to_version {
        text.push_str(&format!(" to {}", one_line(to)));
    }
    text
}

fn state(report: &Report) -> Cow<'_, str> {
    one_line(report.platform_state.as_deref().unwrap_or("no state"))
}

/// The text result on stdout; `None` when the run ended in an error (stderr says why). Every
/// value in it is a terminal-safe line; only the tool's own layout has newlines.
pub(super) fn render_text(report: &Report) -> Option<String> {
    let target = one_line(&report.target);
    let elapsed = show_duration(Duration::from_millis(report.elapsed_ms));
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
                // The tool lays out the request (its body may be a multi-line document); URLs
                // and form bodies are percent-encoded.
                text.push_str(&lines(&request.to_string()));
            }
            text
        }
        // The listing's lines are made safe one by one where it is composed.
        Outcome::Status if report.action == "targets" => {
            return Some(lines(report.summary.as_deref().unwrap_or_default()).into_owned());
        }
        Outcome::Status => {
            let mut text = format!(
                "target:   {target}\nphase:    {}\nstate:    {}\n",
                report.phase.as_str(),
                state(report)
            );
            if let Some(version) = &report.from_version {
                text.push_str(&format!(
                    "version:  {} (the upgrade's target)\n",
                    one_line(version)
                ));
            }
            if let Some(summary) = &report.summary {
                text.push_str(&format!("progress: {}\n", one_line(summary)));
            }
            if let Some(reason) = &report.reason {
                text.push_str(&format!("reason:   {}\n", one_line(reason)));
            }
            return Some(text);
        }
        _ => return None,
    };
    // The end of `start` (and of a walk): why the upgrade failed or was rolled back.
    match &report.reason {
        Some(reason) => Some(format!("{text}reason: {}\n", one_line(reason))),
        None => Some(text),
    }
}

/// Rows as a table: each cell made one terminal-safe line, columns padded to their widest
/// cell (as the terminal shows it), two spaces between them.
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| one_line(cell)).collect())
        .collect();
    let width = |cell: &str| dialoguer::console::measure_text_width(cell);
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width(cell)),
                None => widths.push(width(cell)),
            }
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
