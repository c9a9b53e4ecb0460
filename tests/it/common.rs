//! Shared helpers: a clean command, mock sequences, request listings, output normalizing.

use std::sync::atomic::{AtomicUsize, Ordering};

use regex::Regex;
use serde_json::Value;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Extra environment of a run.
pub type Env<'a> = Vec<(&'a str, &'a str)>;

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// The binary with an environment that holds nothing of the developer's machine. Each run gets
/// its own state directory, so that the audit trail of one test never steers another.
pub fn rollback() -> std::process::Command {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let home = std::env::temp_dir().join("rollback-it-home");
    let state = std::env::temp_dir().join(format!(
        "rollback-it-state/{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let mut cmd = std::process::Command::new(assert_cmd::cargo_bin!("rollback"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", state)
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs the command off the async runtime (the mock servers live on their own threads).
pub async fn run(mut cmd: std::process::Command) -> Run {
    tokio::task::spawn_blocking(move || {
        let output = cmd.output().expect("the binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    })
    .await
    .unwrap()
}

/// Runs `rollback ARGS` with extra environment.
pub async fn run_args(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = rollback();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd).await
}

/// Answers a list of responses in turn, repeating the last one.
pub struct Seq {
    responses: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Seq {
    pub fn new(responses: Vec<ResponseTemplate>) -> Self {
        assert!(!responses.is_empty());
        Self {
            responses,
            next: AtomicUsize::new(0),
        }
    }

    pub fn json(bodies: Vec<Value>) -> Self {
        Self::new(
            bodies
                .into_iter()
                .map(|b| ResponseTemplate::new(200).set_body_json(b))
                .collect(),
        )
    }
}

impl Respond for Seq {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

/// `METHOD /path?query` of every request the server received, in order.
pub async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(request_line)
        .collect()
}

/// `METHOD /path?query` of one request.
pub fn request_line(r: &Request) -> String {
    match r.url.query() {
        Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
        None => format!("{} {}", r.method, r.url.path()),
    }
}

/// Every request whose method is `method`.
pub async fn requests_with_method(server: &MockServer, method: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == method)
        .collect()
}

/// Strips the timestamps of plain progress lines and puts SERVER for the mock server's URI.
pub fn normalize(text: &str, server: &str) -> String {
    let stamp = Regex::new(r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ").unwrap();
    let elapsed = Regex::new(r" in (\d+(ms|[hms]) ?)+\.").unwrap();
    let text = stamp.replace_all(text, "");
    let text = elapsed.replace_all(&text, " in ELAPSED.");
    text.replace(server, "SERVER")
}

/// Checks the result document field by field: `expected` names every field but the clock ones,
/// which are checked for their form.
#[track_caller]
pub fn assert_doc(doc: &Value, expected: Value) {
    let differences = doc_differences(doc, &expected);
    assert!(
        differences.is_empty(),
        "the result document differs:\n  {}",
        differences.join("\n  ")
    );
}

/// Where `doc` differs from `expected`, one line a field: `expected` names every field but the
/// clock ones (`started_at`, `finished_at`, `elapsed_ms`), which must have their form.
pub fn doc_differences(doc: &Value, expected: &Value) -> Vec<String> {
    const CLOCK: [&str; 3] = ["started_at", "finished_at", "elapsed_ms"];
    let doc = doc.as_object().expect("the result is an object");
    let expected = expected
        .as_object()
        .expect("the expected result is an object");
    let mut differences = Vec::new();
    for time in ["started_at", "finished_at"] {
        let value = doc.get(time);
        if value
            .and_then(Value::as_str)
            .is_none_or(|v| humantime::parse_rfc3339(v).is_err())
        {
            differences.push(format!("{time}: {value:?} is not an RFC 3339 time"));
        }
    }
    if !doc.get("elapsed_ms").is_some_and(Value::is_u64) {
        differences.push(format!(
            "elapsed_ms: {:?} is not a count",
            doc.get("elapsed_ms")
        ));
    }
    // `health.checked_at` is a clock field too: checked for its form, then compared as `TIME`.
    let mut doc = doc.clone();
    if let Some(at) = doc.get_mut("health").and_then(|h| h.get_mut("checked_at")) {
        if at
            .as_str()
            .is_some_and(|v| humantime::parse_rfc3339(v).is_ok())
        {
            *at = Value::from("TIME");
        } else {
            differences.push(format!("health.checked_at: {at} is not an RFC 3339 time"));
        }
    }
    for key in doc.keys().filter(|k| !CLOCK.contains(&k.as_str())) {
        if !expected.contains_key(key) {
            differences.push(format!("{key}: not expected, got {}", doc[key]));
        }
    }
    for (key, want) in expected {
        match doc.get(key) {
            None => differences.push(format!("{key}: missing, expected {want}")),
            Some(got) if got != want => {
                differences.push(format!("{key}: got {got}, expected {want}"))
            }
            Some(_) => {}
        }
    }
    differences
}
