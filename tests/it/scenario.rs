//! One scenario builder for the suites: a wiremock server on 127.0.0.1 and what it answers, the
//! command line and environment of a run, then checks that name only what differs from the
//! defaults (after casey/just's `Test`).
//!
//! `SERVER` stands for the server's URI in arguments, environment values, expected text and
//! expected documents: the word `normalize` already puts there, and one that `format!` strings
//! take without escaping. Platform presets and wire documents are in `scenario/*.rs`.

pub mod arcgis;
pub mod cloudsvc;
pub mod compose;
pub mod sf;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{Run, Seq, doc_differences, normalize, request_line, rollback};

/// One answer: a bodiless status, a response, or a JSON or XML body with 200.
pub trait Answer {
    fn response(self) -> ResponseTemplate;
}

impl Answer for u16 {
    fn response(self) -> ResponseTemplate {
        ResponseTemplate::new(self)
    }
}

impl Answer for ResponseTemplate {
    fn response(self) -> ResponseTemplate {
        self
    }
}

impl Answer for Value {
    fn response(self) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(self)
    }
}

/// An XML document with 200 (the Service Management API's bodies).
impl Answer for String {
    fn response(self) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(self, "application/xml; charset=utf-8")
    }
}

/// What a route answers: one answer for every request, or several in turn, the last repeating.
pub trait Answers {
    fn into_seq(self) -> Seq;
}

impl<T: Answer> Answers for T {
    fn into_seq(self) -> Seq {
        Seq::new(vec![self.response()])
    }
}

impl<T: Answer, const N: usize> Answers for [T; N] {
    fn into_seq(self) -> Seq {
        Seq::new(self.into_iter().map(Answer::response).collect())
    }
}

impl<T: Answer> Answers for Vec<T> {
    fn into_seq(self) -> Seq {
        Seq::new(self.into_iter().map(Answer::response).collect())
    }
}

