//! What a run left, and the checks on it: exit code, output, requests, the whole result
//! document (`doc`: every field at its default but those a check names).

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::Request;

use super::{Scenario, fill};
use crate::common::{Run, doc_differences, normalize};

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
    pub(super) next: Scenario,
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
    pub fn stderr_starts_with(&self, start: &str) -> &Self {
        let start = fill(start, &self.uri);
        self.holds(self.run.stderr.starts_with(&start), || {
            format!("stderr does not start with {start:?}")
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
    pub(super) fn holds(&self, ok: bool, what: impl FnOnce() -> String) -> &Self {
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
