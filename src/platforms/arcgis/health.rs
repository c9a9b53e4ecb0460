//! `--verify` on ArcGIS Enterprise on Kubernetes: the version the deployment reports after the
//! rollback must be the one rolled back to, and where the deployment has a health check (11.2
//! and later) a run of its basic suite must pass. A deployment without one is `unknown` with a
//! note, not a failure.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::ArcgisTarget;
use super::model::{FailedTest, Report, current_version, report_path};
use crate::error::{Error, excerpt};
use crate::http::Field;
use crate::platforms::{Health, HealthState};

/// The basic health check suite, the one every 11.2 and later deployment offers.
const BASIC_SUITE: &str = "BSHC-001";
/// A health check that failed, or whose run failed, is run again no sooner than this: each run
/// leaves a report in the organization, and a run takes a while.
const RERUN_AFTER: Duration = Duration::from_secs(60);

/// What `--verify` has learnt across reads.
#[derive(Debug, Default)]
pub(super) struct Verifying {
    /// The last health check run: when it started, and its verdict.
    last_run: Option<(Instant, Health)>,
}

impl ArcgisTarget {
    /// One health reading: the version first, then the health check.
    pub(super) async fn read_health(&mut self) -> Result<Health, Error> {
        let answer: Value = self
            .client
            .call("/admin/system/upgrades/currentVersion", Vec::new())
            .await?;
        let reported = current_version(&answer);
        let target = self.target_version();
        if let Some(verdict) = version_verdict(reported.as_deref(), target.as_deref(), &answer) {
            return Ok(verdict);
        }
        let version = reported.unwrap_or_default();
        if let Some((at, health)) = &self.verifying.last_run
            && at.elapsed() < RERUN_AFTER
        {
            return Ok(health.clone());
        }
        let started = Instant::now();
        let health = match self.run_health_check().await {
            Ok(Checked::Report(report)) => report_verdict(&report),
            Ok(Checked::Missing(error)) => Health {
                state: HealthState::Unknown,
                settling: false,
                details: vec![format!(
                    "version {version} as rolled back to; this deployment has no health check (ArcGIS Enterprise on Kubernetes 11.2 and later have one): {error}"
                )],
            },
            // Not run again at once either: a run that failed may still finish and leave its
            // report, and pods restarting after the rollback answer errors for a while.
            Err(error) => Health {
                state: HealthState::Unknown,
                settling: true,
                details: vec![format!("the health check run failed: {error}")],
            },
        };
        self.verifying.last_run = Some((started, health.clone()));
        Ok(health)
    }

    /// The version rolled back to: the option chosen, else the one the job's "rollback
    /// started" message names (when this run attached to a rollback).
    pub(super) fn target_version(&self) -> Option<String> {
        let t = &self.tracking;
        t.chosen
            .as_ref()
            .and_then(|c| c.version_build())
            .or_else(|| {
                t.last_rollback
                    .as_ref()
                    .and_then(|m| rolled_back_to(&m.text))
            })
    }

