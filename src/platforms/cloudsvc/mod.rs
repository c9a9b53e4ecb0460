//! Azure Cloud Services (classic), Service Management API: deployment state, rollback of an
//! update or upgrade, operation status, and walking upgrade domains in Manual mode.

mod model;
pub mod publish;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, Url};

use super::{NextStep, Phase, Rollback, Snapshot};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Body, Delivery, HttpClient, Request, RequestRecord, Response};
use crate::output::one_line;
use model::{Deployment, ErrorBody, Operation};

/// The API version sent on every request: rollback needs 2011-10-01 or later, and 2014-10-01
/// is the newest that every classic endpoint accepted (the Python client sends it).
pub const X_MS_VERSION: &str = "2014-10-01";

/// The management domains of the public, China and US Government clouds. Service Management
/// hands requests between its instances with 307/308 under its own cloud's domain.
pub const MANAGEMENT_DOMAINS: &[&str] = &[
    "management.core.windows.net",
    "management.core.chinacloudapi.cn",
    "management.core.usgovcloudapi.net",
];

/// The domain a redirect may lead to (https only, with the credentials) from `base`: its
/// cloud's management domain when `base` is under one, none for any other endpoint.
pub fn redirect_domains(base: &Url) -> &'static [&'static str] {
    let host = base.host_str().unwrap_or_default().to_ascii_lowercase();
    MANAGEMENT_DOMAINS
        .iter()
        .position(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|rest| rest.ends_with('.'))
        })
        .filter(|_| base.scheme() == "https")
        .map_or(&[], |i| &MANAGEMENT_DOMAINS[i..=i])
}

/// A deployment slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Production,
    Staging,
}

/// Which deployment: by slot or by name (both URI forms of the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deploy {
    Slot(Slot),
    Name(String),
}

/// `Auto` proceeds alone; `Manual` needs each upgrade domain walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Manual,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "Auto",
            Self::Manual => "Manual",
        }
    }
}

/// The client for one subscription.
pub struct CloudsvcClient {
    pub http: HttpClient,
    pub base: Url,
    pub subscription: String,
}

/// What this run's accepted request is: the rollback (`start`, `status`) or one upgrade domain
/// walk (`walk`), whose operation ending says nothing about a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Rollback,
    Walk,
}

/// What the run has set in motion: the operation to follow and the domains already walked.
#[derive(Debug, Default)]
struct Tracking {
    /// A request of ours (the rollback or a walk) was accepted.
    accepted: bool,
    /// A rollback of ours may have been received without an answer saying so: an update that
    /// no longer allows a rollback is taken to be that rollback.
    expected: bool,
    operation: Option<String>,
    operation_done: bool,
    walked: BTreeSet<u32>,
}

/// One deployment's rollback.
pub struct CloudsvcTarget {
    pub client: CloudsvcClient,
    pub service: String,
    pub deploy: Deploy,
    pub mode: Mode,
    pub force: bool,
    purpose: Purpose,
    tracking: Tracking,
}

impl CloudsvcTarget {
    pub fn new(
        client: CloudsvcClient,
        service: String,
        deploy: Deploy,
        mode: Mode,
        force: bool,
        purpose: Purpose,
    ) -> Self {
        Self {
            client,
            service,
            deploy,
            mode,
            force,
            purpose,
            tracking: Tracking::default(),
        }
    }

    /// `walk`: the wait ends when the walk's operation ends.
    fn walk_only(&self) -> bool {
        self.purpose == Purpose::Walk
    }

    /// `service/slot` or `service/deployment-name`, for messages and the result's target.
    pub fn label(&self) -> String {
        match &self.deploy {
            Deploy::Slot(Slot::Production) => format!("{}/production", self.service),
            Deploy::Slot(Slot::Staging) => format!("{}/staging", self.service),
            Deploy::Name(name) => format!("{}/{name}", self.service),
        }
    }

    fn deployment_url(&self) -> String {
        let base = self.client.base.as_str().trim_end_matches('/');
        let (sub, svc) = (&self.client.subscription, &self.service);
        match &self.deploy {
            Deploy::Slot(Slot::Production) => {
                format!("{base}/{sub}/services/hostedservices/{svc}/deploymentslots/production")
            }
            Deploy::Slot(Slot::Staging) => {
                format!("{base}/{sub}/services/hostedservices/{svc}/deploymentslots/staging")
            }
            Deploy::Name(name) => {
                format!("{base}/{sub}/services/hostedservices/{svc}/deployments/{name}")
            }
        }
    }

