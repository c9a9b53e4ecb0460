//! The audit trail: every mutating request this machine sent, one JSON line each, appended to
//! `$XDG_STATE_HOME/rollback/audit.jsonl` (or `--audit-log PATH`, or `audit_log` in the config),
//! and a closing line with the run's outcome. It also answers the question a retried CI step
//! needs: did this machine send a rollback to this target a moment ago?
//!
//! Writing it never stops a rollback: a failure is a warning.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How long a rollback request this machine sent keeps a new `start` from sending another.
pub const RECENT: Duration = Duration::from_secs(5 * 60);
/// How much of the end of the log is read to find recent requests.
const TAIL: u64 = 256 * 1024;

/// What a mutating request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The request that starts a rollback.
    Rollback,
    /// A step the platform needs on the way (a Manual-mode walk).
    Step,
}

/// What became of a mutating request, as far as this machine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivered {
    /// The platform answered with success.
    Accepted,
    /// The platform answered with an error: it did not act.
    Refused,
    /// It may or may not have been received (reset, timeout, 5xx, unreadable answer).
    Ambiguous,
    /// It provably never reached the platform (no connection).
    NotSent,
}

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// RFC 3339, milliseconds.
    pub at: String,
    /// Ties a run's lines together.
    pub run: String,
    /// `request` or `result`.
    pub event: String,
    pub platform: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL as the tool built it (no credential ever travels in a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where the request finally went, when a redirect took it elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// For a request, what became of it ([`Delivered`]); for a result, the run's outcome.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The fleet target's name (in a fleet's journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A rollback request found in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    pub at: SystemTime,
    pub outcome: Delivered,
}

/// The log of one run.
#[derive(Debug)]
pub struct Audit {
    path: Option<PathBuf>,
    run: String,
    wrote: std::cell::Cell<bool>,
    /// A fleet's journal and the target's name there: each request goes there too.
    journal: Option<(PathBuf, String)>,
}

impl Audit {
    /// `path`: `None` when the trail is off (`--no-audit`) or no place for it is known.
    pub fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            run: format!("{:016x}", fastrand::u64(..)),
            wrote: std::cell::Cell::new(false),
            journal: None,
        }
    }

    /// Also records each request in a fleet's journal, under the target's `name`.
    pub fn with_journal(mut self, journal: PathBuf, name: String) -> Self {
        self.journal = Some((journal, name));
        self
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether this run recorded a request (then it also records its result).
    pub fn wrote(&self) -> bool {
        self.wrote.get()
    }

    /// A fresh entry of this run; `outcome` is any value serialized as one word (a
    /// [`Delivered`], the result's outcome, or a plain string).
    pub fn entry(
        &self,
        event: &str,
        platform: &str,
        target: &str,
        outcome: impl Serialize,
    ) -> Entry {
        Entry {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            run: self.run.clone(),
            event: event.into(),
            platform: platform.into(),
            target: target.into(),
            kind: None,
            method: None,
            url: None,
            sent_to: None,
            outcome: serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            http_status: None,
            exit_code: None,
            name: None,
        }
    }

    /// Appends one line. `Err` holds the warning to show; the run goes on.
    pub fn append(&self, entry: &Entry) -> Result<(), String> {
        let journaled = match &self.journal {
            Some((journal, name)) if entry.event == "request" => {
                let mut named = entry.clone();
                named.name = Some(name.clone());
                append_line(journal, &named, "the journal")
            }
            _ => Ok(()),
        };
        let Some(path) = &self.path else {
            return journaled;
        };
        if entry.event == "request" {
            self.wrote.set(true);
        }
        append_line(path, entry, "the audit log").and(journaled)
    }

    /// The latest rollback request sent to `url` for `platform`/`target` in the last
    /// [`RECENT`] that may have reached it (accepted, or of unknown fate).
    pub fn recent_rollback(&self, platform: &str, target: &str, url: &str) -> Option<Prior> {
        let path = self.path.as_ref()?;
        let text = read_tail(path).ok()?;
        let now = SystemTime::now();
        text.lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Entry>(line).ok())
            .filter(|e| {
                e.event == "request"
                    && e.kind == Some(Kind::Rollback)
                    && e.platform == platform
                    && e.target == target
                    && e.url.as_deref() == Some(url)
            })
            .filter_map(|e| {
                let outcome = match e.outcome.as_str() {
                    "accepted" => Delivered::Accepted,
                    "ambiguous" => Delivered::Ambiguous,
                    _ => return None,
                };
                let at = humantime::parse_rfc3339(&e.at).ok()?;
                // A clock set back must not make an old entry look fresh for ever.
                let age = now.duration_since(at).ok()?;
                (age <= RECENT).then_some(Prior { at, outcome })
            })
            .next()
    }
}

