//! ArcGIS Enterprise: the Administrator API's paths and documents, and the preset that serves
//! them.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use super::{Answers, Scenario};
use crate::common::VERSION;

pub const UP: &str = "/arcgis/admin/system/upgrades";
pub const CHECK: &str = "/arcgis/admin/system/upgrades/checkRollback";
pub const ROLLBACK: &str = "/arcgis/admin/system/upgrades/rollback";
pub const GENERATE: &str = "/arcgis/sharing/rest/generateToken";
pub const CURRENT: &str = "/arcgis/admin/system/upgrades/currentVersion";
pub const HEALTH_RUN: &str = "/arcgis/admin/healthCheck/run";
pub const REPORT: &str = "/arcgis/admin/healthCheck/reports/vegcl1xm6u";
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

/// The result's record of the rollback to `id`, and the body sent.
pub fn rollback_sent(id: &str) -> (Value, String) {
    let body = format!(
        "versionManifest=%7B%22id%22%3A%22{id}%22%7D&rollbackSettings=%7B%7D&f=json&token=tok-MARKER-1"
    );
    let record = json!([{
        "method": "POST", "url": format!("SERVER{ROLLBACK}"),
        "headers": {
            "User-Agent": format!("rollback/{VERSION}"), "X-Esri-Authorization": "Bearer <redacted>",
            "Content-Type": "application/x-www-form-urlencoded", "Content-Length": body.len().to_string(),
        },
        "body": body.replace("token=tok-MARKER-1", "token=<redacted>"),
    }]);
    (record, body)
}

/// currentVersion after a rollback to `version`.`build` (the version object's fields).
pub fn current(version: &str, build: &str) -> Value {
    json!({"version": version, "build": build, "name": "Security patch 2", "id": format!("pat_345432_{build}")})
}

/// A synchronous health check run: it answers where its report is (the shape is not
/// documented: "a portion of a URL" to append to the health check resource).
pub fn health_run() -> Value {
    json!({"status": "success", "reportUrl": "reports/vegcl1xm6u"})
}

/// A health check report, its critical tests failing as `failing` names them.
pub fn report(failing: &[&str]) -> Value {
    let test = |name: &str, description: &str| {
        let result = if failing.contains(&name) {
            "fail"
        } else {
            "pass"
        };
        json!({"severity": "critical", "result": result, "name": name,
               "description": description, "startTime": 1_699_328_080_631_i64, "id": "HC_112_002"})
    };
    json!({
        "owner": "admin", "runName": "rollback-verify", "runId": "vegcl1xm6u",
        "result": if failing.is_empty() { "passed" } else { "failed" },
        "suiteStatus": [{"suiteId": "BSHC-001", "result": if failing.is_empty() { "passed" } else { "failed" },
            "criticalTestStatus": [
                test("healthcheck_relationalDatastore", "Relational store health check"),
                test("healthcheck_objectStore", "Object store health check"),
            ]}],
    })
}