    fn request(&self, method: Method, url: &str) -> Request {
        // Every piece of the URL was validated as a plain name, so it parses.
        Request::new(method, Url::parse(url).expect("a valid management URL"))
            .header("x-ms-version", X_MS_VERSION)
    }

    fn post(&self, comp: &str, xml: String) -> Request {
        self.request(
            Method::POST,
            &format!("{}/?comp={comp}", self.deployment_url()),
        )
        .body(Body::Text {
            content_type: "application/xml",
            text: xml,
        })
    }

    /// The upgrade domains of the deployment a snapshot shows.
    pub fn deployment_state(&self, snapshot: &Snapshot) -> Domains {
        let d: Deployment = serde_json::from_value(snapshot.detail.clone()).unwrap_or_default();
        let count = d
            .upgrade_domain_count
            .as_deref()
            .and_then(|c| c.trim().parse().ok());
        let current = d.upgrade_status.as_ref().and_then(|u| {
            let domain = u.current_upgrade_domain.as_deref()?.trim().parse().ok()?;
            Some((
                domain,
                u.current_upgrade_domain_state.clone().unwrap_or_default(),
            ))
        });
        Domains { count, current }
    }

    /// Walk Upgrade Domain for `domain`.
    pub fn walk_request(&self, domain: u32) -> Request {
        self.post("walkupgradedomain", model::walk_body(domain))
    }

