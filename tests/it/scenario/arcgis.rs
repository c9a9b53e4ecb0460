//! ArcGIS Enterprise: the Administrator API's paths and documents, and the preset that serves
//! them.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Answers, Scenario};

pub const UP: &str = "/arcgis/admin/system/upgrades";
pub const CHECK: &str = "/arcgis/admin/system/upgrades/checkRollback";
pub const ROLLBACK: &str = "/arcgis/admin/system/upgrades/rollback";
pub const GENERATE: &str = "/arcgis/sharing/rest/generateToken";
pub const TOKEN_ENV: (&str, &str) = ("ROLLBACK_ARCGIS_TOKEN", "tok-MARKER-1");

/// A job message: (text, when, code).
pub type Message<'a> = (&'a str, i64, i64);

pub const STARTED: Message = (
    "Starting the rollback process from 10.9.0.506 to 10.9.0.505.",
    1_700_000_000_000,
    2072,
);
pub const MIDWAY: Message = ("Rolling back the containers.", 1_700_000_060_000, 2073);
pub const DONE: Message = ("Rollback complete.", 1_700_000_120_000, 2074);

impl Scenario {
    /// `rollback arcgis --url SERVER/arcgis --poll-interval 20ms …` with a token.
    pub fn arcgis_cli() -> Self {
        Self::new()
            .base(&[
                "arcgis",
                "--url",
                "SERVER/arcgis",
                "--poll-interval",
                "20ms",
            ])
            .env(TOKEN_ENV.0, TOKEN_ENV.1)
            .result_of("arcgis", "SERVER/arcgis")
    }

    /// `arcgis_cli` against a deployment whose upgrades job answers `jobs`, that offers
    /// `options()` and whose rollback answers with the job started.
    pub fn arcgis(jobs: impl Answers) -> Self {
        Self::arcgis_cli()
            .post(UP, jobs)
            .post(CHECK, options())
            .post(ROLLBACK, job("in_progress", 1, &[STARTED]))
    }
}

/// The upgrades resource: the job in `state` with its `messages`.
pub fn job(state: &str, code: i64, messages: &[Message]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(m, w, c)| json!({"message": m, "when": w, "code": c}))
        .collect();
    json!({"status": {"state": state, "code": code, "messages": messages}})
}

/// The last job: the patch install, long done.
pub fn installed() -> Value {
    job(
        "success",
        3,
        &[("Update to 10.9.0.505 complete.", 1_600_000_000_000, 2030)],
    )
}

/// What checkRollback offers: two patches.
pub fn options() -> Value {
    json!({"updates": [
        {"id": "pat_345431_503", "name": "Security patch 1", "version": "10.9.0", "build": "503", "updateType": "patch", "previousVersion": "10.9.0.500", "description": "x"},
        {"id": "pat_345432_505", "name": "Security patch 2", "version": "10.9.0", "build": "505", "updateType": "patch", "previousVersion": "10.9.0.503", "description": "y"},
    ]})
}

/// The requests of a rollback that was read for `polls` rounds after it was sent.
pub fn rollback_requests(polls: usize) -> Vec<String> {
    let mut all = vec![
        format!("POST {UP}"),
        format!("POST {CHECK}"),
        format!("POST {ROLLBACK}"),
    ];
    all.extend(vec![format!("POST {UP}"); polls]);
    all
}

pub fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}
