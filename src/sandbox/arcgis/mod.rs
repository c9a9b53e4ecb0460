//! The ArcGIS Enterprise Administrator API at `/arcgis`: generateToken (tokens bound to the
//! referer), the upgrades job (the install of Patch 2 long done, then our rollback in three
//! steps), checkRollback offering the version to return to (Patch 1), currentVersion, rollback,
//! the 11.2 health check (a run and its report: failed under `--scenario unhealthy`), and the
//! error envelopes ArcGIS sends with HTTP 200.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::credentials::{ARCGIS_USER, Credentials};
use super::state::{Pace, Stage, Walk};
use super::{Now, Reply, Request};

/// The version a rollback returns to (as the docs' example: the id names the version to go to).
const PATCH: &str = "pat_113_4230";
const STEPS: [&str; 3] = [
    "Rolled back the web and portal containers.",
    "Rolled back the hosting server containers.",
    "Rolled back the data store containers.",
];

/// A job message: text, epoch ms, code.
type Message = (String, i64, i64);

/// The upgrades job.
enum Job {
    /// The patch install, long done.
    Installed,
    /// Our rollback, from `started` (an instant) with its first message.
    Rollback {
        walk: Walk,
        started: Instant,
        start_message: Message,
    },
}

pub struct Arcgis {
    pace: Pace,
    installed_ms: i64,
    job: Job,
    /// Tokens given out, with the referer each is bound to and when it expires (epoch ms).
    tokens: BTreeMap<String, (String, i64)>,
    /// Whether the health check fails (`--scenario unhealthy`).
    unhealthy: bool,
    /// The health check reports by id, the newest [`MAX_REPORTS`] kept.
    reports: BTreeMap<String, (u64, Value)>,
    /// Health check runs so far: orders the reports.
    runs: u64,
}

impl Arcgis {
    pub fn new(pace: Pace, unhealthy: bool, now: Now) -> Self {
        Self {
            pace,
            // The patch went in a day before the sandbox.
            installed_ms: now.epoch_ms_at(now.instant) - 86_400_000,
            job: Job::Installed,
            tokens: BTreeMap::new(),
            unhealthy,
            reports: BTreeMap::new(),
            runs: 0,
        }
    }

    pub fn handle(&mut self, request: &Request, creds: &Credentials, now: Now) -> Reply {
        let mut form: BTreeMap<String, String> = BTreeMap::new();
        let query = request.query.as_deref().unwrap_or_default().as_bytes();
        let body: &[u8] = if request.method == "POST" {
            &request.body
        } else {
            &[]
        };
        for (k, v) in url::form_urlencoded::parse(query).chain(url::form_urlencoded::parse(body)) {
            form.insert(k.into_owned(), v.into_owned());
        }
        if !matches!(form.get("f").map(String::as_str), Some("json" | "pjson")) {
            // Without f=json ArcGIS answers with its HTML pages.
            return Reply::new(
                200,
                "text/html; charset=utf-8",
                "<html><head><title>ArcGIS Enterprise</title></head><body>Use f=json.</body></html>",
            );
        }
        let path = request.path.trim_end_matches('/');
        if path == "/arcgis/sharing/rest/generateToken" {
            return self.generate_token(&form, creds, now);
        }
        let Some(admin) = path.strip_prefix("/arcgis/admin") else {
            return envelope(400, "Invalid URL", &[]);
        };
        let token = form
            .get("token")
            .map(String::as_str)
            .or_else(|| request.bearer("x-esri-authorization"));
        let Some(token) = token else {
            return envelope(499, "Token Required", &[]);
        };
        let now_ms = now.epoch_ms_at(now.instant);
        let valid = self.tokens.get(token).is_some_and(|(referer, expires)| {
            !creds.refused && *expires > now_ms && request.header("referer") == Some(referer)
        });
        if !valid {
            return envelope(498, "Invalid token.", &[]);
        }
        match admin {
            "/system/upgrades" => Reply::json(200, &self.job_document(now)),
            "/system/upgrades/checkRollback" => self.with_no_job(now, |this| {
                let updates = if this.patched(now) {
                    vec![patch()]
                } else {
                    Vec::new()
                };
                json!({"updates": updates})
            }),
            "/system/upgrades/currentVersion" => self.with_no_job(now, |this| {
                let build = if this.patched(now) { "4250" } else { "4230" };
                json!({"version": "11.3.0", "build": build})
            }),
            "/system/upgrades/rollback" => self.rollback(&form, now),
            "/healthCheck/run" => self.run_health_check(&form, now),
            _ => match admin.strip_prefix("/healthCheck/reports/") {
                Some(id) => match self.reports.get(id) {
                    Some((_, report)) => Reply::json(200, report),
                    None => envelope(404, "Report not found.", &[]),
                },
                None => envelope(404, "Not Found", &["The requested resource was not found."]),
            },
        }
    }

