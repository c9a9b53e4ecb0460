//! The Service Management client for one deployment: its URLs and mutating requests, reading
//! Get Deployment and Get Operation Status, and `<Error>` answers turned into errors.

use std::time::Duration;

use reqwest::{Method, Url};

use super::model::{self, Deployment, ErrorBody, Operation};
use crate::error::{Error, Problem, excerpt};
use crate::http::{Body, HttpClient, Request, Response};

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

/// The client for one deployment of one subscription.
pub struct CloudsvcClient {
    pub http: HttpClient,
    pub base: Url,
    pub subscription: String,
    pub service: String,
    pub deploy: Deploy,
}

/// A Get Deployment answer.
pub struct DeploymentState {
    pub deployment: Deployment,
    pub retry_after: Option<Duration>,
}

impl CloudsvcClient {
    /// `service/slot` or `service/deployment-name`, for messages and the result's target.
    pub fn label(&self) -> String {
        match &self.deploy {
            Deploy::Slot(Slot::Production) => format!("{}/production", self.service),
            Deploy::Slot(Slot::Staging) => format!("{}/staging", self.service),
            Deploy::Name(name) => format!("{}/{name}", self.service),
        }
    }

    fn deployment_url(&self) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        let (sub, svc) = (&self.subscription, &self.service);
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

    /// Rollback Update Or Upgrade.
    pub fn rollback_request(&self, mode: Mode, force: bool) -> Request {
        self.post("rollback", model::rollback_body(mode.as_str(), force))
    }

    /// Walk Upgrade Domain for `domain`.
    pub fn walk_request(&self, domain: u32) -> Request {
        self.post("walkupgradedomain", model::walk_body(domain))
    }

    async fn get<T: for<'de> serde::Deserialize<'de>>(
        &self,
        url: &str,
    ) -> Result<(T, Response), Error> {
        let response = self.http.read(&self.request(Method::GET, url)).await?;
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
    pub async fn deployment(&self) -> Result<DeploymentState, Error> {
        let (deployment, response) = self.get::<Deployment>(&self.deployment_url()).await?;
        Ok(DeploymentState {
            deployment,
            retry_after: response.retry_after(),
        })
    }

    /// Get Operation Status for `id`, an id [`operation_id`] returned.
    pub async fn operation(&self, id: &str) -> Result<(Operation, Response), Error> {
        let base = self.base.as_str().trim_end_matches('/');
        self.get::<Operation>(&format!("{base}/{}/operations/{id}", self.subscription))
            .await
    }

    /// An `<Error>` answer as an error, with hints for the codes that have one.
    pub fn error(&self, response: &Response) -> Error {
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
                self.subscription,
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
}

/// The operation id of an accepted rollback or walk: its `x-ms-request-id`, when there is one
/// that can go into a URL path.
pub fn operation_id(response: &Response) -> Option<String> {
    let id = response
        .header("x-ms-request-id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    // The id goes into the path of every status read: it must be one. The request was
    // accepted all the same: the caller follows the deployment instead, as when no id comes
    // back.
    match id {
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
    }
}
