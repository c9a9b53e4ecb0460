//! Service Fabric REST: cluster and application upgrade progress and rollback.

pub mod args;
mod open;
mod profile;
pub use open::Sf;
mod model;

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, Url};
use tracing::debug;

use super::{Phase, Rollback, Snapshot};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Delivery, HttpClient, Request, RequestRecord, Response};
use crate::output::one_line;
use model::{FabricError, UpgradeProgress, VersionInfo};

/// Characters escaped in an application id path segment: everything that cannot stand raw in
/// a segment (RFC 3986 `pchar`), so `~`, `:`, `$` and the other sub-delimiters stay as they are.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// An application id (`myapp~app1`), from an id or a `fabric:/` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppId(String);

impl AppId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let usage = "give an id (myapp~app1) or a name (fabric:/myapp/app1)";
        if input.trim().is_empty() {
            return Err(format!("the application is empty: {usage}"));
        }
        if input.len() > crate::input::MAX_VALUE {
            return Err(format!(
                "the application {} is longer than {} bytes",
                crate::input::shown(input),
                crate::input::MAX_VALUE
            ));
        }
        if input.chars().any(char::is_control) {
            return Err(format!(
                "the application {input:?} contains a control character"
            ));
        }
        let (segments, separator): (Vec<&str>, char) = match input.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("fabric:") => {
                let Some(path) = input[7..].strip_prefix('/') else {
                    return Err(format!(
                        "the application name {input:?} must start with fabric:/"
                    ));
                };
                (path.split('/').collect(), '/')
            }
            _ if input.contains('/') => {
                return Err(format!(
                    "the application id {input:?} contains '/': {usage}"
                ));
            }
            _ => (input.split('~').collect(), '~'),
        };
        if segments.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "the application {input:?} has an empty '{separator}' segment: {usage}"
            ));
        }
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Err(format!(
                "the application {input:?} has a '.' or '..' segment"
            ));
        }
        Ok(Self(segments.join("~")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path_segment(&self) -> String {
        utf8_percent_encode(&self.0, SEGMENT).to_string()
    }
}

/// What is being rolled back.
#[derive(Debug, Clone)]
pub enum Scope {
    Cluster,
    App(AppId),
}

/// The client for one cluster.
pub struct SfClient {
    pub http: HttpClient,
    pub endpoint: Url,
    pub api_version: String,
    pub server_timeout: Option<u32>,
}

/// One rollback target on one cluster.
pub struct SfTarget {
    pub client: SfClient,
    pub scope: Scope,
}

impl SfClient {
    fn url(&self, path: &str, api_version: &str, extra: &str) -> Url {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let mut url = format!("{base}{path}?api-version={api_version}{extra}");
        if let Some(timeout) = self.server_timeout {
            url.push_str(&format!("&timeout={timeout}"));
        }
        // The endpoint was validated and every piece is escaped, so this cannot fail.
        Url::parse(&url).expect("a valid Service Fabric URL")
    }

    fn request(&self, method: Method, path: &str, api_version: &str, extra: &str) -> Request {
        Request::new(method, self.url(path, api_version, extra))
            .header("Accept", "application/json")
    }

    async fn get_json(&self, request: &Request) -> Result<serde_json::Value, Error> {
        let response = self.http.read(request).await?;
        if !response.is_success() {
            return Err(fabric_error(&response));
        }
        parse_json(&response)
    }
}

impl SfTarget {
    fn base_path(&self) -> String {
        match &self.scope {
            Scope::Cluster => String::new(),
            Scope::App(id) => format!("/Applications/{}", id.path_segment()),
        }
    }
}

impl Rollback for SfTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(5)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        let path = format!("{}/$/GetUpgradeProgress", self.base_path());
        let request = self
            .client
            .request(Method::GET, &path, &self.client.api_version, "");
        snapshot(&self.client.http.read(&request).await?)
    }

    fn describe(&self, snapshot: &Snapshot) -> String {
        let what = match &self.scope {
            Scope::Cluster => "the cluster upgrade".to_string(),
            Scope::App(id) => format!("the upgrade of application {}", id.as_str()),
        };
        // The server's words stay on their own line: a newline in them cannot fake another.
        let version = snapshot
            .from_version
            .as_deref()
            .map(|v| format!(" to {}", one_line(v)))
            .unwrap_or_default();
        format!(
            "Cluster {}: {}\nRoll back {what}{version}?",
            self.client.endpoint,
            one_line(&snapshot.progress)
        )
    }

    fn rollback_request(&self) -> Request {
        let path = format!("{}/$/RollbackUpgrade", self.base_path());
        self.client
            .request(Method::POST, &path, &self.client.api_version, "")
    }

    fn rejection(&self, response: &Response) -> Error {
        fabric_error(response)
    }

    async fn settled_version(&mut self) -> Option<String> {
        let (request, field): (Request, fn(VersionInfo) -> Option<String>) = match &self.scope {
            Scope::Cluster => (
                self.client
                    .request(Method::GET, "/$/GetClusterVersion", "6.4", ""),
                |v| v.version,
            ),
            Scope::App(_) => (
                self.client.request(
                    Method::GET,
                    &self.base_path(),
                    &self.client.api_version,
                    "&ExcludeApplicationParameters=true",
                ),
                |v| v.type_version,
            ),
        };
        match self.client.get_json(&request).await.and_then(|v| {
            serde_json::from_value::<VersionInfo>(v).map_err(|e| Error::unexpected(e.to_string()))
        }) {
            Ok(info) => field(info).filter(|v| !v.is_empty()),
            Err(e) => {
                debug!("the version after the rollback is unknown: {e}");
                None
            }
        }
    }
}