    fn generate_token(
        &mut self,
        form: &BTreeMap<String, String>,
        creds: &Credentials,
        now: Now,
    ) -> Reply {
        let user = form.get("username").map(String::as_str);
        let password = form.get("password").map(String::as_str);
        if user != Some(ARCGIS_USER) || !creds.accepts(&creds.arcgis_password, password) {
            return envelope(
                400,
                "Unable to generate token.",
                &["Invalid username or password."],
            );
        }
        let referer = match form.get("client").map(String::as_str) {
            Some("referer") => form.get("referer").cloned().unwrap_or_default(),
            _ => {
                return envelope(
                    400,
                    "Unable to generate token.",
                    &["'client' must be referer."],
                );
            }
        };
        let minutes: i64 = form
            .get("expiration")
            .and_then(|m| m.parse().ok())
            .unwrap_or(60)
            .clamp(1, 20_160);
        let expires = now.epoch_ms_at(now.instant) + minutes * 60_000;
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(64)
            .collect();
        self.tokens.insert(token.clone(), (referer, expires));
        Reply::json(
            200,
            &json!({"token": token, "expires": expires, "ssl": false}),
        )
    }

    /// Whether the patch is still installed.
    fn patched(&mut self, now: Now) -> bool {
        match &mut self.job {
            Job::Installed => true,
            Job::Rollback { walk, .. } => walk.stage(now.instant) != Stage::Done,
        }
    }

    fn running(&mut self, now: Now) -> bool {
        match &mut self.job {
            Job::Installed => false,
            Job::Rollback { walk, .. } => matches!(
                walk.stage(now.instant),
                Stage::Processing(_) | Stage::Waiting(_)
            ),
        }
    }

    /// A child resource of upgrades: unavailable while a job runs.
    fn with_no_job(&mut self, now: Now, answer: impl FnOnce(&mut Self) -> Value) -> Reply {
        if self.running(now) {
            return admin_error(
                409,
                "An upgrade job is in progress: the resource is unavailable until it ends.",
            );
        }
        Reply::json(200, &answer(self))
    }

    fn job_document(&mut self, now: Now) -> Value {
        let (state, code, messages) = match &mut self.job {
            Job::Installed => (
                "success",
                3,
                vec![(
                    "Update to 11.3.0.4250 complete.".to_string(),
                    self.installed_ms,
                    2030,
                )],
            ),
            Job::Rollback {
                walk,
                started,
                start_message,
            } => {
                let stage = walk.stage(now.instant);
                let done = walk.done(now.instant);
                let mut messages = vec![start_message.clone()];
                for (i, text) in STEPS.iter().enumerate().take(done as usize) {
                    let at = *started + self.pace.per_domain * (i as u32 + 1);
                    messages.push((text.to_string(), now.epoch_ms_at(at), 2073));
                }
                // The job ends when its last step does (or when the failing one would have).
                let end_ms = now.epoch_ms_at(*started + self.pace.per_domain * done.max(1));
                let failed_ms = now.epoch_ms_at(*started + self.pace.per_domain * (done + 1));
                match stage {
                    Stage::Done => {
                        messages.push((
                            "Rollback complete: the deployment is at 11.3.0.4230.".into(),
                            end_ms,
                            2074,
                        ));
                        ("success", 3, messages)
                    }
                    Stage::Failed(d) => {
                        messages.push((
                            format!("Rollback failed: the containers of step {} did not start in time (sandbox scenario fails).", d + 1),
                            failed_ms,
                            2075,
                        ));
                        ("failed", 2, messages)
                    }
                    Stage::Processing(_) | Stage::Waiting(_) => ("in_progress", 1, messages),
                }
            }
        };
        let messages: Vec<Value> = messages
            .into_iter()
            .map(|(message, when, code)| json!({"message": message, "when": when, "code": code}))
            .collect();
        json!({"status": {"state": state, "code": code, "messages": messages}})
    }

