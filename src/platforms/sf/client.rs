//! The Service Fabric REST client: application ids and their path segments, the URLs and
//! requests for the cluster or one application, JSON answers and `FabricError` answers.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, Url};

use super::model::{FabricError, VersionInfo};
use crate::error::{Error, Problem, excerpt};
use crate::http::{HttpClient, Request, Response};

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

    /// The application's name: `fabric:/myapp/app1` for `myapp~app1`.
    pub fn name(&self) -> String {
        format!("fabric:/{}", self.0.replace('~', "/"))
    }

    pub(super) fn path_segment(&self) -> String {
        segment(&self.0)
    }
}

/// `text` as one path segment: escaped where it cannot stand raw.
pub fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// What is being rolled back.
#[derive(Debug, Clone)]
pub enum Scope {
    Cluster,
    App(AppId),
}

impl Scope {
    /// The path the scope's requests start with: none for the cluster.
    fn base_path(&self) -> String {
        match self {
            Self::Cluster => String::new(),
            Self::App(id) => format!("/Applications/{}", id.path_segment()),
        }
    }
}

/// The client for one cluster.
pub struct SfClient {
    pub http: HttpClient,
    pub endpoint: Url,
    pub api_version: String,
    pub server_timeout: Option<u32>,
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

    /// A request to `path` at `api_version` (`extra`: more of the query, from `&`).
    pub fn request(&self, method: Method, path: &str, api_version: &str, extra: &str) -> Request {
        Request::new(method, self.url(path, api_version, extra))
            .header("Accept", "application/json")
    }

    /// A JSON answer to a read; a non-2xx answer is its `FabricError`.
    pub async fn get_json(&self, request: &Request) -> Result<serde_json::Value, Error> {
        let response = self.http.read(request).await?;
        if !response.is_success() {
            return Err(fabric_error(&response));
        }
        parse_json(&response)
    }

    /// Get Cluster or Application Upgrade Progress, the answer as it came (any status).
    pub async fn progress(&self, scope: &Scope) -> Result<Response, Error> {
        let path = format!("{}/$/GetUpgradeProgress", scope.base_path());
        let request = self.request(Method::GET, &path, &self.api_version, "");
        self.http.read(&request).await
    }

    /// Rollback Cluster or Application Upgrade.
    pub fn rollback_request(&self, scope: &Scope) -> Request {
        let path = format!("{}/$/RollbackUpgrade", scope.base_path());
        self.request(Method::POST, &path, &self.api_version, "")
    }

    /// Get Application Health or Get Cluster Health, as read.
    pub async fn health(&self, scope: &Scope) -> Result<serde_json::Value, Error> {
        let path = match scope {
            Scope::Cluster => "/$/GetClusterHealth".to_string(),
            Scope::App(_) => format!("{}/$/GetHealth", scope.base_path()),
        };
        let request = self.request(Method::GET, &path, &self.api_version, "");
        self.get_json(&request).await
    }

    /// The version in place: the cluster's code version or the application's type version.
    pub async fn version(&self, scope: &Scope) -> Result<Option<String>, Error> {
        let (request, field): (Request, fn(VersionInfo) -> Option<String>) = match scope {
            Scope::Cluster => (
                self.request(Method::GET, "/$/GetClusterVersion", "6.4", ""),
                |v| v.version,
            ),
            Scope::App(_) => (
                self.request(
                    Method::GET,
                    &scope.base_path(),
                    &self.api_version,
                    "&ExcludeApplicationParameters=true",
                ),
                |v| v.type_version,
            ),
        };
        let info = self.get_json(&request).await.and_then(|v| {
            serde_json::from_value::<VersionInfo>(v).map_err(|e| Error::unexpected(e.to_string()))
        })?;
        Ok(field(info).filter(|v| !v.is_empty()))
    }
}

/// A JSON answer, tolerating a byte-order mark.
pub fn parse_json(response: &Response) -> Result<serde_json::Value, Error> {
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
pub fn fabric_error(response: &Response) -> Error {
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