/// The snapshot an upgrade-progress answer stands for.
fn snapshot(response: &Response) -> Result<Snapshot, Error> {
    if !response.is_success() {
        return Err(fabric_error(response));
    }
    let detail = parse_json(response)?;
    let progress: UpgradeProgress = serde_json::from_value(detail.clone()).map_err(|e| {
        Error::unexpected(format!(
            "{} answered a document the tool cannot read ({e}): {}",
            response.url,
            excerpt(&response.body, 200)
        ))
    })?;
    let state = progress.upgrade_state.clone().filter(|s| !s.is_empty());
    let phase = state.as_deref().map_or(Phase::Unknown, model::phase);
    let failure = (phase == Phase::Failed)
        .then(|| Problem::new(format!("the upgrade failed: {}", progress.failure_text())));
    Ok(Snapshot {
        phase,
        platform_state: state,
        from_version: progress.abandoned_version(),
        progress: progress.progress_line(),
        failure,
        detail,
        retry_after: response.retry_after(),
        moving: phase.is_active(),
        next_step: None,
        events: Vec::new(),
    })
}

fn parse_json(response: &Response) -> Result<serde_json::Value, Error> {
    let body = response
        .body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&response.body);
    serde_json::from_slice(body).map_err(|e| {
        Error::unexpected(format!(
            "{} answered HTTP {} with a body that is not JSON ({e}): {}",
            response.url,
            response.status,
            excerpt(body, 200)
        ))
    })
}

