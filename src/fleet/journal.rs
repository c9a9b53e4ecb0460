//! `--journal PATH`: an append-only record of a fleet run, in the audit trail's line format
//! with each line's target `name`: every rollback request as it is sent (written by the audit
//! trail the moment the platform answers), and every target's end. A run with the same journal
//! skips the targets that ended successfully and attaches to those whose rollback was accepted
//! (or may have been), never sending them another.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::audit::{self, Audit, Entry, Kind};
use crate::error::Error;
use crate::report::Report;

/// The journal of a run.
pub struct Journal {
    path: PathBuf,
}

/// What an earlier run with this journal did to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// It ended successfully, with this outcome: nothing to do.
    Done(String),
    /// A rollback request was accepted or may have been received: wait, do not send.
    Sent,
}

impl Journal {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// What the journal says of each target, by name. A missing journal is a first run.
    pub fn read(&self) -> Result<HashMap<String, Earlier>, Error> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Error::Usage(format!(
                    "cannot read the journal {}: {e}",
                    self.path.display()
                )));
            }
        };
        Ok(earlier(&text))
    }

    /// Records a target's end.
    pub fn finished(&self, name: &str, report: &Report) -> Result<(), String> {
        let audit = Audit::new(None);
        let mut entry = audit.entry("result", report.platform, &report.target, report.outcome);
        entry.exit_code = Some(report.exit_code);
        entry.name = Some(name.to_string());
        audit::append_line(&self.path, &entry, "the journal")
    }
}

/// The lines of a journal, read in order: a later line says more than an earlier one. A line
/// cut short by a kill is skipped.
fn earlier(text: &str) -> HashMap<String, Earlier> {
    let mut seen = HashMap::new();
    for entry in text
        .lines()
        .filter_map(|line| serde_json::from_str::<Entry>(line).ok())
    {
        let Some(name) = entry.name else { continue };
        match entry.event.as_str() {
            "request"
                if entry.kind == Some(Kind::Rollback)
                    && matches!(entry.outcome.as_str(), "accepted" | "ambiguous") =>
            {
                seen.insert(name, Earlier::Sent);
            }
            "result" if entry.exit_code == Some(0) => {
                seen.insert(name, Earlier::Done(entry.outcome));
            }
            // A failed end after an accepted request: the rollback may still go on; attach.
            "result" if seen.get(&name) == Some(&Earlier::Sent) => {}
            "result" => {
                seen.remove(&name);
            }
            _ => {}
        }
    }
    seen
}

/// The audit trail of one fleet target, which also writes its requests to the journal.
pub fn audit(path: Option<PathBuf>, journal: Option<&Journal>, name: &str) -> Audit {
    let audit = Audit::new(path);
    match journal {
        Some(journal) => audit.with_journal(journal.path.clone(), name.to_string()),
        None => audit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        name: &str,
        event: &str,
        kind: Option<&str>,
        outcome: &str,
        code: Option<u8>,
    ) -> String {
        let mut value = serde_json::json!({
            "at": "2026-12-01T00:00:00.000Z", "run": "r", "event": event,
            "platform": "sf-app", "target": name, "outcome": outcome, "name": name,
        });
        if let Some(kind) = kind {
            value["kind"] = kind.into();
        }
        if let Some(code) = code {
            value["exit_code"] = code.into();
        }
        value.to_string()
    }

    #[test]
    fn a_journal_tells_what_is_done_and_what_was_sent() {
        let text = [
            line("a", "request", Some("rollback"), "accepted", None),
            line("a", "result", None, "rolled_back", Some(0)),
            line("b", "request", Some("rollback"), "accepted", None),
            line("c", "request", Some("rollback"), "ambiguous", None),
            line("c", "result", None, "timed_out", Some(5)),
            line("d", "request", Some("rollback"), "refused", None),
            line("d", "result", None, "failed", Some(1)),
            line("e", "result", None, "nothing_to_roll_back", Some(0)),
            "{\"at\": \"cut short".into(),
        ]
        .join("\n");
        let seen = earlier(&text);
        assert_eq!(seen.get("a"), Some(&Earlier::Done("rolled_back".into())));
        assert_eq!(seen.get("b"), Some(&Earlier::Sent));
        assert_eq!(seen.get("c"), Some(&Earlier::Sent));
        assert_eq!(seen.get("d"), None);
        assert_eq!(
            seen.get("e"),
            Some(&Earlier::Done("nothing_to_roll_back".into()))
        );
    }
}
