//! ArcGIS Enterprise on Kubernetes, Administrator API: the upgrades job, the rollback options
//! (Check Rollback), the rollback itself, and tokens (generateToken, refreshed while a password
//! is held). Every answer is checked for ArcGIS's error envelopes, which arrive with HTTP 200.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Url};
use serde_json::Value;

use super::{Decision, Phase, Rollback, Snapshot};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Body, Delivery, Field, HttpClient, Request, RequestRecord, Response, Secret};
use crate::output::one_line;

/// Message code of "rollback started" in the upgrades job.
const ROLLBACK_STARTED: i64 = 2072;
/// Polls after our rollback was accepted in which the job may not show yet.
const GRACE_ROUNDS: u32 = 3;
/// Regenerate a token this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A built-in account whose password the tool exchanges for tokens.
pub struct Login {
    pub username: String,
    pub password: Secret,
}

/// The client for one deployment: `URL` is `https://HOST/CONTEXT`.
pub struct ArcgisClient {
    pub http: HttpClient,
    url: String,
    login: Option<Login>,
    /// The referer a generated token is bound to (the origin of `URL`).
    referer: Option<String>,
    /// Token lifetime to ask for, in minutes.
    token_minutes: u64,
    expires_at: Option<SystemTime>,
}

impl ArcgisClient {
    /// `wait` is the run's `--timeout`: a generated token should outlive it.
    pub fn new(http: HttpClient, url: &Url, login: Option<Login>, wait: Duration) -> Self {
        let referer = login.as_ref().map(|_| url.origin().ascii_serialization());
        let token_minutes = wait
            .saturating_add(Duration::from_secs(15 * 60))
            .as_secs()
            .div_ceil(60);
        Self {
            http,
            url: url.as_str().trim_end_matches('/').to_string(),
            login,
            referer,
            token_minutes,
            expires_at: None,
        }
    }