/// A run of the binary against a mock server, built up from what differs from the defaults.
#[must_use]
#[derive(Default)]
pub struct Scenario {
    /// Set once `started` or a run started it: later runs of the same scenario reuse it.
    server: Option<MockServer>,
    /// A server of the test's own that `SERVER` names instead of the mock server.
    at: Option<String>,
    /// `(method, path, answers)`; a later route for the same method and path replaces one.
    routes: Vec<(&'static str, String, Seq)>,
    mocks: Vec<Mock>,
    /// The arguments of a preset, before those of the test.
    base: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
    /// Files written before the run, `SERVER` in them filled in.
    files: Vec<(PathBuf, String)>,
    /// `(signal, ready)`: sent once the server has received `ready` requests.
    signal: Option<(String, usize)>,
    /// Where stdout and stderr go instead of a pipe the run reads (`/dev/full`, a closed pipe).
    stdout_to: Option<fn() -> Stdio>,
    stderr_to: Option<fn() -> Stdio>,
    /// The fields of the result document that the preset knows (platform, target).
    defaults: Vec<(&'static str, Value)>,
}

impl Scenario {
    /// A fresh wiremock server on 127.0.0.1 that answers nothing yet, and no arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// GET `at` answers `answers`.
    pub fn get(self, at: &str, answers: impl Answers) -> Self {
        self.route("GET", at, answers.into_seq())
    }

    /// POST `at` answers `answers`.
    pub fn post(self, at: &str, answers: impl Answers) -> Self {
        self.route("POST", at, answers.into_seq())
    }

    fn route(mut self, verb: &'static str, at: &str, seq: Seq) -> Self {
        self.routes
            .retain(|(v, p, _)| (*v, p.as_str()) != (verb, at));
        self.routes.push((verb, at.to_string(), seq));
        self
    }

    /// Any other mock (matched on more than method and path), mounted after the routes.
    pub fn mock(mut self, mock: Mock) -> Self {
        self.mocks.push(mock);
        self
    }

    /// Arguments after those of the preset.
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Sets `key` for the run (in place of an earlier value).
    pub fn env(self, key: &str, value: &str) -> Self {
        let mut this = self.without_env(key);
        this.env.push((key.to_string(), value.to_string()));
        this
    }

    /// Drops a variable a preset (or an earlier run) set.
    pub fn without_env(mut self, key: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self
    }

    /// Writes `text` to the run's stdin (otherwise stdin is empty).
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    /// `SERVER` names a server of the test's own at `uri`: a raw one that resets or stalls, to
    /// which the mock server is then a bystander, or a TLS front before the started mock server.
    pub fn at(mut self, uri: &str) -> Self {
        self.at = Some(uri.to_string());
        self
    }

    /// Writes `contents` (`SERVER` for the server's URI) to `path` before the run.
    pub fn file(mut self, path: &Path, contents: &str) -> Self {
        self.files.push((path.to_path_buf(), contents.to_string()));
        self
    }

    /// Another `--poll-interval` than the preset's.
    pub fn poll_interval(mut self, interval: &str) -> Self {
        let at = self.base.iter().position(|a| a == "--poll-interval");
        self.base[at.expect("the preset sets --poll-interval") + 1] = interval.to_string();
        self
    }

    /// No `--poll-interval` flag: the environment, a profile or the default decide.
    pub fn no_poll_interval(mut self) -> Self {
        let at = self.base.iter().position(|a| a == "--poll-interval");
        let at = at.expect("the preset sets --poll-interval");
        self.base.drain(at..at + 2);
        self
    }

    /// Sends `signal` (`INT`, `TERM`, …) once the server has received `ready` requests.
    pub fn signal_after(mut self, signal: &str, ready: usize) -> Self {
        self.signal = Some((signal.to_string(), ready));
        self
    }

    /// Stdout goes to `to()` instead of the pipe `Outcome::run` reads (then empty there).
    pub fn stdout_to(mut self, to: fn() -> Stdio) -> Self {
        self.stdout_to = Some(to);
        self
    }

    /// Stderr goes to `to()` instead of the pipe `Outcome::run` reads (then empty there).
    pub fn stderr_to(mut self, to: fn() -> Stdio) -> Self {
        self.stderr_to = Some(to);
        self
    }

    /// The result document names this platform and target unless a check says otherwise.
    pub fn result_of(mut self, platform: &str, target: &str) -> Self {
        self.defaults = vec![("platform", json!(platform)), ("target", json!(target))];
        self
    }

    fn base(mut self, args: &[&str]) -> Self {
        self.base = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// Starts the server now, for what must know where it is before the run: a redirect's
    /// `Location`, a TLS front before it.
    pub async fn started(mut self) -> Self {
        if self.server.is_none() {
            self.server = Some(MockServer::start().await);
        }
        self
    }

    /// The URI of the server `started` started.
    pub fn uri(&self) -> String {
        self.started_server().uri()
    }

    /// The address of the server `started` started.
    pub fn address(&self) -> SocketAddr {
        *self.started_server().address()
    }

    fn started_server(&self) -> &MockServer {
        self.server.as_ref().expect("a started server")
    }

    /// Starts the server (unless a run already did), runs the binary to its end.
    pub async fn run(self) -> Outcome {
        let server = match self.server {
            Some(server) => server,
            None => MockServer::start().await,
        };
        for (verb, at, seq) in self.routes {
            Mock::given(method(verb))
                .and(path(at))
                .respond_with(seq)
                .mount(&server)
                .await;
        }
        for mock in self.mocks {
            mock.mount(&server).await;
        }
        let uri = self.at.clone().unwrap_or_else(|| server.uri());
        for (path, contents) in &self.files {
            std::fs::write(path, fill(contents, &uri)).unwrap();
        }
        let mut cmd = rollback();
        cmd.args(self.base.iter().chain(&self.args).map(|a| fill(a, &uri)));
        for (key, value) in &self.env {
            cmd.env(key, fill(value, &uri));
        }
        let started = Instant::now();
        cmd.stdout(self.stdout_to.map_or_else(Stdio::piped, |to| to()))
            .stderr(self.stderr_to.map_or_else(Stdio::piped, |to| to()));
        let run = execute(cmd, self.stdin, self.signal, &server).await;
        let elapsed = started.elapsed();
        let received = server.received_requests().await.unwrap_or_default();
        Outcome {
            run,
            requests: received.iter().map(request_line).collect(),
            received,
            uri,
            elapsed,
            next: Scenario {
                server: Some(server),
                at: self.at,
                base: self.base,
                env: self.env,
                defaults: self.defaults,
                ..Scenario::default()
            },
        }
    }
}

fn fill(text: &str, uri: &str) -> String {
    text.replace("SERVER", uri)
}

/// Runs `cmd` with its stdin and the signal of the scenario, off the async runtime.
async fn execute(
    mut cmd: std::process::Command,
    stdin: Option<String>,
    signal: Option<(String, usize)>,
    server: &MockServer,
) -> Run {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("the binary runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    if let Some((signal, ready)) = signal {
        let received = async || server.received_requests().await.unwrap_or_default().len();
        for _ in 0..500 {
            if received().await >= ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(received().await >= ready, "the run got going");
        let killed = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    }
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("the binary ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// What a run left: its output and every request the server has received (over all runs of
/// the scenario so far). The checks return `&Self` so that they chain.
pub struct Outcome {
    pub run: Run,
    /// `METHOD /path?query` of each request, in order.
    pub requests: Vec<String>,
    pub received: Vec<Request>,
    pub uri: String,
    /// How long the binary ran.
    pub elapsed: Duration,
    next: Scenario,
}

impl Outcome {
    /// Another run against the same server, with the preset's arguments and the same
    /// environment; the routes keep their place in their answers. A route added for a path
    /// that already has one does not replace it: the route mounted first answers.
    pub fn again(self) -> Scenario {
        self.next
    }

    pub fn json(&self) -> Value {
        self.run.json()
    }

    /// The requests whose method is `verb`.
    pub fn received_with(&self, verb: &str) -> Vec<&Request> {
        self.received
            .iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.run.code, code, "exit code of {:?}", self.run);
        self
    }

    /// Exactly this stdout (`SERVER` for the server's URI).
    #[track_caller]
    pub fn stdout(&self, expected: &str) -> &Self {
        self.same("stdout", &self.run.stdout, &fill(expected, &self.uri))
    }

    /// Exactly this stderr (`SERVER` for the server's URI).
    #[track_caller]
    pub fn stderr(&self, expected: &str) -> &Self {
        self.same("stderr", &self.run.stderr, &fill(expected, &self.uri))
    }

    /// This stdout once `normalize` took out its clock (timestamps, elapsed times).
    #[track_caller]
    pub fn stdout_normalized(&self, expected: &str) -> &Self {
        self.same("stdout", &normalize(&self.run.stdout, &self.uri), expected)
    }

    /// This stderr once `normalize` took out its clock (timestamps, elapsed times).
    #[track_caller]
    pub fn stderr_normalized(&self, expected: &str) -> &Self {
        self.same("stderr", &normalize(&self.run.stderr, &self.uri), expected)
    }

    #[track_caller]
    pub fn stderr_contains(&self, part: &str) -> &Self {
        let part = fill(part, &self.uri);
        self.holds(self.run.stderr.contains(&part), || {
            format!("stderr lacks {part:?}")
        })
    }

    #[track_caller]
    pub fn stderr_ends_with(&self, end: &str) -> &Self {
        let end = fill(end, &self.uri);
        self.holds(self.run.stderr.ends_with(&end), || {
            format!("stderr does not end with {end:?}")
        })
    }

    /// Refused at the command line: exit 2, `part` in stderr, and no `MARKER` of a secret there.
    #[track_caller]
    pub fn usage_error(&self, part: &str) -> &Self {
        self.code(2).stderr_contains(part);
        let shown = self.run.stderr.contains("MARKER");
        self.holds(!shown, || "stderr shows a MARKER".into())
    }

    /// No output names `secret`.
    #[track_caller]
    pub fn never_shows(&self, secret: &str) -> &Self {
        let shown = self.run.stdout.contains(secret) || self.run.stderr.contains(secret);
        self.holds(!shown, || format!("{secret:?} shown"))
    }

    #[track_caller]
    fn same(&self, what: &str, actual: &str, expected: &str) -> &Self {
        assert_eq!(actual, expected, "{what} of {:?}", self.run);
        self
    }

    #[track_caller]
    fn holds(&self, ok: bool, what: impl FnOnce() -> String) -> &Self {
        assert!(ok, "{}: {:?}", what(), self.run);
        self
    }

    /// Exactly these requests, in this order (`METHOD /path?query`).
    #[track_caller]
    pub fn requests<S: AsRef<str>>(&self, expected: impl IntoIterator<Item = S>) -> &Self {
        let expected: Vec<String> = expected.into_iter().map(|s| s.as_ref().into()).collect();
        assert_eq!(self.requests, expected, "the requests the server received");
        self
    }

    /// This many POST requests.
    #[track_caller]
    pub fn posts(&self, count: usize) -> &Self {
        assert_eq!(
            self.received_with("POST").len(),
            count,
            "POST requests: {:?}",
            self.requests
        );
        self
    }

    /// The whole result document on stdout: `doc(fields)` with the preset's platform and
    /// target. The process exits with the document's `exit_code`.
    #[track_caller]
    pub fn doc(&self, fields: Value) -> &Self {
        self.check_doc(&self.json(), fields);
        self
    }

    /// The whole result document as the last line of `-o jsonl` (`"type": "result"`).
    #[track_caller]
    pub fn result_line(&self, fields: Value) -> &Self {
        let last = self.run.stdout.lines().last().expect("a line on stdout");
        let mut result: Value = serde_json::from_str(last).expect("a JSON line");
        let kind = result.as_object_mut().unwrap().shift_remove("type");
        assert_eq!(kind, Some(json!("result")), "the last line's type");
        self.check_doc(&result, fields);
        self
    }

    #[track_caller]
    fn check_doc(&self, actual: &Value, fields: Value) {
        let mut expected = doc(Value::Object(
            self.next
                .defaults
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ));
        merge(&mut expected, fields);
        let expected = fill_value(expected, &self.uri);
        let code = expected["exit_code"].as_i64().expect("an exit code");
        assert_eq!(
            i64::from(self.run.code),
            code,
            "exit code of {:?}",
            self.run
        );
        let differences = doc_differences(actual, &expected);
        assert!(
            differences.is_empty(),
            "the result document differs:\n  {}\nstderr:\n{}",
            differences.join("\n  "),
            self.run.stderr
        );
    }
}

/// The whole result document of a run that learnt nothing: every field at its default (outcome
/// `status`, phase `unknown`, no versions, no requests, no error, no detail), `fields` replacing
/// them; the clock fields are checked for their form only.
pub fn doc(fields: Value) -> Value {
    let mut doc = json!({
        "schema_version": 1, "platform": null, "target": null, "action": null,
        "outcome": "status", "exit_code": 0, "phase": "unknown", "platform_state": null,
        "from_version": null, "to_version": null, "operation_id": null, "reason": null,
        "progress": null, "dry_run": false,
        "requests": [], "error": null, "health": null, "detail": null,
    });
    merge(&mut doc, fields);
    doc
}

fn merge(doc: &mut Value, fields: Value) {
    let Value::Object(fields) = fields else {
        panic!("the fields of a document are an object: {fields}")
    };
    for (key, value) in fields {
        doc[key] = value;
    }
}

fn fill_value(value: Value, uri: &str) -> Value {
    match value {
        Value::String(text) => Value::String(fill(&text, uri)),
        Value::Array(items) => items.into_iter().map(|v| fill_value(v, uri)).collect(),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, fill_value(v, uri)))
                .collect(),
        ),
        other => other,
    }
}

/// The result's `error` object.
pub fn error(kind: &str, message: &str, status: Option<u16>, code: Option<&str>) -> Value {
    json!({"kind": kind, "message": message, "http_status": status, "platform_code": code})
}
