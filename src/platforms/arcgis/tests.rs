//! The unit tests of judging the upgrades job, and of reading hostile or arbitrary answers.

use proptest::prelude::*;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::client::token_answer;
use super::*;
use crate::testing::{arb_json, arb_object_with, response};

/// Reads a parsed upgrades document as a read does, leaving it cut down as the read's `detail`.
fn parse_job(value: &mut Value, url: &str) -> Result<Job, Error> {
    let upgrades = Upgrades::deserialize(std::mem::take(value)).expect("any JSON reads");
    *value = upgrades.detail.clone();
    upgrades.into_job(url).map(|(job, _)| job)
}

fn target() -> ArcgisTarget {
    let url = Url::parse("https://gis.invalid/arcgis").unwrap();
    let http = crate::testing::client(&url);
    ArcgisTarget::new(ArcgisClient::new(http, &url), None)
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
            let _ = crate::testing::finish(t.describe(&snapshot));
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
    let message =
        |text: &str, when: Value| serde_json::json!({"message": text, "when": when, "code": 2073});
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

/// The result's `reason`: the last message (by `when`) of a job that ended in neither success
/// nor progress; none while it runs, once it succeeded, or when no job ran.
#[test]
fn the_reason_is_the_failed_jobs_last_message() {
    let read = |state: &str| {
        let mut job = serde_json::json!({"status": {"state": state, "code": 2, "messages": [
            {"message": "Container arcgis-portal did not start.", "when": 1_700_000_300_000_i64, "code": 2090},
            {"message": "Starting the rollback process from 10.9.0.506 to 10.9.0.505.", "when": 1_700_000_000_000_i64, "code": 2072}
        ]}});
        let snapshot = target().judge(parse_job(&mut job, "u").unwrap(), job.clone());
        (snapshot.reason, snapshot.domains)
    };
    assert_eq!(
        read("failed"),
        (Some("Container arcgis-portal did not start.".into()), None)
    );
    for state in ["in_progress", "success", "no_upgrade"] {
        assert_eq!(read(state), (None, None), "{state}");
    }
}