/// Appends `entry` as one line to the file at `path` (`what` names it in the warning).
pub fn append_line(path: &Path, entry: &Entry, what: &str) -> Result<(), String> {
    let mut line = serde_json::to_string(entry).map_err(|e| e.to_string())?;
    line.push('\n');
    open_for_append(path)
        // One write per line: appends of a few hundred bytes do not interleave.
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .map_err(|e| format!("cannot write {what} {}: {e}", path.display()))
}

/// The default place: `$XDG_STATE_HOME/rollback/audit.jsonl`, else `~/.local/state/…`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(base.join("rollback").join("audit.jsonl"))
}

fn open_for_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    options.open(path)
}

/// The last [`TAIL`] bytes of the log, from the first whole line on.
fn read_tail(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(TAIL).read_to_end(&mut bytes)?;
    if start > 0 {
        let first = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.drain(..first);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(audit: &Audit, url: &str, outcome: &str, at: SystemTime) -> Entry {
        let mut entry = audit.entry("request", "sf-app", "myapp~app1", outcome);
        entry.at = humantime::format_rfc3339_millis(at).to_string();
        entry.kind = Some(Kind::Rollback);
        entry.method = Some("POST".into());
        entry.url = Some(url.into());
        entry
    }

    #[test]
    fn finds_recent_rollbacks_of_the_same_target_only() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::new(Some(dir.path().join("a/b/audit.jsonl")));
        let now = SystemTime::now();
        let url = "http://127.0.0.1:1/Applications/myapp~app1/$/RollbackUpgrade";
        assert_eq!(audit.recent_rollback("sf-app", "myapp~app1", url), None);
        audit.append(&request(&audit, url, "refused", now)).unwrap();
        audit
            .append(&request(&audit, "http://other/", "accepted", now))
            .unwrap();
        audit
            .append(&request(&audit, url, "accepted", now - RECENT * 2))
            .unwrap();
        assert_eq!(audit.recent_rollback("sf-app", "myapp~app1", url), None);
        let at = now - Duration::from_secs(10);
        audit
            .append(&request(&audit, url, "ambiguous", at))
            .unwrap();
        let prior = audit.recent_rollback("sf-app", "myapp~app1", url).unwrap();
        assert_eq!(prior.outcome, Delivered::Ambiguous);
        assert_eq!(audit.recent_rollback("sf-app", "other", url), None);
        assert_eq!(audit.recent_rollback("arcgis", "myapp~app1", url), None);
        // From the future (a clock set back): ignored.
        audit
            .append(&request(&audit, url, "accepted", now + RECENT))
            .unwrap();
        assert_eq!(
            audit
                .recent_rollback("sf-app", "myapp~app1", url)
                .unwrap()
                .outcome,
            Delivered::Ambiguous
        );
        assert!(audit.wrote());
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_private_and_garbage_is_skipped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/audit.jsonl");
        let audit = Audit::new(Some(path.clone()));
        let url = "http://x/";
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::set_permissions(
            path.parent().unwrap(),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        audit
            .append(&request(&audit, url, "accepted", SystemTime::now()))
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A torn or foreign line does not hide the entries around it.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"not json\n{\"half\":\n").unwrap();
        assert!(audit.recent_rollback("sf-app", "myapp~app1", url).is_some());
        let fresh = dir.path().join("state/rollback/audit.jsonl");
        Audit::new(Some(fresh.clone()))
            .append(&request(&audit, url, "accepted", SystemTime::now()))
            .unwrap();
        let dir_mode = std::fs::metadata(fresh.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn a_log_that_cannot_be_written_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let audit = Audit::new(Some(dir.path().to_path_buf()));
        let entry = audit.entry("request", "sf-app", "t", "accepted");
        let warning = audit.append(&entry).unwrap_err();
        assert!(
            warning.starts_with("cannot write the audit log"),
            "{warning}"
        );
    }

    #[test]
    fn only_the_tail_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::new(Some(path.clone()));
        let url = "http://x/";
        let mut old = request(&audit, url, "accepted", SystemTime::now());
        old.target = "far".into();
        audit.append(&old).unwrap();
        let filler = format!("{}\n", "x".repeat(1000));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for _ in 0..300 {
            file.write_all(filler.as_bytes()).unwrap();
        }
        assert!(audit.recent_rollback("sf-app", "far", url).is_none());
        let mut near = old.clone();
        near.target = "near".into();
        audit.append(&near).unwrap();
        assert!(audit.recent_rollback("sf-app", "near", url).is_some());
    }
}