    fn rollback(&mut self, form: &BTreeMap<String, String>, now: Now) -> Reply {
        if self.running(now) {
            return admin_error(409, "An upgrade job is in progress.");
        }
        let id = form
            .get("versionManifest")
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
            .and_then(|m| m.get("id").and_then(Value::as_str).map(str::to_string));
        if form.get("rollbackSettings").is_none() {
            return admin_error(400, "rollbackSettings is required.");
        }
        match id {
            Some(id) if id == PATCH && self.patched(now) => {}
            Some(id) => {
                return admin_error(400, &format!("{id} is not available for rollback."));
            }
            None => return admin_error(400, "versionManifest must be a JSON object with an id."),
        }
        let start_message = (
            "Starting the rollback process from 11.3.0.4250 to 11.3.0.4230.".to_string(),
            now.epoch_ms_at(now.instant),
            2072,
        );
        self.job = Job::Rollback {
            walk: Walk::new(STEPS.len() as u32, 0, false, self.pace, now.instant),
            started: now.instant,
            start_message,
        };
        Reply::json(200, &self.job_document(now))
    }
}

impl Arcgis {
    /// `healthCheck/run`, synchronous: the basic suite's report, kept, and where to read it.
    fn run_health_check(&mut self, form: &BTreeMap<String, String>, now: Now) -> Reply {
        if form.get("suiteIds").map(String::as_str) != Some(SUITE) {
            return admin_error(400, &format!("suiteIds must name {SUITE}."));
        }
        let Some(name) = form.get("runName").filter(|n| !n.is_empty()) else {
            return admin_error(400, "runName is required.");
        };
        if form.get("async").map(String::as_str) == Some("true") {
            return admin_error(400, "The sandbox runs health checks synchronously only.");
        }
        let id: String = std::iter::repeat_with(fastrand::lowercase)
            .take(10)
            .collect();
        let at = now.epoch_ms_at(now.instant);
        let failing = self.unhealthy || self.running(now);
        let test = |name: &str, description: &str, fails: bool| {
            json!({"severity": "critical", "result": if fails { "fail" } else { "pass" },
                "name": name, "description": description, "startTime": at, "endTime": at})
        };
        let result = if failing { "failed" } else { "passed" };
        let report = json!({
            "owner": ARCGIS_USER, "runId": id, "runName": name, "result": result,
            "startTime": at, "endTime": at,
            "suiteStatus": [{"suiteId": SUITE, "result": result, "criticalTestStatus": [
                test("healthcheck_relationalDatastore", "Relational store health check", false),
                test("healthcheck_objectStore", "Object store health check", failing),
            ]}],
        });
        self.runs += 1;
        self.reports.insert(id.clone(), (self.runs, report));
        if self.reports.len() > MAX_REPORTS {
            let oldest = self
                .reports
                .iter()
                .min_by_key(|(_, (n, _))| *n)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.reports.remove(&oldest);
            }
        }
        Reply::json(
            200,
            &json!({"status": "success", "reportUrl": format!("reports/{id}")}),
        )
    }
}

/// The basic health check suite.
const SUITE: &str = "BSHC-001";
/// Health check reports kept: a long-running sandbox must not grow without end.
const MAX_REPORTS: usize = 100;

/// The one version checkRollback offers: Patch 1, under the installed Patch 2.
fn patch() -> Value {
    json!({
        "id": PATCH, "name": "ArcGIS Enterprise on Kubernetes 11.3 Patch 1", "version": "11.3.0",
        "build": "4230", "updateType": "patch", "previousVersion": "11.3.0.4200",
        "previousBuild": "4200", "released": 1_730_000_000_000_i64,
        "description": "Security and stability fixes for 11.3."
    })
}

/// The sharing/services error envelope, sent with HTTP 200.
fn envelope(code: i64, message: &str, details: &[&str]) -> Reply {
    Reply::json(
        200,
        &json!({"error": {"code": code, "message": message, "details": details}}),
    )
}

/// The admin operation error envelope, sent with HTTP 200.
fn admin_error(code: i64, message: &str) -> Reply {
    Reply::json(
        200,
        &json!({"status": "error", "messages": [message], "code": code}),
    )
}

#[cfg(test)]
mod tests;
