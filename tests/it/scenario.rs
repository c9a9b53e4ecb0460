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
mod outcome;
pub mod sf;
pub mod terminal;

pub use outcome::{Outcome, error};

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{Run, Seq, request_line, rollback};

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

    /// Starts the server (unless it runs) and mounts what it answers so far: a server that a
    /// test's own runs reach, beside others (which setting chose which server).
    pub async fn serving(mut self) -> Self {
        let server = match self.server.take() {
            Some(server) => server,
            None => MockServer::start().await,
        };
        for (verb, at, seq) in self.routes.drain(..) {
            Mock::given(method(verb))
                .and(path(at))
                .respond_with(seq)
                .mount(&server)
                .await;
        }
        for mock in self.mocks.drain(..) {
            mock.mount(&server).await;
        }
        self.server = Some(server);
        self
    }

    /// Every request the server `started` started has received so far.
    pub async fn received_so_far(&self) -> Vec<Request> {
        let server = self.started_server();
        server.received_requests().await.unwrap_or_default()
    }

    /// `METHOD /path?query` of each request the server `started` started has received so far.
    pub async fn requests_so_far(&self) -> Vec<String> {
        self.received_so_far()
            .await
            .iter()
            .map(request_line)
            .collect()
    }

    fn started_server(&self) -> &MockServer {
        self.server.as_ref().expect("a started server")
    }

    /// Starts the server (unless a run already did), runs the binary to its end.
    pub async fn run(self) -> Outcome {
        let (stdout_to, stderr_to) = (self.stdout_to, self.stderr_to);
        let (mut cmd, mut ready) = self.ready().await;
        let started = Instant::now();
        cmd.stdout(stdout_to.map_or_else(Stdio::piped, |to| to()))
            .stderr(stderr_to.map_or_else(Stdio::piped, |to| to()));
        let (stdin, signal) = (ready.stdin.take(), ready.signal.take());
        let run = execute(cmd, stdin, signal, &ready.server).await;
        ready.outcome(run, started.elapsed()).await
    }

    /// Starts the server (unless a run already did), mounts what it answers, writes the files,
    /// and builds the command line of the run.
    async fn ready(self) -> (std::process::Command, Ready) {
        let mut this = self.serving().await;
        let server = this.server.take().expect("a started server");
        let uri = this.at.clone().unwrap_or_else(|| server.uri());
        for (path, contents) in &this.files {
            std::fs::write(path, fill(contents, &uri)).unwrap();
        }
        let mut cmd = rollback();
        cmd.args(this.base.iter().chain(&this.args).map(|a| fill(a, &uri)));
        for (key, value) in &this.env {
            cmd.env(key, fill(value, &uri));
        }
        let ready = Ready {
            server,
            uri,
            stdin: this.stdin,
            signal: this.signal,
            at: this.at,
            base: this.base,
            env: this.env,
            defaults: this.defaults,
        };
        (cmd, ready)
    }
}

/// A scenario whose server answers, about to run.
struct Ready {
    server: MockServer,
    uri: String,
    stdin: Option<String>,
    signal: Option<(String, usize)>,
    at: Option<String>,
    base: Vec<String>,
    env: Vec<(String, String)>,
    defaults: Vec<(&'static str, Value)>,
}

impl Ready {
    /// What the run left, with every request the server has received.
    async fn outcome(self, run: Run, elapsed: Duration) -> Outcome {
        let received = self.server.received_requests().await.unwrap_or_default();
        Outcome {
            run,
            requests: received.iter().map(request_line).collect(),
            received,
            uri: self.uri,
            elapsed,
            next: Scenario {
                server: Some(self.server),
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