    /// Runs the basic suite synchronously and reads the report it names.
    async fn run_health_check(&mut self) -> Result<Checked, Error> {
        let name = format!(
            "rollback-verify-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        // Once: a run that timed out may still finish and leave its report; the wait reads
        // again (no sooner than RERUN_AFTER after a failed one) rather than pile up runs.
        let run: Result<Value, Error> = self
            .client
            .call_once(
                "/admin/healthCheck/run",
                vec![
                    ("suiteIds", Field::Plain(BASIC_SUITE.into())),
                    ("runName", Field::Plain(name)),
                    ("async", Field::Plain("false".into())),
                ],
            )
            .await;
        let answer = match run {
            Ok(answer) => answer,
            // Only the run tells whether the resource exists: a report not found is an error.
            Err(error) if no_health_check(&error) => return Ok(Checked::Missing(error)),
            Err(error) => return Err(error),
        };
        // An answer that is the report itself needs no second read.
        if answer.get("result").is_some() {
            return Ok(Checked::Report(Report::read(&answer)));
        }
        let Some(path) = report_path(&answer) else {
            return Err(Error::unexpected(format!(
                "the health check ran but its answer names no report: {}",
                excerpt(answer.to_string().as_bytes(), 200)
            )));
        };
        let report: Value = self
            .client
            .call(&format!("/admin/healthCheck/{path}"), Vec::new())
            .await?;
        Ok(Checked::Report(Report::read(&report)))
    }
}

/// What a health check run found.
enum Checked {
    Report(Report),
    /// The deployment has no health check resource (before 11.2): the error that said so.
    Missing(Error),
}

/// The verdict of the version alone, when it settles the matter: unreadable or not known
/// (unknown), or not the version rolled back to (error, naming both). `None`: it matches.
fn version_verdict(reported: Option<&str>, target: Option<&str>, answer: &Value) -> Option<Health> {
    let (state, detail) = match (reported, target) {
        (None, _) => (
            HealthState::Unknown,
            format!(
                "currentVersion names no version: {}",
                excerpt(answer.to_string().as_bytes(), 200)
            ),
        ),
        (Some(reported), None) => (
            HealthState::Unknown,
            format!(
                "the deployment reports version {reported}; the version rolled back to is not known to this run"
            ),
        ),
        (Some(reported), Some(target)) if reported != target => (
            HealthState::Error,
            format!(
                "the deployment reports version {reported}, not {target}, the version rolled back to"
            ),
        ),
        (Some(_), Some(_)) => return None,
    };
    // The job has ended and the version is what it left: reading again changes nothing.
    Some(Health {
        state,
        settling: false,
        details: vec![detail],
    })
}

/// A report's verdict: `passed` is ok, `failed` an error naming the tests that did not pass;
/// anything else (a report still being written) is read again.
fn report_verdict(report: &Report) -> Health {
    let result = report.result.as_deref().unwrap_or("no result");
    let (state, details) = match result.to_ascii_lowercase().as_str() {
        "passed" | "pass" => (HealthState::Ok, Vec::new()),
        "failed" | "fail" if report.failed.is_empty() => (
            HealthState::Error,
            vec!["the health check failed and names no test".into()],
        ),
        "failed" | "fail" => (
            HealthState::Error,
            report.failed.iter().map(FailedTest::line).collect(),
        ),
        _ => (
            HealthState::Unknown,
            vec![format!("the health check report says {result:?}")],
        ),
    };
    Health {
        state,
        // Pods restart after a rollback: a test that failed may pass in a moment.
        settling: true,
        details,
    }
}

impl FailedTest {
    /// "critical test healthcheck_objectStore (Object store health check): fail".
    fn line(&self) -> String {
        let kind = if self.critical { "critical" } else { "general" };
        match &self.description {
            Some(d) => format!("{kind} test {} ({d}): {}", self.name, self.result),
            None => format!("{kind} test {}: {}", self.name, self.result),
        }
    }
}

/// A deployment older than 11.2 has no `healthCheck`: HTTP 404, or an error envelope with code
/// 404 or 400 ("not found", "Invalid URL") in a 200.
fn no_health_check(error: &Error) -> bool {
    let Error::Platform(problem) = error else {
        return false;
    };
    problem.http_status == Some(404)
        || matches!(problem.platform_code.as_deref(), Some("404" | "400"))
        || problem.message.to_ascii_lowercase().contains("not found")
}

/// The version a "rollback started" message names after " to ":
/// "Starting the rollback process from 10.9.0.506 to 10.9.0.505." (inference).
fn rolled_back_to(text: &str) -> Option<String> {
    let (_, rest) = text.rsplit_once(" to ")?;
    let version = rest.trim().trim_end_matches('.');
    let plain = !version.is_empty()
        && version.len() <= 64
        && version.chars().all(|c| c.is_ascii_digit() || c == '.');
    plain.then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::Problem;

    #[test]
    fn the_version_rolled_back_to_is_read_from_the_rollback_message() {
        assert_eq!(
            rolled_back_to("Starting the rollback process from 10.9.0.506 to 10.9.0.505.")
                .as_deref(),
            Some("10.9.0.505")
        );
        assert_eq!(rolled_back_to("Rolling back to the previous patch."), None);
        assert_eq!(rolled_back_to("no version here"), None);
    }

    #[test]
    fn the_version_decides_unless_it_matches() {
        let answer = json!({"version": "10.9.0", "build": "506"});
        let mismatch = version_verdict(Some("10.9.0.506"), Some("10.9.0.505"), &answer).unwrap();
        assert_eq!(mismatch.state, HealthState::Error);
        assert!(!mismatch.settling);
        assert_eq!(
            mismatch.details,
            [
                "the deployment reports version 10.9.0.506, not 10.9.0.505, the version rolled back to"
            ]
        );
        let unread = version_verdict(None, Some("10.9.0.505"), &json!({"x": 1})).unwrap();
        assert_eq!(unread.state, HealthState::Unknown);
        assert_eq!(
            unread.details,
            [r#"currentVersion names no version: {"x":1}"#]
        );
        let untold = version_verdict(Some("10.9.0.505"), None, &answer).unwrap();
        assert_eq!(untold.state, HealthState::Unknown);
        assert!(version_verdict(Some("10.9.0.505"), Some("10.9.0.505"), &answer).is_none());
    }

    #[test]
    fn a_report_is_ok_when_passed_and_names_what_failed() {
        let passed = report_verdict(&Report::read(&json!({"result": "passed"})));
        assert_eq!(passed.state, HealthState::Ok);
        assert!(passed.details.is_empty());
        let failed = report_verdict(&Report::read(&json!({"result": "failed", "suiteStatus": [
            {"criticalTestStatus": [{"result": "fail", "name": "healthcheck_objectStore",
                "description": "Object store health check"}]}
        ]})));
        assert_eq!(failed.state, HealthState::Error);
        assert!(failed.settling);
        assert_eq!(
            failed.details,
            ["critical test healthcheck_objectStore (Object store health check): fail"]
        );
        let bare = report_verdict(&Report::read(&json!({"result": "failed"})));
        assert_eq!(bare.details, ["the health check failed and names no test"]);
        let running = report_verdict(&Report::read(&json!({"result": "running"})));
        assert_eq!(running.state, HealthState::Unknown);
        assert!(running.settling);
    }

    #[test]
    fn only_a_missing_resource_means_no_health_check() {
        let platform = |status: Option<u16>, code: Option<&str>, message: &str| {
            let mut problem = Problem::new(message).with_code(code.map(str::to_string));
            problem.http_status = status;
            Error::Platform(problem)
        };
        assert!(no_health_check(&platform(Some(404), None, "HTTP 404")));
        assert!(no_health_check(&platform(None, Some("404"), "Not Found")));
        assert!(no_health_check(&platform(None, Some("400"), "Invalid URL")));
        assert!(no_health_check(&platform(
            None,
            None,
            "Resource not found."
        )));
        assert!(!no_health_check(&platform(None, Some("500"), "boom")));
        assert!(!no_health_check(&Error::Auth(Problem::new("not found"))));
        assert!(!no_health_check(&Error::unexpected("not json".to_string())));
    }
}