    async fn get<T: for<'de> serde::Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<(T, Response), Error> {
        let response = self
            .client
            .http
            .read(&self.request(Method::GET, url))
            .await?;
        if !response.is_success() {
            return Err(self.error(&response));
        }
        let parsed = model::parse(&response.body).map_err(|e| {
            Error::unexpected(format!(
                "{} answered something that is not the expected XML ({e}): {}",
                response.url,
                excerpt(&response.body, 200)
            ))
        })?;
        Ok((parsed, response))
    }

    /// Get Deployment.
    async fn deployment(&self) -> Result<DeploymentState, Error> {
        let (deployment, response) = self.get::<Deployment>(&self.deployment_url()).await?;
        Ok(DeploymentState {
            deployment,
            retry_after: response.retry_after(),
        })
    }

    async fn operation(&self, id: &str) -> Result<(Operation, Response), Error> {
        let base = self.client.base.as_str().trim_end_matches('/');
        self.get::<Operation>(&format!(
            "{base}/{}/operations/{id}",
            self.client.subscription
        ))
        .await
    }

    /// An `<Error>` answer as an error, with hints for the codes that have one.
    fn error(&self, response: &Response) -> Error {
        let status = response.status;
        let body = model::parse::<ErrorBody>(&response.body).ok();
        let code = body
            .as_ref()
            .and_then(|b| b.code.clone())
            .filter(|c| !c.is_empty());
        let message = body.and_then(|b| b.message).filter(|m| !m.is_empty());
        let mut text = format!("{} answered HTTP {status}", response.url.path());
        match (&code, &message) {
            (Some(code), Some(message)) => text.push_str(&format!(" {code}: {message}")),
            (Some(code), None) => text.push_str(&format!(" {code}")),
            _ if response.body.is_empty() => {}
            _ => text.push_str(&format!(": {}", excerpt(&response.body, 200))),
        }
        match (status, code.as_deref()) {
            (404, _) => text.push_str(&format!(
                " (subscription {}, deployment {})",
                self.client.subscription,
                self.label()
            )),
            (409, _) => text.push_str(
                " (another operation holds the deployment; wait for it to finish and try again)",
            ),
            (400, _) if message.as_deref().is_some_and(|m| m.contains("Force")) => {
                text.push_str(
                    " (retry with --force, accepting that role instances may lose local data)",
                );
            }
            _ => {}
        }
        Error::from_http_status(status, Problem::new(text).with_code(code))
    }

    /// The snapshot for a deployment, given what this run has done.
    fn judge(&mut self, state: DeploymentState) -> Snapshot {
        let d = &state.deployment;
        let status = d.status.clone().unwrap_or_else(|| "no Status".into());
        let detail = serde_json::to_value(d).unwrap_or_default();
        let progress = deployment_progress(d);
        let mut snapshot = Snapshot {
            phase: Phase::Idle,
            platform_state: Some(status.clone()),
            from_version: None,
            progress,
            failure: None,
            detail,
            retry_after: state.retry_after,
            moving: false,
            next_step: None,
            events: Vec::new(),
        };
        let Some(upgrade) = &d.upgrade_status else {
            if self.tracking.accepted && !self.walk_only() {
                snapshot.phase = Phase::RolledBack;
                if self.tracking.operation.is_some() {
                    snapshot.platform_state = Some("Succeeded".into());
                }
            }
            return snapshot;
        };
        snapshot.platform_state = Some(upgrade_state(upgrade));
        if self.walk_only() && self.tracking.accepted {
            // The walk's operation ended: report the deployment as it stands.
            snapshot.phase = if model::flag(&d.rollback_allowed) {
                Phase::Upgrading
            } else {
                Phase::Unknown
            };
            return snapshot;
        }
        snapshot.moving = true;
        if self.tracking.expected && !self.tracking.accepted && !model::flag(&d.rollback_allowed) {
            // It allowed a rollback before ours left; now it does not: ours is running
            // (the API has no other sign of a rollback in progress).
            self.tracking.accepted = true;
        }
        if !self.tracking.accepted {
            // A rollback may not be sent, and the API does not say whether one is running.
            snapshot.phase = if model::flag(&d.rollback_allowed) {
                Phase::Upgrading
            } else {
                Phase::Unknown
            };
            return snapshot;
        }
        snapshot.phase = Phase::RollingBack;
        let before = upgrade
            .current_upgrade_domain_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Before"));
        let domain = upgrade
            .current_upgrade_domain
            .as_deref()
            .and_then(|v| v.trim().parse::<u32>().ok());
        if let (Mode::Manual, true, Some(domain)) = (self.mode, before, domain) {
            // Each domain is walked once: a walk whose fate is unclear is never repeated.
            if self.tracking.walked.insert(domain) {
                snapshot.next_step = Some(NextStep {
                    request: self.walk_request(domain),
                    what: format!("Upgrade domain {domain} walk"),
                    question: format!("Walk upgrade domain {domain} of {}?", self.label()),
                    note: format!("Walking upgrade domain {domain}."),
                });
            }
        }
        snapshot
    }

    /// The snapshot a Get Operation Status answer stands for; `None` once the operation
    /// succeeded, when the deployment itself tells the rest.
    fn judge_operation(
        &mut self,
        id: &str,
        operation: Operation,
        response: &Response,
    ) -> Option<Snapshot> {
        if let Some(seen) = operation
            .id
            .as_deref()
            .filter(|seen| !model::same_operation(seen, id))
        {
            tracing::warn!("operation {id} answered with the id {seen}");
        }
        let state = operation.status.clone().unwrap_or_default();
        let detail = serde_json::to_value(&operation).unwrap_or_default();
        // A walk's operation says nothing about a rollback.
        let phase = if self.walk_only() {
            Phase::Unknown
        } else {
            Phase::RollingBack
        };
        let mut snapshot = Snapshot {
            phase,
            platform_state: Some(state.clone()),
            from_version: None,
            progress: format!("operation {id}: {state}"),
            failure: None,
            detail,
            retry_after: response.retry_after(),
            moving: true,
            next_step: None,
            events: Vec::new(),
        };
        match state.as_str() {
            "InProgress" => {}
            "Succeeded" => {
                self.tracking.operation_done = true;
                return None;
            }
            "Failed" => {
                let error = operation.error.unwrap_or_default();
                let code = error.code.filter(|c| !c.is_empty());
                let mut message = format!("operation {id} failed");
                if let Some(code) = &code {
                    message.push_str(&format!(": {code}"));
                }
                if let Some(text) = error.message.filter(|m| !m.is_empty()) {
                    message.push_str(&format!(": {text}"));
                }
                let mut failure = Problem::new(message).with_code(code);
                failure.http_status = operation
                    .http_status_code
                    .as_deref()
                    .and_then(|s| s.trim().parse().ok());
                snapshot.phase = Phase::Failed;
                snapshot.failure = Some(failure);
                snapshot.moving = false;
            }
            _ => {
                snapshot.phase = Phase::Unknown;
                snapshot.platform_state =
                    Some(format!("{state} ({})", excerpt(&response.body, 200)));
                snapshot.moving = false;
            }
        }
        Some(snapshot)
    }
}