    fn request(&self, path: &str, mut fields: Vec<(&'static str, Field)>) -> Request {
        fields.push(("f", Field::Plain("json".into())));
        // The URL was validated and every path here is fixed, so it parses.
        let url = Url::parse(&format!("{}{path}", self.url)).expect("a valid ArcGIS URL");
        let mut request = Request::new(Method::POST, url).body(Body::Form(fields));
        if let Some(referer) = &self.referer {
            request = request.header("Referer", referer.clone());
        }
        request
    }

    /// generateToken: exchanges the password for a token bound to our referer.
    async fn generate_token(&mut self) -> Result<(), Error> {
        let Some(login) = &self.login else {
            return Ok(());
        };
        let referer = self.referer.clone().unwrap_or_default();
        let request = self
            .request(
                "/sharing/rest/generateToken",
                vec![
                    ("username", Field::Plain(login.username.clone())),
                    ("password", Field::Secret(login.password.clone())),
                    ("client", Field::Plain("referer".into())),
                    ("referer", Field::Plain(referer)),
                    ("expiration", Field::Plain(self.token_minutes.to_string())),
                ],
            )
            .without_token();
        let response = self.http.read(&request).await?;
        let (token, expires_at) = token_answer(&response).map_err(|e| match e {
            Error::Platform(p) | Error::Auth(p) => Error::Auth(Problem {
                message: format!(
                    "generateToken refused the credentials of {}: {}",
                    login.username, p.message
                ),
                ..p
            }),
            other => other,
        })?;
        self.expires_at = Some(expires_at);
        self.http.set_token(Secret::new(token));
        tracing::info!(
            "generated a token for {} ({} minutes asked)",
            login.username,
            self.token_minutes
        );
        Ok(())
    }

    /// Makes sure a held password has produced a token that is not about to expire.
    async fn ensure_token(&mut self) -> Result<(), Error> {
        if self.login.is_none() {
            return Ok(());
        }
        let due = match self.expires_at {
            None => true,
            Some(at) => at
                .checked_sub(REFRESH_MARGIN)
                .is_none_or(|at| SystemTime::now() >= at),
        };
        if due {
            self.generate_token().await
        } else {
            Ok(())
        }
    }

    /// One admin call; a token refused as expired or invalid is regenerated once.
    pub async fn call(
        &mut self,
        path: &str,
        fields: Vec<(&'static str, Field)>,
    ) -> Result<(Value, Response), Error> {
        self.ensure_token().await?;
        let response = self.http.read(&self.request(path, fields.clone())).await?;
        match envelope(&response) {
            Err(Error::Auth(p)) if self.login.is_some() && is_token_code(&p) => {
                tracing::info!(
                    "the token was refused ({}); generating a new one",
                    p.message
                );
                self.generate_token().await?;
                let response = self.http.read(&self.request(path, fields)).await?;
                envelope(&response).map(|value| (value, response))
            }
            other => other.map(|value| (value, response)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The token of a generateToken answer and when it expires: `expires` (or `expiration`) in
/// epoch milliseconds, else an hour from now when it is missing or no time (negative, 1e300).
fn token_answer(response: &Response) -> Result<(String, SystemTime), Error> {
    let value = envelope(response)?;
    let Some(token) = value
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Err(Error::unexpected(format!(
            "generateToken answered without a token: {}",
            excerpt(&response.body, 200)
        )));
    };
    // It goes into a header: nothing is sent with a token that cannot be one.
    crate::input::plain_secret(token, "the token generateToken answered")
        .map_err(|e| Error::unexpected(e.to_string()))?;
    let now = SystemTime::now();
    let expires_at = value
        .get("expires")
        .or_else(|| value.get("expiration"))
        .and_then(integer)
        .and_then(time_from_ms)
        .unwrap_or_else(|| now.checked_add(Duration::from_secs(3600)).unwrap_or(now));
    Ok((token.to_string(), expires_at))
}

fn is_token_code(problem: &Problem) -> bool {
    matches!(problem.platform_code.as_deref(), Some("498" | "499"))
}

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

fn code_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The JSON of an answer, or the error it holds: HTTP status, then both error envelopes.
pub fn envelope(response: &Response) -> Result<Value, Error> {
    let path = response.url.path();
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let (code, message) = match &parsed {
        Some(Value::Object(map)) if map.get("error").is_some_and(Value::is_object) => {
            let error = &map["error"];
            let mut message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string();
            let details: Vec<&str> = error
                .get("details")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !details.is_empty() {
                message.push_str(&format!(" ({})", details.join("; ")));
            }
            (code_text(error.get("code")), Some(message))
        }
        Some(Value::Object(map)) if map.get("status").and_then(Value::as_str) == Some("error") => {
            let messages: Vec<String> = map
                .get("messages")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let message = if messages.is_empty() {
                "no message".to_string()
            } else {
                messages.join("; ")
            };
            (code_text(map.get("code")), Some(message))
        }
        _ => (None, None),
    };
    let status = response.status;
    if let Some(message) = message {
        let text = match &code {
            Some(code) => format!("{path} answered error {code}: {message}"),
            None => format!("{path} answered an error: {message}"),
        };
        let problem = Problem::new(text).with_code(code.clone());
        let problem = if (200..300).contains(&status) {
            problem
        } else {
            problem.with_status(status)
        };
        return Err(match code.as_deref() {
            Some("498" | "499" | "401" | "403") => Error::Auth(problem),
            _ if matches!(status, 401 | 403) => Error::Auth(problem),
            _ if (200..300).contains(&status) => Error::Platform(problem),
            _ => Error::from_http_status(status, problem),
        });
    }
    if !(200..300).contains(&status) {
        let text = format!(
            "{path} answered HTTP {status}: {}",
            excerpt(&response.body, 200)
        );
        return Err(Error::from_http_status(status, Problem::new(text)));
    }
    parsed.ok_or_else(|| {
        Error::unexpected(format!(
            "{path} answered something that is not JSON (a login or proxy page?): {}",
            excerpt(&response.body, 200)
        ))
    })
}

/// Job messages kept from one reading: a job can log without end, memory must not grow with it.
pub const MAX_MESSAGES: usize = 500;

/// One message of the upgrades job.
#[derive(Debug, Clone, Hash)]
struct JobMessage {
    text: String,
    when: Option<i64>,
    /// `when` as shown: a date, or the raw value when it is none.
    stamp: String,
    code: Option<i64>,
}

/// `status` of the upgrades resource.
#[derive(Debug)]
struct Job {
    state: String,
    code: Option<i64>,
    /// The last [`MAX_MESSAGES`] messages, in the server's order.
    messages: Vec<JobMessage>,
    /// Messages before those, not kept.
    dropped: usize,
    /// The newest `when` among all messages, kept or not.
    newest: Option<i64>,
    /// The last "rollback started" message (code 2072), kept or not.
    rollback: Option<JobMessage>,
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
fn parse_job(value: &mut Value, url: &str) -> Result<Job, Error> {
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

/// `--to`: an option's id, or the newest option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Previous,
    Id(String),
}

impl Choice {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("previous") {
            return Ok(Self::Previous);
        }
        if value.is_empty()
            || value.len() > crate::input::MAX_VALUE
            || value.chars().any(|c| c.is_control())
        {
            return Err(format!(
                "--to {}: expected an id from `rollback arcgis targets`, or previous",
                crate::input::shown(value)
            ));
        }
        Ok(Self::Id(value.to_string()))
    }
}

/// Picks the option `choice` names; exit 3 (listing the options) when there is none.
pub fn choose(
    options: &[RollbackOption],
    choice: &Choice,
    url: &str,
) -> Result<RollbackOption, Error> {
    let listing = || {
        options
            .iter()
            .map(RollbackOption::line)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if options.is_empty() {
        return Err(Error::NothingToRollBack(Problem::new(format!(
            "no patch is installed on {url}: Check Rollback lists no version to roll back to"
        ))));
    }
    match choice {
        Choice::Id(id) if id.starts_with("rel_") => Err(Error::Usage(format!(
            "--to {id}: that is a release; only patches can be rolled back"
        ))),
        Choice::Id(id) => options
            .iter()
            .find(|o| o.id == *id)
            .cloned()
            .ok_or_else(|| {
                Error::NothingToRollBack(Problem::new(format!(
                    "{id} is not among the versions {url} can roll back to: {}",
                    listing()
                )))
            }),
        Choice::Previous => {
            let build = |o: &RollbackOption| {
                o.build
                    .as_deref()
                    .and_then(|b| b.trim().parse::<u64>().ok())
            };
            let newest = options.iter().filter_map(build).max();
            let candidates: Vec<&RollbackOption> =
                options.iter().filter(|o| build(o) == newest).collect();
            match (newest, candidates.as_slice()) {
                (Some(_), [only]) if options.iter().all(|o| build(o).is_some()) => {
                    Ok((*only).clone())
                }
                _ => Err(Error::NothingToRollBack(Problem::new(format!(
                    "cannot tell which version is the previous one (builds missing or equal); pick one with --to: {}",
                    listing()
                )))),
            }
        }
    }
}

#[derive(Debug, Default)]
struct Tracking {
    /// The newest job message when the run first looked.
    baseline: Option<i64>,
    /// How often each message (by when, code and text) appeared in the last reading: a message
    /// is new when it appears more often than that, whatever its `when`.
    seen: HashMap<u64, usize>,
    /// Messages dropped from the readings so far, as last said.
    dropped_said: usize,
    /// When our rollback was accepted.
    accepted_at: Option<Instant>,
    /// A rollback sent by this run or a run on this machine moments ago may have been received
    /// without an answer saying so: a job that shows up is that rollback.
    expected: bool,
    /// Polls since acceptance in which the job did not show.
    unseen_rounds: u32,
    /// The last rollback the job reported (its "rollback started" message).
    last_rollback: Option<JobMessage>,
    chosen: Option<RollbackOption>,
    last_detail: Value,
}

fn message_key(message: &JobMessage) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    message.hash(&mut hasher);
    hasher.finish()
}

/// One deployment's patch rollback.
pub struct ArcgisTarget {
    pub client: ArcgisClient,
    pub to: Option<Choice>,
    tracking: Tracking,
}

impl ArcgisTarget {
    pub fn new(client: ArcgisClient, to: Option<Choice>) -> Self {
        Self {
            client,
            to,
            tracking: Tracking::default(),
        }
    }

    /// Check Rollback.
    pub async fn options(&mut self) -> Result<(Vec<RollbackOption>, Value), Error> {
        let (value, _) = self
            .client
            .call("/admin/system/upgrades/checkRollback", Vec::new())
            .await?;
        Ok((parse_options(&value)?, value))
    }

    fn judge(&mut self, job: Job, detail: Value) -> Snapshot {
        let t = &mut self.tracking;
        let newest = job.newest;
        let first_look = t.baseline.is_none();
        if first_look {
            t.baseline = newest.or(Some(i64::MIN));
        }
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for message in &job.messages {
            *counts.entry(message_key(message)).or_default() += 1;
        }
        let mut events = Vec::new();
        if !first_look {
            // The messages beyond those seen before, in the server's order.
            let mut new: HashMap<u64, usize> = counts
                .iter()
                .map(|(key, n)| {
                    (
                        *key,
                        n.saturating_sub(t.seen.get(key).copied().unwrap_or(0)),
                    )
                })
                .collect();
            let mut fresh: Vec<&JobMessage> = Vec::new();
            for message in job.messages.iter().rev() {
                if let Some(n) = new.get_mut(&message_key(message)).filter(|n| **n > 0) {
                    *n -= 1;
                    fresh.push(message);
                }
            }
            fresh.reverse();
            if job.dropped > t.dropped_said {
                events.push(format!(
                    "({} older job messages not kept; the last {MAX_MESSAGES} are)",
                    job.dropped
                ));
            }
            events.extend(fresh.iter().map(|m| format!("[{}] {}", m.stamp, m.text)));
        }
        t.seen = counts;
        t.dropped_said = t.dropped_said.max(job.dropped);
        if job.rollback.is_some() {
            t.last_rollback.clone_from(&job.rollback);
        }
        let rollback_job = job.rollback.is_some();
        let since_baseline = newest.is_some() && newest > t.baseline;
        let accepted = t.accepted_at.is_some() || t.expected;
        let (mut phase, mut moving) = match job.state.as_str() {
            "no_upgrade" => (Phase::Idle, false),
            "in_progress" if accepted || rollback_job => (Phase::RollingBack, true),
            "in_progress" => (Phase::Upgrading, true),
            "success" if accepted && since_baseline => (Phase::RolledBack, false),
            "success" if accepted => (Phase::Idle, false),
            "success" if rollback_job => (Phase::RolledBack, false),
            "success" => (Phase::Idle, false),
            _ => (Phase::Unknown, false),
        };
        let last = job
            .messages
            .iter()
            .max_by_key(|m| m.when)
            .map(|m| m.text.clone());
        let code = job.code.map(|c| format!(" (code {c})")).unwrap_or_default();
        let mut progress = format!(
            "job {}{code}",
            if job.state.is_empty() {
                "(no state)"
            } else {
                &job.state
            }
        );
        if let Some(last) = &last {
            progress.push_str(&format!(": {last}"));
        }
        let mut failure = None;
        if accepted && phase == Phase::Idle {
            // The job of our rollback may not show at once.
            t.unseen_rounds += 1;
            if t.unseen_rounds <= GRACE_ROUNDS {
                // Still idle as far as anyone can see: keep looking, claim nothing.
                moving = true;
                progress = format!("waiting for the rollback job to show ({progress})");
            } else {
                phase = Phase::Unknown;
                failure = Some(Problem::new(format!(
                    "the rollback job did not show in {GRACE_ROUNDS} reads after the rollback was sent; the rollback request may or may not have been received: the job reports state {:?}{code}; check with `status` before trying again",
                    job.state
                )));
            }
        }
        let failure = failure.or_else(|| {
            (phase == Phase::Unknown).then(|| {
                let recent: Vec<String> = job
                    .messages
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .map(|m| m.text.clone())
                    .collect();
                Problem::new(format!(
                    "the upgrades job reports state {:?}{code}{}",
                    job.state,
                    if recent.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", recent.join(" / "))
                    }
                ))
            })
        });
        t.last_detail = detail.clone();
        Snapshot {
            phase,
            platform_state: Some(job.state).filter(|s| !s.is_empty()),
            from_version: None,
            progress,
            failure,
            detail,
            retry_after: None,
            moving,
            next_step: None,
            events,
        }
    }

    /// While a rollback runs, pods restart: an error is a reason to look again, not to stop.
    fn unavailable(&self, error: &Error) -> Snapshot {
        let t = &self.tracking;
        Snapshot {
            phase: Phase::RollingBack,
            platform_state: None,
            from_version: None,
            progress: format!(
                "the admin API is not answering ({error}); the rollback job goes on, still waiting"
            ),
            failure: None,
            detail: t.last_detail.clone(),
            retry_after: None,
            moving: true,
            next_step: None,
            events: Vec::new(),
        }
    }

    fn ran_for(&self) -> String {
        match self.tracking.accepted_at {
            Some(at) => format!(
                "the rollback job had run for {} and continues on the ArcGIS deployment",
                humantime::format_duration(Duration::from_secs(at.elapsed().as_secs()))
            ),
            None => "a running rollback job continues on the ArcGIS deployment".into(),
        }
    }
}

impl Rollback for ArcgisTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        // A held password may need a fresh token first; without one nothing is sent.
        if let Err(error) = self.client.ensure_token().await {
            return Delivery::NotSent {
                error,
                retry: false,
            };
        }
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(10)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        let waiting = {
            let t = &self.tracking;
            t.accepted_at.is_some() || t.expected
        };
        let (mut value, _) = match self.client.call("/admin/system/upgrades", Vec::new()).await {
            Ok(answer) => answer,
            Err(Error::Auth(p)) if waiting => {
                let message = if is_token_code(&p) {
                    format!(
                        "the token expired or is no longer valid ({}); {}",
                        p.message,
                        self.ran_for()
                    )
                } else {
                    format!("{}; {}", p.message, self.ran_for())
                };
                return Err(Error::Auth(Problem { message, ..p }));
            }
            Err(error @ (Error::Usage(_) | Error::Auth(_))) => return Err(error),
            Err(error) if waiting => return Ok(self.unavailable(&error)),
            Err(error) => return Err(error),
        };
        match parse_job(&mut value, self.client.url()) {
            Ok(job) => Ok(self.judge(job, value)),
            Err(error) if waiting => Ok(self.unavailable(&error)),
            Err(error) => Err(error),
        }
    }

    fn decide(&self, snapshot: &Snapshot) -> Decision {
        let state = snapshot.platform_state.as_deref().unwrap_or("no state");
        match snapshot.phase {
            // The last job was a rollback: `previous` would now remove a further patch, which
            // a retried step must never do by accident.
            Phase::RolledBack if !matches!(self.to, Some(Choice::Id(_))) => {
                let done = self
                    .tracking
                    .last_rollback
                    .as_ref()
                    .map(|m| format!(" ({} at {})", m.text, m.stamp))
                    .unwrap_or_default();
                Decision::Nothing(format!(
                    "the last job already rolled back a patch{done}; to roll back a further patch, name it with --to ID (see `rollback arcgis targets`)"
                ))
            }
            // Idle, yet moving: a rollback of ours was accepted or may have been received, and
            // its job has not shown yet.
            Phase::Idle if snapshot.moving => Decision::Attach,
            Phase::Idle | Phase::RolledBack => Decision::RollBack,
            Phase::RollingBack => Decision::Attach,
            Phase::Upgrading => Decision::Nothing(format!(
                "an upgrade job is running ({state}); a patch can be rolled back once it has ended"
            )),
            Phase::Failed | Phase::Unknown => Decision::Refuse(Error::Unexpected(
                snapshot.failure.clone().unwrap_or_else(|| {
                    Problem::new(format!(
                        "unrecognised job state {state}; no rollback was sent"
                    ))
                }),
            )),
        }
    }

    fn expect_rollback(&mut self) -> bool {
        let t = &mut self.tracking;
        t.expected = true;
        t.unseen_rounds = 0;
        true
    }

    async fn prepare(&mut self, _snapshot: &Snapshot) -> Result<(), Error> {
        let (options, _) = self.options().await?;
        let choice = self.to.clone().unwrap_or(Choice::Previous);
        let chosen = choose(&options, &choice, self.client.url())?;
        if !chosen.id.starts_with("pat_") {
            tracing::warn!("{} does not look like a patch id (pat_…)", chosen.id);
        }
        self.tracking.chosen = Some(chosen);
        Ok(())
    }

    fn describe(&self, snapshot: &Snapshot) -> String {
        let t = &self.tracking;
        // The server's words stay on their own line: a newline in them cannot fake another.
        let target = t.chosen.as_ref().map(|c| c.line()).unwrap_or_default();
        format!(
            "{}: {}\nThe organization is read-only while the rollback runs, and patches installed after the chosen version are removed with it.\nRoll back to {}?",
            self.client.url(),
            one_line(&snapshot.progress),
            one_line(&target)
        )
    }

    fn rollback_request(&self) -> Request {
        let id = self
            .tracking
            .chosen
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        self.client.request(
            "/admin/system/upgrades/rollback",
            vec![
                (
                    "versionManifest",
                    Field::Plain(serde_json::json!({ "id": id }).to_string()),
                ),
                ("rollbackSettings", Field::Plain("{}".into())),
            ],
        )
    }

    fn rejection(&self, response: &Response) -> Error {
        match envelope(response) {
            Err(error) => error,
            Ok(_) => Error::from_http_status(
                response.status,
                Problem::new(format!(
                    "{} answered HTTP {}",
                    response.url.path(),
                    response.status
                )),
            ),
        }
    }

    fn accepted(&mut self, response: &Response) -> Result<Option<String>, Error> {
        match envelope(response) {
            // A JSON error in a success status: the rollback was refused.
            Err(error @ (Error::Platform(_) | Error::Auth(_))) => return Err(error),
            Err(error) => tracing::debug!(
                "the rollback answer is not plain JSON ({error}); taken as accepted"
            ),
            Ok(_) => {}
        }
        let t = &mut self.tracking;
        t.accepted_at = Some(Instant::now());
        t.unseen_rounds = 0;
        Ok(None)
    }

    async fn settled_version(&mut self) -> Option<String> {
        self.tracking
            .chosen
            .as_ref()
            .and_then(RollbackOption::version_build)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(id: &str, build: Option<&str>) -> RollbackOption {
        RollbackOption {
            id: id.into(),
            name: None,
            version: Some("10.9.0".into()),
            build: build.map(str::to_string),
            update_type: Some("patch".into()),
        }
    }

    use crate::http::{ClientOptions, TlsOptions, TokenPlacement};
    use crate::testing::{arb_json, arb_object_with, response};
    use proptest::prelude::*;

    fn target() -> ArcgisTarget {
        let url = Url::parse("https://gis.invalid/arcgis").unwrap();
        let http = HttpClient::new(ClientOptions {
            base: url.clone(),
            // Nothing is sent; skipping the system roots keeps each case fast.
            tls: TlsOptions {
                insecure: true,
                ..TlsOptions::default()
            },
            token: None,
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(1),
        })
        .unwrap();
        ArcgisTarget::new(
            ArcgisClient::new(http, &url, None, Duration::from_secs(60)),
            None,
        )
    }

    proptest! {
        #[test]
        fn arbitrary_answers_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = envelope(&response(status, &body));
        }

        #[test]
        fn arbitrary_json_never_panics(doc in arb_json(), status in arb_object_with(&["state", "code", "messages"])) {
            let _ = envelope(&response(200, doc.to_string().as_bytes()));
            let _ = parse_options(&doc);
            let job = serde_json::json!({ "status": status });
            let mut t = target();
            let mut job = job;
            if let Ok(parsed) = parse_job(&mut job, "u") {
                let _ = t.judge(parsed, job.clone());
            }
            let _ = parse_job(&mut doc.clone(), "u");
        }

        #[test]
        fn unknown_states_are_unknown_with_the_raw_state(state in "[a-z_]{1,16}", extra in arb_json()) {
            prop_assume!(!["no_upgrade", "in_progress", "success"].contains(&state.as_str()));
            let mut job = serde_json::json!({"status": {"state": state, "code": 9, "messages": [], "x": extra}, "more": 1});
            let snapshot = target().judge(parse_job(&mut job, "u").unwrap(), job.clone());
            prop_assert_eq!(snapshot.phase, Phase::Unknown);
            prop_assert_eq!(snapshot.platform_state.as_deref(), Some(state.as_str()));
            prop_assert_eq!(snapshot.detail, job);
        }
    }

    use crate::testing::{Shape, arb_document, arb_value, full_document};
    use Shape::{Leaf, List, Object};

    const JOB: Shape = Object(&[(
        "status",
        Object(&[
            ("state", Leaf),
            ("code", Leaf),
            (
                "messages",
                List(&Object(&[
                    ("message", Leaf),
                    ("when", Leaf),
                    ("code", Leaf),
                ])),
            ),
        ]),
    )]);
    const OPTIONS: Shape = Object(&[(
        "updates",
        List(&Object(&[
            ("id", Leaf),
            ("name", Leaf),
            ("version", Leaf),
            ("build", Leaf),
            ("updateType", Leaf),
            ("previousVersion", Leaf),
            ("description", Leaf),
        ])),
    )]);
    const TOKEN: Shape = Object(&[
        ("token", Leaf),
        ("expires", Leaf),
        ("expiration", Leaf),
        ("ssl", Leaf),
    ]);

    /// Marks a rollback as accepted, as a 2xx answer to the POST does.
    fn accepted(t: &mut ArcgisTarget) {
        t.accepted(&response(200, b"{\"status\":\"success\"}"))
            .unwrap();
    }

    #[test]
    fn the_shapes_produce_readable_documents() {
        let mut job = full_document(&JOB);
        let parsed = parse_job(&mut job, "u").unwrap();
        assert_eq!(parsed.messages.len(), 1);
        assert_eq!(parse_options(&full_document(&OPTIONS)).unwrap().len(), 1);
        assert!(token_answer(&response(200, full_document(&TOKEN).to_string().as_bytes())).is_ok());
    }

    proptest! {
        /// The upgrades job with any value in every field (`when` and `code` 1e300, after the
        /// year 9999, negative, fractional, integer extremes, long strings): judged before and
        /// after a rollback was accepted, each message shown once with its date or raw `when`.
        #[test]
        fn hostile_jobs_are_judged(first in arb_document(&JOB, arb_value), then in arb_document(&JOB, arb_value)) {
            let mut t = target();
            if let Ok(job) = parse_job(&mut first.clone(), "u") {
                let _ = t.judge(job, first.clone());
            }
            accepted(&mut t);
            if let Ok(job) = parse_job(&mut then.clone(), "u") {
                let stamps: Vec<String> = job.messages.iter().map(|m| m.stamp.clone()).collect();
                let snapshot = t.judge(job, then.clone());
                for event in snapshot.events.iter().filter(|e| !e.starts_with('(')) {
                    prop_assert!(stamps.iter().any(|s| event.starts_with(&format!("[{s}] "))), "{}", event);
                }
                let _ = t.decide(&snapshot);
                let _ = t.describe(&snapshot);
            }
        }

        /// Check Rollback with any value in every field of every option.
        #[test]
        fn hostile_options_are_read(doc in arb_document(&OPTIONS, arb_value)) {
            if let Ok(options) = parse_options(&doc) {
                for option in &options {
                    let _ = option.line();
                    prop_assert!(choose(&options, &Choice::Id(option.id.clone()), "u").is_ok() || option.id.starts_with("rel_"));
                }
                let _ = choose(&options, &Choice::Previous, "u");
            }
        }

        /// generateToken with any value in every field: a token that can go into a header,
        /// with an expiry, or an error.
        #[test]
        fn hostile_token_answers_are_read(doc in arb_document(&TOKEN, arb_value)) {
            let answer = token_answer(&response(200, doc.to_string().as_bytes()));
            let usable = |t: &&str| !t.is_empty() && crate::input::plain_secret(t, "t").is_ok();
            match doc.get("token").and_then(Value::as_str).filter(usable) {
                Some(token) => prop_assert_eq!(answer.unwrap().0, token),
                None => prop_assert_eq!(answer.unwrap_err().exit_code(), 1),
            }
        }
    }

    #[test]
    fn dates_beyond_9999_and_numbers_beyond_i64_are_shown_raw() {
        let mut t = target();
        let message = |text: &str, when: Value| serde_json::json!({"message": text, "when": when, "code": 2073});
        let before = serde_json::json!({"status": {"state": "success", "code": 3, "messages": [message("installed", 1_600_000_000_000_i64.into())]}});
        t.judge(parse_job(&mut before.clone(), "u").unwrap(), before.clone());
        accepted(&mut t);
        let after = serde_json::json!({"status": {"state": "in_progress", "code": 1, "messages": [
            message("installed", 1_600_000_000_000_i64.into()),
            message("ten thousand", 253_402_300_800_000_i64.into()),
            message("huge", serde_json::from_str("1e300").unwrap()),
            message("started", 1_700_000_000_000_i64.into()),
            message("fraction", serde_json::from_str("1700000000001.5").unwrap()),
        ]}});
        let snapshot = t.judge(parse_job(&mut after.clone(), "u").unwrap(), after.clone());
        // In the job's own order (a log is appended to), each with its date or raw `when`.
        assert_eq!(
            snapshot.events,
            [
                "[253402300800000] ten thousand",
                "[1e+300] huge",
                "[2023-11-14T22:13:20Z] started",
                "[1700000000001.5] fraction",
            ]
        );
        assert_eq!(snapshot.phase, Phase::RollingBack);
        let negative = serde_json::json!({"status": {"state": "in_progress", "code": -1, "messages": [message("negative", (-5).into())]}});
        assert_eq!(
            parse_job(&mut negative.clone(), "u").unwrap().messages[0].stamp,
            "-5"
        );
    }

    #[test]
    fn token_expiry_is_read_fallibly() {
        let at = |body: &str| token_answer(&response(200, body.as_bytes())).unwrap().1;
        let later = SystemTime::now() + Duration::from_secs(3000);
        assert_eq!(
            at(r#"{"token":"t","expires":4102444800000}"#),
            SystemTime::UNIX_EPOCH + Duration::from_millis(4_102_444_800_000)
        );
        for odd in ["1e300", "-5", "2.5", "\"soon\"", "18446744073709551616"] {
            let expires = at(&format!(r#"{{"token":"t","expires":{odd}}}"#));
            assert!(expires > later, "{odd}: an hour from now");
        }
    }

    #[test]
    fn envelopes_are_errors_even_with_200() {
        let e = envelope(&response(
            200,
            br#"{"error":{"code":498,"message":"Invalid token.","details":[]}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let e = envelope(&response(
            200,
            br#"{"status":"error","messages":["Token Expired."],"code":498}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let e = envelope(&response(200, br#"{"status":"error","messages":["nope"]}"#)).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        let e = envelope(&response(
            200,
            br#"{"error":{"code":404,"message":"Not found"}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(envelope(&response(200, br#"{"status":"success"}"#)).is_ok());
        assert_eq!(
            envelope(&response(502, b"<html>")).unwrap_err().exit_code(),
            6
        );
    }

    #[test]
    fn previous_is_the_newest_build() {
        let options = [
            option("pat_1_503", Some("503")),
            option("pat_2_505", Some("505")),
        ];
        assert_eq!(
            choose(&options, &Choice::Previous, "u").unwrap().id,
            "pat_2_505"
        );
        let tie = [option("a", Some("5")), option("b", Some("5"))];
        assert_eq!(
            choose(&tie, &Choice::Previous, "u")
                .unwrap_err()
                .exit_code(),
            3
        );
        let missing = [option("a", Some("5")), option("b", None)];
        assert_eq!(
            choose(&missing, &Choice::Previous, "u")
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn ids_must_be_options_and_releases_are_refused() {
        let options = [option("pat_1_503", Some("503"))];
        assert_eq!(
            choose(&options, &Choice::Id("pat_9".into()), "u")
                .unwrap_err()
                .exit_code(),
            3
        );
        assert_eq!(
            choose(&options, &Choice::Id("rel_1_500".into()), "u")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            choose(&[], &Choice::Previous, "u").unwrap_err().exit_code(),
            3
        );
    }

    #[test]
    fn version_build() {
        assert_eq!(
            option("a", Some("505")).version_build().as_deref(),
            Some("10.9.0.505")
        );
        let mut already = option("a", Some("505"));
        already.version = Some("10.9.0.505".into());
        assert_eq!(already.version_build().as_deref(), Some("10.9.0.505"));
    }

    #[test]
    fn choice_parsing() {
        assert_eq!(Choice::parse("previous"), Ok(Choice::Previous));
        assert_eq!(Choice::parse("pat_1"), Ok(Choice::Id("pat_1".into())));
        assert!(Choice::parse("").is_err());
        assert!(Choice::parse("a\nb").is_err());
    }
}