/// A non-2xx answer: the `FabricError` code and message when there is one.
fn fabric_error(response: &Response) -> Error {
    let status = response.status;
    let parsed = serde_json::from_slice::<FabricError>(&response.body)
        .ok()
        .and_then(|e| e.error);
    let (code, message) = match parsed {
        Some(e) => (
            e.code.filter(|c| !c.is_empty()),
            e.message.filter(|m| !m.is_empty()),
        ),
        None => (None, None),
    };
    let mut text = format!(
        "{} {} answered HTTP {status}",
        response.method,
        response.url.path()
    );
    match (&code, &message) {
        (Some(code), Some(message)) => text.push_str(&format!(" {code}: {message}")),
        (Some(code), None) => text.push_str(&format!(" {code}")),
        _ if response.body.is_empty() => {}
        _ => text.push_str(&format!(": {}", excerpt(&response.body, 200))),
    }
    if status == 401
        && response
            .header("www-authenticate")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("negotiate"))
    {
        text.push_str(" (the cluster asks for Kerberos, which this tool does not speak: use a client certificate or a bearer token)");
    }
    let problem = Problem::new(text)
        .with_status(status)
        .with_code(code.clone());
    match code.as_deref() {
        Some("FABRIC_E_APPLICATION_NOT_UPGRADING" | "FABRIC_E_FABRIC_NOT_UPGRADING") => {
            Error::NothingToRollBack(problem)
        }
        Some("E_ACCESSDENIED") => Error::Auth(problem),
        _ => Error::from_http_status(status, problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_ids() {
        assert_eq!(
            AppId::parse("fabric:/myapp/app1").unwrap().as_str(),
            "myapp~app1"
        );
        assert_eq!(AppId::parse("FABRIC:/a/b/c").unwrap().as_str(), "a~b~c");
        assert_eq!(AppId::parse("myapp~app1").unwrap().as_str(), "myapp~app1");
        assert_eq!(AppId::parse("fabric:/solo").unwrap().as_str(), "solo");
    }

    #[test]
    fn bad_applications_are_refused() {
        for bad in [
            "",
            "  ",
            "fabric:",
            "fabric:/",
            "fabric:a/b",
            "fabric:/a//b",
            "fabric:/a/",
            "a/b",
            "a~~b",
            "~a",
            "..",
            "fabric:/a/..",
            "a\u{7}b",
            "a\nb",
        ] {
            assert!(AppId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    use crate::testing::{arb_json, arb_object_with, response};
    use proptest::prelude::*;

    const FIELDS: &[&str] = &[
        "UpgradeState",
        "UpgradeDomains",
        "UpgradeUnits",
        "CurrentUpgradeDomainProgress",
        "NextUpgradeDomain",
        "FailureReason",
        "UnhealthyEvaluations",
        "UpgradeDescription",
        "TargetApplicationTypeVersion",
        "UpgradeStatusDetails",
    ];

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512)) {
            let r = response(status, &body);
            let _ = snapshot(&r);
            let _ = fabric_error(&r);
        }

        #[test]
        fn any_json_shape_is_an_answer_or_an_error(doc in arb_object_with(FIELDS)) {
            let r = response(200, doc.to_string().as_bytes());
            if let Ok(s) = snapshot(&r) {
                prop_assert_eq!(s.detail, doc);
            }
        }

        #[test]
        fn unknown_states_and_extra_fields_keep_the_raw_state(state in "[A-Za-z]{1,24}", extra in prop::collection::btree_map("[A-Za-z]{1,10}", arb_json(), 0..4)) {
            let mut doc: serde_json::Map<String, serde_json::Value> = extra.into_iter().collect();
            doc.insert("UpgradeState".into(), state.clone().into());
            let s = snapshot(&response(200, serde_json::Value::Object(doc).to_string().as_bytes())).unwrap();
            prop_assert_eq!(s.phase, model::phase(&state));
            prop_assert_eq!(s.platform_state.as_deref(), Some(state.as_str()));
        }
    }

    use crate::testing::{Shape, arb_document, arb_text, arb_value, full_document};
    use Shape::{Leaf, List, Object};

    const DOMAIN: Shape = Object(&[("Name", Leaf), ("State", Leaf)]);
    const CURRENT: Shape = Object(&[
        ("DomainName", Leaf),
        (
            "NodeUpgradeProgressList",
            List(&Object(&[
                ("NodeName", Leaf),
                ("UpgradePhase", Leaf),
                (
                    "PendingSafetyChecks",
                    List(&Object(&[(
                        "SafetyCheck",
                        Object(&[("Kind", Leaf), ("PartitionId", Leaf)]),
                    )])),
                ),
            ])),
        ),
    ]);
    /// `ClusterUpgradeProgressObject` and `ApplicationUpgradeProgressInfo`: every field the
    /// model reads, and the spec's durations, dates and counts that it keeps in `detail`.
    const PROGRESS: Shape = Object(&[
        ("UpgradeState", Leaf),
        (
            "UpgradeDescription",
            Object(&[
                ("CodeVersion", Leaf),
                ("ConfigVersion", Leaf),
                ("UpgradeReplicaSetCheckTimeoutInSeconds", Leaf),
                (
                    "MonitoringPolicy",
                    Object(&[
                        ("HealthCheckWaitDurationInMilliseconds", Leaf),
                        ("UpgradeDomainTimeoutInMilliseconds", Leaf),
                    ]),
                ),
            ]),
        ),
        ("TargetApplicationTypeVersion", Leaf),
        ("RollingUpgradeMode", Leaf),
        ("NextUpgradeDomain", Leaf),
        ("UpgradeDomains", List(&DOMAIN)),
        ("UpgradeUnits", List(&DOMAIN)),
        ("CurrentUpgradeDomainProgress", CURRENT),
        ("CurrentUpgradeUnitsProgress", CURRENT),
        ("FailureReason", Leaf),
        ("UpgradeStatusDetails", Leaf),
        (
            "UnhealthyEvaluations",
            List(&Object(&[(
                "HealthEvaluation",
                Object(&[
                    ("Kind", Leaf),
                    ("Description", Leaf),
                    ("AggregatedHealthState", Leaf),
                    ("MaxPercentUnhealthyNodes", Leaf),
                    ("TotalCount", Leaf),
                ]),
            )])),
        ),
        ("CodeVersion", Leaf),
        ("ConfigVersion", Leaf),
        ("StartTimestampUtc", Leaf),
        ("FailureTimestampUtc", Leaf),
        ("UpgradeDurationInMilliseconds", Leaf),
        ("UpgradeDomainDurationInMilliseconds", Leaf),
        ("IsNodeByNode", Leaf),
    ]);
    const FABRIC_ERROR: Shape = Object(&[("Error", Object(&[("Code", Leaf), ("Message", Leaf)]))]);
    const VERSION: Shape = Object(&[("TypeVersion", Leaf), ("Version", Leaf)]);

    fn text() -> BoxedStrategy<serde_json::Value> {
        arb_text().prop_map(serde_json::Value::String).boxed()
    }

    #[test]
    fn the_shapes_name_every_field_the_models_read() {
        let progress: UpgradeProgress = serde_json::from_value(full_document(&PROGRESS)).unwrap();
        let error: FabricError = serde_json::from_value(full_document(&FABRIC_ERROR)).unwrap();
        let version: VersionInfo = serde_json::from_value(full_document(&VERSION)).unwrap();
        for model in [
            format!("{progress:?}"),
            format!("{error:?}"),
            format!("{version:?}"),
        ] {
            assert!(
                !model.contains("None"),
                "a field the shape does not name: {model}"
            );
        }
    }

    proptest! {
        /// Every known field with any value (1e300, integer extremes, negative, fractional,
        /// long strings, unicode): the snapshot is built, or the answer is an unexpected one.
        #[test]
        fn hostile_values_in_every_field_are_read_or_refused(
            doc in arb_document(&PROGRESS, arb_value),
            error in arb_document(&FABRIC_ERROR, arb_value),
            version in arb_document(&VERSION, arb_value),
            status in 400u16..600,
        ) {
            match snapshot(&response(200, doc.to_string().as_bytes())) {
                Ok(s) => {
                    let state = doc["UpgradeState"].as_str().filter(|s| !s.is_empty());
                    prop_assert_eq!(s.phase, state.map_or(Phase::Unknown, model::phase));
                    prop_assert_eq!(s.platform_state.as_deref(), state);
                    prop_assert_eq!(s.detail, doc);
                }
                Err(e) => prop_assert_eq!(e.exit_code(), 1),
            }
            let e = fabric_error(&response(status, error.to_string().as_bytes()));
            prop_assert!([1, 3, 4, 6].contains(&e.exit_code()));
            let _ = serde_json::from_value::<VersionInfo>(version);
        }

        /// Every known field holding text, however hostile: always read.
        #[test]
        fn hostile_texts_in_every_field_are_read(doc in arb_document(&PROGRESS, text)) {
            let s = snapshot(&response(200, doc.to_string().as_bytes())).unwrap();
            let state = doc["UpgradeState"].as_str().filter(|s| !s.is_empty());
            prop_assert_eq!(s.phase, state.map_or(Phase::Unknown, model::phase));
            prop_assert_eq!(s.platform_state.as_deref(), state);
            prop_assert!(!s.progress.is_empty());
        }
    }

    #[test]
    fn segments_escape_only_what_cannot_stand_raw() {
        let id = AppId::parse("fabric:/my app/a#b?c%d/é:$").unwrap();
        assert_eq!(id.path_segment(), "my%20app~a%23b%3Fc%25d~%C3%A9:$");
    }
}
