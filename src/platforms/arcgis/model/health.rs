//! The documents `--verify` reads: the deployment's current version and a health check report
//! (ArcGIS Enterprise on Kubernetes 11.2 and later). Only the report's shape is documented;
//! the other two are read from the fields they are known or inferred to have
//! (docs/platforms/arcgis.md, "Health").

use serde::Deserialize;
use serde_json::Value;

use super::{Loose, fields_of};

/// `upgrades/currentVersion`: "the information included in the update's version object", so
/// `version` and `build` as in Check Rollback's options (inference); `currentVersion` or
/// `fullVersion` as the admin root writes them when those are missing.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct CurrentVersionFields {
    version: Loose,
    build: Loose,
    current_version: Loose,
    full_version: Loose,
}

/// The version the deployment reports, as version.build (`10.9.0.505`), when it names one.
pub fn current_version(value: &Value) -> Option<String> {
    let fields: CurrentVersionFields = fields_of(value);
    let version = fields.version.text();
    let build = fields.build.text();
    match (version, build) {
        (Some(v), Some(b)) if v.ends_with(&format!(".{b}")) => Some(v),
        (Some(v), Some(b)) => Some(format!("{v}.{b}")),
        (Some(v), None) => Some(v),
        (None, _) => fields
            .current_version
            .text()
            .or_else(|| fields.full_version.text()),
    }
}

/// A health check report: `{"result":"passed","suiteStatus":[{"result",
/// "criticalTestStatus":[{"severity","result":"pass","name","description",…}]}]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ReportFields {
    result: Loose,
    suite_status: Loose,
}

/// One suite of a report. `generalTestStatus` is read beside the documented
/// `criticalTestStatus`, as the suites resource lists `generalTests` (inference).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SuiteFields {
    critical_test_status: Loose,
    general_test_status: Loose,
}

/// One test of a suite.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TestFields {
    result: Loose,
    /// What the resource's description calls each test's status (inference).
    status: Loose,
    name: Loose,
    description: Loose,
}

/// A test that did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTest {
    pub critical: bool,
    pub name: String,
    pub description: Option<String>,
    pub result: String,
}

/// What a report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `passed`, `failed`, or whatever the server wrote (`None` when absent).
    pub result: Option<String>,
    /// The tests that did not pass, critical ones first.
    pub failed: Vec<FailedTest>,
}

impl Report {
    /// The report in `value`; anything but an object reads as a report without a result.
    pub fn read(value: &Value) -> Self {
        let fields: ReportFields = fields_of(value);
        let suites = fields
            .suite_status
            .value()
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut critical = Vec::new();
        let mut general = Vec::new();
        for suite in suites {
            let suite: SuiteFields = fields_of(suite);
            critical.extend(failed(&suite.critical_test_status, true));
            general.extend(failed(&suite.general_test_status, false));
        }
        critical.extend(general);
        Self {
            result: fields.result.text(),
            failed: critical,
        }
    }
}

/// The tests of one list that did not pass (`pass`, or `passed`).
fn failed(tests: &Loose, critical: bool) -> Vec<FailedTest> {
    let tests = tests
        .value()
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    tests
        .iter()
        .filter_map(|test| {
            let test: TestFields = fields_of(test);
            let result = test.result.or(&test.status).text()?;
            if matches!(result.to_ascii_lowercase().as_str(), "pass" | "passed") {
                return None;
            }
            Some(FailedTest {
                critical,
                name: test.name.text().unwrap_or_else(|| "an unnamed test".into()),
                description: test.description.text(),
                result,
            })
        })
        .collect()
}

/// The report a synchronous run names: "a portion of a URL that can be appended to the Health
/// Check resource URL" (its shape is not documented), as `reports/<id>`. Looked for in every
/// string of the answer, else in an id field; the id is kept only when it is a plain name, so
/// that nothing a server writes can steer the next request elsewhere.
pub fn report_path(value: &Value) -> Option<String> {
    fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    strings(value, &mut found);
    let from_url = found.iter().find_map(|s| {
        let (_, rest) = s.rsplit_once("reports/")?;
        plain_id(rest.split(['?', '#', '/']).next()?)
    });
    let from_id = || {
        ["reportId", "runId", "id"].iter().find_map(|key| {
            let id = super::text(value.get(*key)?)?;
            plain_id(&id)
        })
    };
    from_url.or_else(from_id).map(|id| format!("reports/{id}"))
}