/// A Get Deployment answer.
pub struct DeploymentState {
    pub deployment: Deployment,
    retry_after: Option<Duration>,
}

/// Where an update stands in its upgrade domains.
pub struct Domains {
    /// `UpgradeDomainCount`.
    pub count: Option<u32>,
    /// `CurrentUpgradeDomain` and its state (`Before`/`During`), while an update runs.
    pub current: Option<(u32, String)>,
}

fn upgrade_state(upgrade: &model::UpgradeStatus) -> String {
    format!(
        "{}/{}/UD{}",
        upgrade.upgrade_type.as_deref().unwrap_or("?"),
        upgrade
            .current_upgrade_domain_state
            .as_deref()
            .unwrap_or("?"),
        upgrade.current_upgrade_domain.as_deref().unwrap_or("?")
    )
}

fn deployment_progress(d: &Deployment) -> String {
    let mut parts = vec![format!(
        "deployment {}",
        d.status.as_deref().unwrap_or("(no status)")
    )];
    if let Some(u) = &d.upgrade_status {
        parts.push(format!(
            "{} update in upgrade domain {} ({}) of {}",
            u.upgrade_type.as_deref().unwrap_or("?"),
            u.current_upgrade_domain.as_deref().unwrap_or("?"),
            u.current_upgrade_domain_state.as_deref().unwrap_or("?"),
            d.upgrade_domain_count.as_deref().unwrap_or("?")
        ));
        parts.push(format!(
            "RollbackAllowed {}",
            model::flag(&d.rollback_allowed)
        ));
    } else {
        parts.push("no update in progress".into());
    }
    if model::flag(&d.locked) {
        parts.push("locked by a running operation".into());
    }
    let not_ready: Vec<String> = d
        .role_instance_list
        .iter()
        .flat_map(|l| &l.role_instances)
        .filter(|i| {
            i.instance_status
                .as_deref()
                .is_some_and(|s| s != "ReadyRole")
        })
        .map(|i| {
            format!(
                "{} ({})",
                i.instance_name.as_deref().unwrap_or("?"),
                i.instance_status.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if !not_ready.is_empty() {
        parts.push(format!("not ready: {}", not_ready.join(", ")));
    }
    parts.join(", ")
}

impl Rollback for CloudsvcTarget {
    fn record(&self, request: &Request) -> RequestRecord {
        self.client.http.record(request)
    }

    async fn send(&mut self, request: &Request) -> Delivery {
        self.client.http.send_once(request).await
    }

    fn default_poll_interval(&self) -> Duration {
        Duration::from_secs(10)
    }

    async fn read(&mut self) -> Result<Snapshot, Error> {
        let t = &self.tracking;
        let pending = t.operation.clone().filter(|_| !t.operation_done);
        if let Some(id) = pending {
            let (operation, response) = self.operation(&id).await?;
            if let Some(snapshot) = self.judge_operation(&id, operation, &response) {
                return Ok(snapshot);
            }
        }
        let state = self.deployment().await?;
        Ok(self.judge(state))
    }

    fn decide(&self, snapshot: &Snapshot) -> super::Decision {
        if snapshot.phase == Phase::Unknown && snapshot.moving {
            return super::Decision::Nothing(format!(
                "an update is in progress ({}) but RollbackAllowed is false: it cannot be rolled back now, or a rollback is already running",
                snapshot.platform_state.as_deref().unwrap_or("?")
            ));
        }
        super::default_decision(snapshot)
    }

    fn describe(&self, snapshot: &Snapshot) -> String {
        let force = if self.force {
            "\n--force: role instances may lose local data."
        } else {
            ""
        };
        // The server's words stay on their own line: a newline in them cannot fake another.
        format!(
            "{}: {}{force}\nRoll back the update of {} in {} mode?",
            self.label(),
            one_line(&snapshot.progress),
            self.label(),
            self.mode.as_str()
        )
    }

    fn rollback_request(&self) -> Request {
        self.post(
            "rollback",
            model::rollback_body(self.mode.as_str(), self.force),
        )
    }

    fn rejection(&self, response: &Response) -> Error {
        self.error(response)
    }

    fn expect_rollback(&mut self) -> bool {
        self.tracking.expected = true;
        true
    }

    fn accepted(&mut self, response: &Response) -> Result<Option<String>, Error> {
        let id = response
            .header("x-ms-request-id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        // The id goes into the path of every status read: it must be one. The rollback was
        // accepted all the same: follow the deployment instead, as when no id comes back.
        let id = match id {
            Some(id) if !model::operation_id(&id) => {
                tracing::warn!(
                    "{} accepted the request (HTTP {}), but its x-ms-request-id {} is not an operation id (hex digits and '-'): following the deployment instead",
                    response.url.path(),
                    response.status,
                    crate::input::shown(&id),
                );
                None
            }
            id => id,
        };
        self.tracking.accepted = true;
        self.tracking.operation_done = id.is_none();
        self.tracking.operation.clone_from(&id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::http::{ClientOptions, TlsOptions, TokenPlacement};
    use crate::testing::{Shape, arb_document, arb_xml_text, full_document, response, to_xml};
    use Shape::{Leaf, List, Object};
    use proptest::prelude::*;
    use serde_json::Value;

    const ROLE_INSTANCE: Shape = Object(&[
        ("RoleName", Leaf),
        ("InstanceName", Leaf),
        ("InstanceStatus", Leaf),
        ("InstanceUpgradeDomain", Leaf),
        ("InstanceFaultDomain", Leaf),
        ("InstanceSize", Leaf),
    ]);
    /// `<Deployment>`: every element the model reads, and counts and dates it does not.
    const DEPLOYMENT: Shape = Object(&[
        ("Name", Leaf),
        ("DeploymentSlot", Leaf),
        ("PrivateID", Leaf),
        ("Status", Leaf),
        ("Label", Leaf),
        ("Configuration", Leaf),
        (
            "RoleInstanceList",
            Object(&[("RoleInstance", List(&ROLE_INSTANCE))]),
        ),
        (
            "UpgradeStatus",
            Object(&[
                ("UpgradeType", Leaf),
                ("CurrentUpgradeDomainState", Leaf),
                ("CurrentUpgradeDomain", Leaf),
            ]),
        ),
        ("UpgradeDomainCount", Leaf),
        ("SdkVersion", Leaf),
        ("Locked", Leaf),
        ("RollbackAllowed", Leaf),
        ("CreatedTime", Leaf),
        ("LastModifiedTime", Leaf),
    ]);
    const ERROR: Shape = Object(&[("Code", Leaf), ("Message", Leaf)]);
    const OPERATION: Shape = Object(&[
        ("ID", Leaf),
        ("Status", Leaf),
        ("HttpStatusCode", Leaf),
        ("Error", ERROR),
    ]);

    fn text() -> BoxedStrategy<Value> {
        arb_xml_text().prop_map(Value::String).boxed()
    }

    fn document(name: &str, value: &Value) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}",
            to_xml(name, value)
        )
        .into_bytes()
    }

    fn target(mode: Mode, walk_only: bool) -> CloudsvcTarget {
        let base = Url::parse("https://management.core.invalid").unwrap();
        let http = HttpClient::new(ClientOptions {
            base: base.clone(),
            // Nothing is sent; skipping the system roots keeps each case fast.
            tls: TlsOptions {
                insecure: true,
                ..TlsOptions::default()
            },
            token: None,
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(1),
        })
        .unwrap();
        let purpose = if walk_only {
            Purpose::Walk
        } else {
            Purpose::Rollback
        };
        CloudsvcTarget::new(
            CloudsvcClient {
                http,
                base,
                subscription: "0123abcd-0000-4000-8000-0123456789ab".into(),
            },
            "svc".into(),
            Deploy::Slot(Slot::Production),
            mode,
            false,
            purpose,
        )
    }

    fn accepted_with(id: &str) -> Response {
        let mut answer = response(202, b"");
        answer
            .headers
            .insert("x-ms-request-id", id.parse().unwrap());
        answer
    }

    /// The text of a leaf as the API would parse it: a number of type `T`, or none.
    fn number<T: std::str::FromStr>(value: &Value) -> Option<T> {
        value.as_str()?.trim().parse().ok()
    }

    #[test]
    fn the_shapes_name_every_element_the_models_read() {
        let d: Deployment =
            model::parse(&document("Deployment", &full_document(&DEPLOYMENT))).unwrap();
        let o: Operation =
            model::parse(&document("Operation", &full_document(&OPERATION))).unwrap();
        for model in [format!("{d:?}"), format!("{o:?}")] {
            assert!(
                !model.contains("None"),
                "an element the shape does not name: {model}"
            );
        }
        assert_eq!(d.role_instance_list.unwrap().role_instances.len(), 1);
    }

    proptest! {
        /// Get Deployment with hostile text in every element (counts and upgrade domains
        /// beyond u32, negative, fractional, 1e300, long strings) is read and judged in every
        /// state a run can be in, without a panic.
        #[test]
        fn hostile_deployments_are_judged(
            doc in arb_document(&DEPLOYMENT, text),
            manual in any::<bool>(),
            walk_only in any::<bool>(),
            accepted in any::<bool>(),
        ) {
            let body = document("Deployment", &doc);
            let mode = if manual { Mode::Manual } else { Mode::Auto };
            let mut t = target(mode, walk_only);
            if accepted {
                t.accepted(&accepted_with("5250805d51f2bf4fb2b7614bc03870de")).unwrap();
                t.tracking.operation_done = true;
            }
            let deployment: Deployment = model::parse(&body).unwrap();
            let snapshot = t.judge(DeploymentState { deployment, retry_after: None });
            let upgrade = &doc["UpgradeStatus"];
            let domains = t.deployment_state(&snapshot);
            prop_assert_eq!(domains.count, number::<u32>(&doc["UpgradeDomainCount"]));
            let current = number::<u32>(&upgrade["CurrentUpgradeDomain"]);
            prop_assert_eq!(domains.current.map(|c| c.0), current);
            if upgrade.is_null() {
                prop_assert!(!snapshot.moving);
            } else if !accepted {
                prop_assert!(matches!(snapshot.phase, Phase::Upgrading | Phase::Unknown));
            }
            if snapshot.next_step.is_some() {
                prop_assert!(manual && accepted && !walk_only && current.is_some());
            }
            let _ = t.describe(&snapshot);
            let _ = t.decide(&snapshot);
        }

        /// Get Operation Status with hostile text everywhere, `HttpStatusCode` included.
        #[test]
        fn hostile_operations_are_judged(
            doc in arb_document(&OPERATION, text),
            status in prop::sample::select(&["InProgress", "Succeeded", "Failed", "Other"][..]),
            keep in any::<bool>(),
        ) {
            let mut doc = doc;
            if keep {
                doc["Status"] = Value::String(status.into());
            }
            let body = document("Operation", &doc);
            let mut t = target(Mode::Auto, false);
            let operation: Operation = model::parse(&body).unwrap();
            let state = operation.status.clone().unwrap_or_default();
            let judged = t.judge_operation("5250805d51f2bf4fb2b7614bc03870de", operation, &response(200, &body));
            match (state.as_str(), judged) {
                ("Succeeded", None) => {}
                ("InProgress", Some(s)) => prop_assert!(s.moving && s.phase == Phase::RollingBack),
                ("Failed", Some(s)) => {
                    prop_assert_eq!(s.phase, Phase::Failed);
                    let failure = s.failure.unwrap();
                    prop_assert_eq!(failure.http_status, number::<u16>(&doc["HttpStatusCode"]));
                }
                (_, Some(s)) => prop_assert_eq!(s.phase, Phase::Unknown),
                (state, None) => prop_assert!(false, "{} ended the operation", state),
            }
        }

        /// An `<Error>` answer with hostile text, in any error status.
        #[test]
        fn hostile_errors_are_errors(doc in arb_document(&ERROR, text), status in 400u16..600) {
            let e = target(Mode::Auto, false).error(&response(status, &document("Error", &doc)));
            prop_assert!([1, 4, 6].contains(&e.exit_code()));
        }
    }
}
