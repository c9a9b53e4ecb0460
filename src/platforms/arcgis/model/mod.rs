//! The documents the admin API answers, as serde models: the upgrades job ([`job`]), Check
//! Rollback's options, generateToken's answer, and what `--verify` reads ([`health`]). ArcGIS writes numbers as strings too, dates
//! beyond any calendar and fields of any type, so each field is a [`Loose`] leaf, read as what
//! it turns out to be rather than refused.

mod health;
mod job;

use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, excerpt};

pub(super) use health::{FailedTest, Report, current_version, report_path};
pub(super) use job::{Job, JobMessage, MAX_MESSAGES, Upgrades};

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
fn integer(value: &Value) -> Option<i64> {
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
fn time_from_ms(ms: i64) -> Option<SystemTime> {
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

/// A name, version or code: a non-empty string, or a number as written.
pub(super) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A field as the server wrote it, whatever its type: `None` only when it is absent.
#[derive(Debug, Clone, Default)]
pub(super) struct Loose(Option<Value>);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Not `Option<Value>`, which reads `null` as absent: a `when` of null is shown as such,
        // and an `expires` of null is not replaced by `expiration`.
        Value::deserialize(deserializer).map(|value| Self(Some(value)))
    }
}

impl Loose {
    /// The value, when the field is present.
    fn value(&self) -> Option<&Value> {
        self.0.as_ref()
    }

    /// A string, and nothing else.
    fn as_str(&self) -> Option<&str> {
        self.value()?.as_str()
    }

    /// See [`integer`].
    fn integer(&self) -> Option<i64> {
        integer(self.value()?)
    }

    /// See [`text`].
    fn text(&self) -> Option<String> {
        text(self.value()?)
    }

    /// See [`epoch_ms`].
    fn epoch_ms(&self) -> Option<i64> {
        epoch_ms(self.value()?)
    }

    /// See [`when_label`]; "no time" when absent.
    fn when_label(&self) -> String {
        self.value()
            .map(when_label)
            .unwrap_or_else(|| "no time".into())
    }

    /// This field when present, else `other`.
    fn or<'a>(&'a self, other: &'a Self) -> &'a Self {
        if self.0.is_some() { self } else { other }
    }
}

/// `T` read from `value` when it is an object; anything else reads as every field absent
/// (serde would take a list's items for the fields, in order).
fn fields_of<T: DeserializeOwned + Default>(value: &Value) -> T {
    match value {
        // Every field is `Loose`, which reads anything: an object always reads.
        Value::Object(_) => T::deserialize(value).unwrap_or_default(),
        _ => T::default(),
    }
}

/// generateToken's answer: `{"token":"…","expires":<epoch ms>,"ssl":true}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TokenAnswer {
    token: Loose,
    expires: Loose,
    /// What the Python API reads when `expires` is absent.
    expiration: Loose,
}

impl TokenAnswer {
    /// The answer in `value`; anything but an object has no token.
    pub fn read(value: &Value) -> Self {
        fields_of(value)
    }

    /// The token, when it is a non-empty string.
    pub fn token(&self) -> Option<&str> {
        self.token.as_str().filter(|t| !t.is_empty())
    }

    /// When the token expires (`expires`, else `expiration`, in epoch milliseconds), when that
    /// is a time the clock can hold.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires
            .or(&self.expiration)
            .integer()
            .and_then(time_from_ms)
    }
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

    /// For a question: `Security patch 2 (10.9.0, build 505)`, the id when it has no name.
    pub fn readable(&self) -> String {
        let mut parts = Vec::new();
        if let Some(version) = self.version.as_deref().filter(|v| !v.is_empty()) {
            parts.push(version.to_string());
        }
        if let Some(build) = self.build.as_deref().filter(|b| !b.is_empty()) {
            parts.push(format!("build {build}"));
        }
        let name = self
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.id);
        if parts.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({})", parts.join(", "))
        }
    }

    /// Its row in `targets`: id, version.build, type, name.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.version_build().unwrap_or_default(),
            self.update_type.clone().unwrap_or_default(),
            self.name.clone().unwrap_or_default(),
        ]
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

/// Check Rollback's answer: `{"updates":[…]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckRollback {
    updates: Loose,
}

/// One of Check Rollback's `updates`; the rest of it (description, containers, …) is not read.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Update {
    id: Loose,
    name: Loose,
    version: Loose,
    build: Loose,
    update_type: Loose,
}

/// The `updates` of Check Rollback.
pub fn parse_options(value: &Value) -> Result<Vec<RollbackOption>, Error> {
    let answer: CheckRollback = fields_of(value);
    let Some(updates) = answer.updates.value().and_then(Value::as_array) else {
        return Err(Error::unexpected(format!(
            "checkRollback answered without an updates list: {}",
            excerpt(value.to_string().as_bytes(), 200)
        )));
    };
    Ok(updates
        .iter()
        .filter_map(|item| {
            let update: Update = fields_of(item);
            Some(RollbackOption {
                id: update.id.text()?,
                name: update.name.text(),
                version: update.version.text(),
                build: update.build.text(),
                update_type: update.update_type.text(),
            })
        })
        .collect())
}