/// `id` when it is a plain name (letters, digits, `-`, `_`), at most 128 characters.
fn plain_id(id: &str) -> Option<String> {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::testing::{arb_json, arb_object_with};

    proptest! {
        #[test]
        fn arbitrary_answers_never_panic_and_name_only_plain_reports(
            doc in arb_json(),
            current in arb_object_with(&["version", "build", "currentVersion", "fullVersion"]),
            test in arb_object_with(&["result", "status", "name", "description"]),
            suite_extra in arb_json(),
        ) {
            let _ = current_version(&doc);
            let _ = current_version(&current);
            let report = json!({"result": doc.clone(), "suiteStatus": [
                {"criticalTestStatus": [test.clone()], "generalTestStatus": suite_extra},
                {"criticalTestStatus": test},
            ]});
            let _ = Report::read(&report);
            let _ = Report::read(&doc);
            if let Some(path) = report_path(&doc) {
                let id = path.strip_prefix("reports/").unwrap();
                prop_assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            }
        }
    }

    #[test]
    fn the_current_version_is_read_as_version_and_build() {
        let read = |v: Value| current_version(&v);
        assert_eq!(
            read(json!({"version": "11.3.0", "build": "4230"})).as_deref(),
            Some("11.3.0.4230")
        );
        assert_eq!(
            read(json!({"version": "10.9.0.505", "build": 505})).as_deref(),
            Some("10.9.0.505")
        );
        assert_eq!(
            read(json!({"currentVersion": "10.9.0.505"})).as_deref(),
            Some("10.9.0.505")
        );
        assert_eq!(
            read(json!({"fullVersion": "11.3.0"})).as_deref(),
            Some("11.3.0")
        );
        assert_eq!(read(json!({"messages": []})), None);
        assert_eq!(read(json!(["10.9.0"])), None);
    }

    #[test]
    fn a_report_names_the_tests_that_did_not_pass_critical_first() {
        let report = Report::read(&json!({
            "owner": "admin", "result": "failed",
            "suiteStatus": [{
                "result": "failed",
                "generalTestStatus": [
                    {"severity": "general", "result": "fail", "name": "manager_availability",
                     "description": "ArcGIS Enterprise Manager endpoint is available"},
                    {"severity": "general", "result": "pass", "name": "home_app_availability"}
                ],
                "criticalTestStatus": [
                    {"severity": "critical", "result": "pass", "name": "healthcheck_relationalDatastore",
                     "description": "Relational store health check", "startTime": 1_699_328_080_631_i64,
                     "id": "HC_112_002"},
                    {"severity": "critical", "result": "fail", "name": "healthcheck_objectStore",
                     "description": "Object store health check"},
                    {"severity": "critical", "status": "skipped", "name": "x"},
                    "not a test"
                ]
            }, "not a suite"]
        }));
        assert_eq!(report.result.as_deref(), Some("failed"));
        let names: Vec<(&str, bool, &str)> = report
            .failed
            .iter()
            .map(|t| (t.name.as_str(), t.critical, t.result.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("healthcheck_objectStore", true, "fail"),
                ("x", true, "skipped"),
                ("manager_availability", false, "fail"),
            ]
        );
        assert_eq!(Report::read(&json!([1])).result, None);
    }

    #[test]
    fn the_report_a_run_names_is_a_plain_id_under_reports() {
        let path = |v: Value| report_path(&v);
        assert_eq!(
            path(json!({"status": "success", "reportUrl": "reports/vegcl1xm6u"})).as_deref(),
            Some("reports/vegcl1xm6u")
        );
        assert_eq!(
            path(json!({"url": "https://h/arcgis/admin/healthCheck/reports/ab_1-2?f=json"}))
                .as_deref(),
            Some("reports/ab_1-2")
        );
        assert_eq!(
            path(json!({"runId": "vegcl1xm6u"})).as_deref(),
            Some("reports/vegcl1xm6u")
        );
        // Nothing that could lead elsewhere: a path, a query, another host.
        for odd in [
            json!({"url": "reports/../../system/upgrades/rollback"}),
            json!({"id": "a/b"}),
            json!({"id": "a?b"}),
            json!({"reportUrl": "reports/"}),
            json!({"status": "success"}),
        ] {
            assert_eq!(path(odd.clone()), None, "{odd}");
        }
    }
}
