//! The documents the admin API answers: the upgrades job (its messages cut down to the last
//! [`MAX_MESSAGES`]), Check Rollback's options, and the leniency ArcGIS's numbers and dates need.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::error::{Error, excerpt};

/// Message code of "rollback started" in the upgrades job.
const ROLLBACK_STARTED: i64 = 2072;

/// A message's `when` as a key to order messages by: epoch milliseconds, with numbers beyond
/// the range of `i64` (1e300) saturated so that they still sort last (or first).
fn epoch_ms(value: &Value) -> Option<i64> {
    match value {
        // `as` saturates; JSON has no NaN.
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An integer as ArcGIS writes one: a number without a fraction that fits in `i64`, or such a
/// number in a string. `2.5`, `1e300` and `"soon"` are none.
pub(super) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            // i64::MAX as f64 rounds up to 2^63, which is out of range: hence `<`.
            (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Epoch milliseconds as a time, when the clock can hold it (not before 1970).
pub(super) fn time_from_ms(ms: i64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))
}

/// The first millisecond of the year 10000: RFC 3339 has four-digit years.
const YEAR_10000_MS: i64 = 253_402_300_800_000;

/// A message's `when` for people: RFC 3339 for a date from 1970 to 9999, else the raw value
/// (shortened) as the server wrote it.
fn when_label(value: &Value) -> String {
    match integer(value)
        .filter(|ms| (0..YEAR_10000_MS).contains(ms))
        .and_then(time_from_ms)
    {
        Some(at) => humantime::format_rfc3339_seconds(at).to_string(),
        None => {
            let raw = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            excerpt(raw.as_bytes(), 40)
        }
    }
}

/// Job messages kept from one reading: a job can log without end, memory must not grow with it.
pub const MAX_MESSAGES: usize = 500;

/// One message of the upgrades job.
#[derive(Debug, Clone, Hash)]
pub(super) struct JobMessage {
    pub text: String,
    pub when: Option<i64>,
    /// `when` as shown: a date, or the raw value when it is none.
    pub stamp: String,
    pub code: Option<i64>,
}

/// `status` of the upgrades resource.
#[derive(Debug)]
pub(super) struct Job {
    pub state: String,
    pub code: Option<i64>,
    /// The last [`MAX_MESSAGES`] messages, in the server's order.
    pub messages: Vec<JobMessage>,
    /// Messages before those, not kept.
    pub dropped: usize,
    /// The newest `when` among all messages, kept or not.
    pub newest: Option<i64>,
    /// The last "rollback started" message (code 2072), kept or not.
    pub rollback: Option<JobMessage>,
}

fn job_message(m: &Value) -> JobMessage {
    JobMessage {
        text: m
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| m.to_string(), str::to_string),
        when: m.get("when").and_then(epoch_ms),
        stamp: m
            .get("when")
            .map(when_label)
            .unwrap_or_else(|| "no time".into()),
        code: m.get("code").and_then(integer),
    }
}

/// Reads the job, and cuts the document's message list down to the last [`MAX_MESSAGES`],
/// saying how many went (`status.messages_dropped`), so that what is kept stays small.
pub(super) fn parse_job(value: &mut Value, url: &str) -> Result<Job, Error> {
    let Some(status) = value.get_mut("status").filter(|s| s.is_object()) else {
        return Err(Error::unexpected(format!(
            "{url}/admin/system/upgrades answered without a status object: {}",
            excerpt(value.to_string().as_bytes(), 200)
        )));
    };
    let mut newest = None;
    let mut rollback = None;
    let mut dropped = 0;
    let mut messages = Vec::new();
    if let Some(items) = status.get_mut("messages").and_then(Value::as_array_mut) {
        for item in items.iter() {
            let when = item.get("when").and_then(epoch_ms);
            newest = newest.max(when);
            if item.get("code").and_then(integer) == Some(ROLLBACK_STARTED) {
                rollback = Some(job_message(item));
            }
        }
        dropped = items.len().saturating_sub(MAX_MESSAGES);
        items.drain(..dropped);
        messages = items.iter().map(job_message).collect();
    }
    if dropped > 0
        && let Some(map) = status.as_object_mut()
    {
        map.insert("messages_dropped".into(), dropped.into());
    }
    Ok(Job {
        state: status
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        code: status.get("code").and_then(integer),
        messages,
        dropped,
        newest,
        rollback,
    })
}

/// A version the deployment can roll back to.
#[derive(Debug, Clone)]
pub struct RollbackOption {
    pub id: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub build: Option<String>,
    pub update_type: Option<String>,
}

impl RollbackOption {
    /// `10.9.0.505`: version and build, or whichever is known.
    pub fn version_build(&self) -> Option<String> {
        match (&self.version, &self.build) {
            (Some(v), Some(b)) if v.ends_with(&format!(".{b}")) => Some(v.clone()),
            (Some(v), Some(b)) => Some(format!("{v}.{b}")),
            (Some(v), None) => Some(v.clone()),
            (None, Some(b)) => Some(b.clone()),
            (None, None) => None,
        }
    }

    /// One line for lists.
    pub fn line(&self) -> String {
        let mut text = self.id.clone();
        if let Some(v) = self.version_build() {
            text.push_str(&format!("  {v}"));
        }
        if let Some(t) = &self.update_type {
            text.push_str(&format!("  {t}"));
        }
        if let Some(n) = &self.name {
            text.push_str(&format!("  {n}"));
        }
        text
    }
}

fn text_field(item: &Value, key: &str) -> Option<String> {
    match item.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `updates` of Check Rollback.
pub fn parse_options(value: &Value) -> Result<Vec<RollbackOption>, Error> {
    let Some(updates) = value.get("updates").and_then(Value::as_array) else {
        return Err(Error::unexpected(format!(
            "checkRollback answered without an updates list: {}",
            excerpt(value.to_string().as_bytes(), 200)
        )));
    };
    Ok(updates
        .iter()
        .filter_map(|item| {
            Some(RollbackOption {
                id: text_field(item, "id")?,
                name: text_field(item, "name"),
                version: text_field(item, "version"),
                build: text_field(item, "build"),
                update_type: text_field(item, "updateType"),
            })
        })
        .collect())
}
