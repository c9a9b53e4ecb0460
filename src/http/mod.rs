//! The one place that touches reqwest: client construction, credentials on requests, retries,
//! redirects, body limits, and the redacted record of a request for `--dry-run`.
//!
//! Where a request may go is one rule, [`HttpClient::may_reach`], used both for following a
//! redirect and for attaching a credential: the endpoint's own origin, and for a client built
//! with [`ClientOptions::redirect_domains`], https hosts under those domains.
//!
//! Reads go through [`HttpClient::read`] (retried with jittered backoff, `Retry-After` honoured);
//! a rollback goes through [`HttpClient::send_once`], which repeats a request only when the
//! server provably did not act on it (no connection, or 429/503).

mod proxy;
mod retry;
pub mod tls;

use std::collections::HashSet;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Url};
use serde::Serialize;
use tracing::{debug, info};

use crate::error::{Error, Problem, excerpt};
pub use crate::secret::Secret;
use proxy::{Proxies, Route};
pub use retry::{SEND_RETRY_STATUSES, backoff};
pub use tls::{IdentityFile, IdentitySource, TlsOptions};

/// The most we read of one answer: status documents are kilobytes.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
const REDACTED: &str = "<redacted>";
const USER_AGENT: &str = concat!("rollback/", env!("CARGO_PKG_VERSION"));

/// How the bearer token travels.
#[derive(Debug, Clone, Copy)]
pub struct TokenPlacement {
    /// Header carrying `Bearer <token>`.
    pub header: &'static str,
    /// Form field that also carries the token in form bodies.
    pub form_field: Option<&'static str>,
}

impl TokenPlacement {
    pub const AUTHORIZATION: Self = Self {
        header: "Authorization",
        form_field: None,
    };
}

/// Everything needed to build the client of one platform.
pub struct ClientOptions {
    /// The configured endpoint: credentials go to its origin only.
    pub base: Url,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
    pub token_placement: TokenPlacement,
    /// Besides the endpoint's own origin, https hosts under these domains (the domain itself or
    /// a subdomain, lower case) that a 307/308 may lead to, taking the request's credentials
    /// along. Empty: the endpoint's origin only.
    pub redirect_domains: &'static [&'static str],
    /// Bound on one request, connect to last byte.
    pub request_timeout: Duration,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    /// A text document (XML) with its content type.
    Text {
        content_type: &'static str,
        text: String,
    },
    /// Form fields, `application/x-www-form-urlencoded`.
    Form(Vec<(&'static str, Field)>),
}

/// A form field's value: secrets are sent, and shown as `<redacted>`.
#[derive(Debug, Clone)]
pub enum Field {
    Plain(String),
    Secret(Secret),
}

/// A request, before credentials are added.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// Whether the configured token goes with it (not to a token service).
    pub with_token: bool,
}

impl Request {
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
            with_token: true,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Sends no token with this request.
    pub fn without_token(mut self) -> Self {
        self.with_token = false;
        self
    }
}

/// A request as `--dry-run` and the result document show it: secrets replaced.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub body: Option<String>,
}

impl std::fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {}", value.as_str().unwrap_or_default())?;
        }
        if let Some(body) = &self.body {
            writeln!(f)?;
            writeln!(f, "{body}")?;
        }
        Ok(())
    }
}

/// An answer, read in full (up to [`MAX_BODY`]).
#[derive(Debug)]
pub struct Response {
    /// The method of the request this answers.
    pub method: Method,
    pub status: u16,
    pub url: Url,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn retry_after(&self) -> Option<Duration> {
        retry::parse_retry_after(self.header("retry-after")?, SystemTime::now())
    }
}

/// What became of a mutating request.
#[derive(Debug)]
pub enum Delivery {
    /// The server answered (any status, 429 and 503 included: the caller decides).
    Answered(Response),
    /// Provably not acted on: no connection could be made. `retry`: whether trying again may
    /// help (a refused connection may; a refused TLS certificate will not).
    NotSent { error: Error, retry: bool },
    /// It may or may not have been received (timeout, reset, a broken TLS stream or an
    /// unreadable answer after the request left).
    Ambiguous(Error),
}

/// Why one attempt failed.
enum Failure {
    /// The request never left: connect or DNS failure.
    NotSent(Error),
    /// The request may have reached the server.
    Ambiguous(Error),
    /// The request never left and retrying cannot help (TLS trust, refused client certificate).
    Final(Error),
    /// The server answered, but the answer cannot be read (over the size cap): a read is not
    /// worth repeating, and a mutating request may have been acted on.
    Unreadable(Error),
    /// The server answered with a redirect that is not followed: it did not act on the request.
    Redirect(Error),
}

struct Header {
    name: &'static str,
    value: String,
    secret: bool,
}

/// The HTTP client of one platform.
pub struct HttpClient {
    client: reqwest::Client,
    base: Url,
    token: Mutex<Option<Secret>>,
    token_placement: TokenPlacement,
    redirect_domains: &'static [&'static str],
    request_timeout: Duration,
    proxies: Arc<Proxies>,
    /// Origins whose route (proxy or none) has been logged.
    routes_logged: Mutex<HashSet<String>>,
}

impl HttpClient {
    /// A client whose proxies come from the environment (see [`proxy`]).
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        Self::with_proxies(options, Proxies::from_env())
    }

    fn with_proxies(options: ClientOptions, proxies: Proxies) -> Result<Self, Error> {
        if options.token.is_some() {
            refuse_plain_http(&options.base)?;
        }
        // A proxy variable that applies to the endpoint but is no proxy URL: exit 2 now.
        proxies.route(&options.base)?;
        let proxies = Arc::new(proxies);
        let identity = match &options.tls.identity {
            Some(source) => {
                let identity = tls::load_identity(source)?;
                info!(
                    "client certificate {} (SHA-1 thumbprint {})",
                    source.label(),
                    identity.thumbprint()
                );
                Some(identity)
            }
            None => None,
        };
        let config = tls::client_config(&options.tls, identity)?;
        let routes = proxies.clone();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            // reqwest reads no proxy variable itself; every connection asks `Proxies::route`.
            .no_proxy()
            .proxy(reqwest::Proxy::custom(move |url| match routes.route(url) {
                Ok(Route::Proxy { url, .. }) => Some(url),
                Ok(Route::Direct(_)) | Err(_) => None,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(options.request_timeout))
            .timeout(options.request_timeout)
            .build()
            .map_err(|e| Error::Usage(format!("cannot set up the HTTP client: {}", chain(&e))))?;
        Ok(Self {
            client,
            base: options.base,
            token: Mutex::new(options.token),
            token_placement: options.token_placement,
            redirect_domains: options.redirect_domains,
            request_timeout: options.request_timeout,
            proxies,
            routes_logged: Mutex::new(HashSet::new()),
        })
    }

    /// Replaces the bearer token (a new one was generated).
    pub fn set_token(&self, token: Secret) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    /// The one rule for where a request, and so a credential, may go: the endpoint's origin,
    /// or an https host under one of the redirect domains.
    fn may_reach(&self, url: &Url) -> bool {
        url.origin() == self.base.origin() || self.in_redirect_domains(url)
    }

    fn in_redirect_domains(&self, url: &Url) -> bool {
        url.scheme() == "https"
            && matches!(url.host(), Some(url::Host::Domain(_)))
            && url.host_str().is_some_and(|host| {
                let host = host.to_ascii_lowercase();
                self.redirect_domains.iter().any(|domain| {
                    host == *domain
                        || host
                            .strip_suffix(domain)
                            .is_some_and(|rest| rest.ends_with('.'))
                })
            })
    }

    fn token_for(&self, url: &Url) -> Option<Secret> {
        let token = self
            .token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        // Never in clear to another machine, whatever the origin.
        (self.may_reach(url) && refuse_plain_http(url).is_ok()).then_some(token)
    }

    /// Where a redirect answer leads, if it is followed: `None` when the answer is no redirect
    /// (or names no place), an error naming the Location when the redirect is not followed.
    /// `first` is the URL the request was made for; every hop is judged against its origin.
    fn redirect_target(
        &self,
        method: &Method,
        first: &Url,
        at: &Url,
        response: &Response,
    ) -> Result<Option<Url>, Error> {
        let status = response.status;
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(None);
        }
        let Some(raw) = response.headers.get("location") else {
            return Ok(None);
        };
        let target = raw
            .to_str()
            .ok()
            .and_then(|location| at.join(location).ok());
        let (location, why) = match &target {
            None => (excerpt(raw.as_bytes(), 200), "it is not a URL".to_string()),
            Some(to) => {
                let shown = excerpt(to.as_str().as_bytes(), 200);
                let keeps_method = matches!(status, 307 | 308);
                if !keeps_method && *method != Method::GET && *method != Method::HEAD {
                    (
                        shown,
                        format!("a {status} would turn the {method} into a GET"),
                    )
                } else if at.scheme() == "https" && to.scheme() != "https" {
                    (shown, "it leads from https to plain http".to_string())
                } else if to.origin() == first.origin()
                    || (keeps_method && self.in_redirect_domains(to) && self.may_reach(first))
                {
                    return Ok(target);
                } else {
                    (
                        shown,
                        format!(
                            "it leads to another origin than {}",
                            first.origin().ascii_serialization()
                        ),
                    )
                }
            }
        };
        Err(Error::Platform(
            Problem::new(format!(
                "{method} {at} answered HTTP {status} with Location {location}: {why}; the redirect was not followed and nothing was sent there"
            ))
            .with_status(status),
        ))
    }

    fn headers(&self, request: &Request, url: &Url) -> Vec<Header> {
        let mut headers = vec![Header {
            name: "User-Agent",
            value: USER_AGENT.into(),
            secret: false,
        }];
        headers.extend(request.headers.iter().map(|(name, value)| Header {
            name,
            value: value.clone(),
            secret: false,
        }));
        if let Some(token) = self.token_for(url).filter(|_| request.with_token) {
            headers.push(Header {
                name: self.token_placement.header,
                value: format!("Bearer {}", token.expose()),
                secret: true,
            });
        }
        headers
    }

    /// The body bytes, and the same body with secrets redacted.
    fn body(&self, request: &Request, url: &Url) -> Option<(&'static str, Vec<u8>, String)> {
        match &request.body {
            Body::Empty => None,
            Body::Text { content_type, text } => {
                Some((content_type, text.clone().into_bytes(), text.clone()))
            }
            Body::Form(fields) => {
                let mut wire = url::form_urlencoded::Serializer::new(String::new());
                let mut shown = Vec::new();
                let mut show = |name: &str, value: Option<&str>| {
                    let value = match value {
                        Some(v) => url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
                        None => REDACTED.to_string(),
                    };
                    shown.push(format!("{name}={value}"));
                };
                for (name, field) in fields {
                    match field {
                        Field::Plain(value) => {
                            wire.append_pair(name, value);
                            show(name, Some(value));
                        }
                        Field::Secret(secret) => {
                            wire.append_pair(name, secret.expose());
                            show(name, None);
                        }
                    }
                }
                let token = self.token_for(url).filter(|_| request.with_token);
                if let (Some(field), Some(token)) = (self.token_placement.form_field, token) {
                    wire.append_pair(field, token.expose());
                    show(field, None);
                }
                Some((
                    "application/x-www-form-urlencoded",
                    wire.finish().into_bytes(),
                    shown.join("&"),
                ))
            }
        }
    }

    /// The request as it would go on the wire, secrets redacted.
    pub fn record(&self, request: &Request) -> RequestRecord {
        let mut headers = serde_json::Map::new();
        for header in self.headers(request, &request.url) {
            let value = if header.secret {
                format!("Bearer {REDACTED}")
            } else {
                header.value
            };
            headers.insert(header.name.to_string(), value.into());
        }
        let body = self.body(request, &request.url);
        match &body {
            Some((content_type, bytes, _)) => {
                headers.insert("Content-Type".into(), (*content_type).into());
                headers.insert("Content-Length".into(), bytes.len().to_string().into());
            }
            None if request.method != Method::GET => {
                headers.insert("Content-Length".into(), "0".into());
            }
            None => {}
        }
        RequestRecord {
            method: request.method.to_string(),
            url: request.url.to_string(),
            headers,
            body: body.map(|(_, _, shown)| shown),
        }
    }

    /// A read: repeated on connection failures and 408/429/5xx with backoff or `Retry-After`.
    /// Error statuses that survive the retries come back as a [`Response`] for the platform
    /// to interpret.
    pub async fn read(&self, request: &Request) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            let (outcome, delay) = match self.attempt(request).await {
                Ok(response) if retry::READ_RETRY_STATUSES.contains(&response.status) => {
                    let delay = response
                        .retry_after()
                        .unwrap_or_else(|| retry::backoff(attempt));
                    (Ok(response), delay)
                }
                Ok(response) => return Ok(response),
                Err(
                    Failure::Final(error) | Failure::Unreadable(error) | Failure::Redirect(error),
                ) => {
                    return Err(error);
                }
                Err(Failure::NotSent(error) | Failure::Ambiguous(error)) => {
                    (Err(error), retry::backoff(attempt))
                }
            };
            if attempt == retry::MAX_RETRIES {
                return outcome;
            }
            attempt += 1;
            match &outcome {
                Ok(response) => debug!(
                    "{} {} answered {}; retry {attempt} in {delay:?}",
                    request.method, request.url, response.status
                ),
                Err(error) => debug!(
                    "{} {} failed: {error}; retry {attempt} in {delay:?}",
                    request.method, request.url
                ),
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// A mutating request, sent exactly once: whether and when to send it again is the
    /// caller's decision, after it has checked the precondition again (`engine::send`).
    pub async fn send_once(&self, request: &Request) -> Delivery {
        match self.attempt(request).await {
            Ok(response) => Delivery::Answered(response),
            Err(Failure::NotSent(error)) => Delivery::NotSent { error, retry: true },
            // A redirect not followed is an answer that the request belongs elsewhere:
            // nothing was done.
            Err(Failure::Final(error) | Failure::Redirect(error)) => Delivery::NotSent {
                error,
                retry: false,
            },
            Err(Failure::Ambiguous(error) | Failure::Unreadable(error)) => {
                Delivery::Ambiguous(error)
            }
        }
    }

    /// One attempt, following the redirects [`Self::redirect_target`] allows: 307/308 with
    /// the same method and body, 301/302/303 only for a GET.
    async fn attempt(&self, request: &Request) -> Result<Response, Failure> {
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response = self.attempt_once(request, &url).await?;
            let next = self
                .redirect_target(&request.method, &request.url, &url, &response)
                .map_err(Failure::Redirect)?;
            let Some(next) = next else {
                return Ok(response);
            };
            info!("{} {url} redirected to {next}", request.method);
            url = next;
        }
        Err(Failure::Final(Error::unexpected(format!(
            "more than {MAX_REDIRECTS} redirects, starting at {}",
            request.url
        ))))
    }

    async fn attempt_once(&self, request: &Request, url: &Url) -> Result<Response, Failure> {
        let route = self.route(url).map_err(Failure::Final)?;
        // A password or other secret field goes in clear only to this machine, which is never
        // reached through a proxy (tokens are held back by `token_for`).
        let secret_field = matches!(&request.body, Body::Form(fields)
            if fields.iter().any(|(_, f)| matches!(f, Field::Secret(_))));
        if secret_field {
            refuse_plain_http(url).map_err(Failure::Final)?;
        }
        let started = Instant::now();
        let mut builder = self.client.request(request.method.clone(), url.clone());
        for header in self.headers(request, url) {
            builder = builder.header(header.name, header.value);
        }
        match self.body(request, url) {
            Some((content_type, bytes, _)) => {
                builder = builder.header("Content-Type", content_type).body(bytes)
            }
            // Gateways want a length on every POST, even an empty one.
            None if request.method != Method::GET => {
                builder = builder.header("Content-Length", "0").body(Vec::new())
            }
            None => {}
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| self.classify(e, url, &route))?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(too_large(url));
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify(e, url, &route))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large(url));
            }
            body.extend_from_slice(&chunk);
        }
        info!(
            "{} {url} → {status} ({} ms)",
            request.method,
            started.elapsed().as_millis()
        );
        Ok(Response {
            method: request.method.clone(),
            status,
            url: url.clone(),
            headers,
            body,
        })
    }

    /// How `url` is reached, logged at `-v` once for each origin.
    fn route(&self, url: &Url) -> Result<Route, Error> {
        let route = self.proxies.route(url)?;
        let origin = url.origin().ascii_serialization();
        let mut logged = self.routes_logged.lock().unwrap_or_else(|e| e.into_inner());
        if logged.insert(origin.clone()) {
            info!("{origin}: {route}");
        }
        Ok(route)
    }

    fn classify(&self, error: reqwest::Error, url: &Url, route: &Route) -> Failure {
        // The proxy, when there is one, is named: the failure may be its own.
        let host = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}{}", route.through()),
            _ => format!("{url}{}", route.through()),
        };
        if let Some(tls) = find_rustls_error(&error) {
            use rustls::AlertDescription as A;
            return match tls {
                // Refusals of the handshake itself: the server took no request. With TLS 1.3
                // a refused client certificate shows only after the handshake, but the server
                // still acted on nothing.
                rustls::Error::AlertReceived(
                    A::BadCertificate
                    | A::CertificateRequired
                    | A::UnknownCA
                    | A::AccessDenied
                    | A::CertificateUnknown
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate,
                ) => Failure::Final(Error::Auth(Problem::new(format!(
                    "{host} refused the TLS client certificate ({tls}); check --cert"
                )))),
                rustls::Error::InvalidCertificate(reason) => {
                    Failure::Final(Error::unreachable(format!(
                        "TLS: the server certificate of {host} is not trusted ({reason:?}); pass its CA with --ca"
                    )))
                }
                other if error.is_connect() => Failure::Final(Error::unreachable(format!(
                    "TLS with {host} failed: {other}"
                ))),
                // The handshake was done and the request may have left: the stream broke after.
                other => Failure::Ambiguous(Error::unreachable(format!(
                    "the TLS connection to {host} broke: {other}"
                ))),
            };
        }
        // The innermost cause says what happened ("Connection refused"); the outer layers
        // only repeat that a request failed.
        let cause = root_cause(&error);
        if error.is_connect() {
            Failure::NotSent(Error::unreachable(format!(
                "cannot connect to {host}: {cause}"
            )))
        } else if error.is_timeout() {
            Failure::Ambiguous(Error::unreachable(format!(
                "no complete answer from {host} within {}s",
                self.request_timeout.as_secs()
            )))
        } else {
            Failure::Ambiguous(Error::unreachable(format!(
                "the connection to {host} failed: {cause}"
            )))
        }
    }
}

fn too_large(url: &Url) -> Failure {
    Failure::Unreadable(Error::unexpected(format!(
        "the answer from {url} is larger than {} MiB; stopped reading it",
        MAX_BODY / (1024 * 1024)
    )))
}

/// Refuses to send a credential in clear text to anything but this machine.
pub fn refuse_plain_http(url: &Url) -> Result<(), Error> {
    if url.scheme() == "https" || is_loopback(url) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to send a credential over plain {}:// to {}: use https (plain http is allowed only to this machine)",
        url.scheme(),
        url.host_str().unwrap_or("?")
    )))
}

/// Whether the URL names this machine: a loopback IP literal or `localhost` itself. A name
/// under `.localhost` is not: the system resolver may send it anywhere (RFC 6761 only asks).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The distinct messages of an error and its sources, innermost last.
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        // reqwest's outer message repeats the URL; the causes say what happened.
        if !text.starts_with("error sending request") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = next_source(e);
    }
    parts.join(": ")
}

/// The innermost message of an error's sources.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = next_source(current) {
        current = next;
    }
    current.to_string()
}

/// Like `source()`, but looks inside `io::Error`, whose `source()` skips the wrapped error.
fn next_source<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return Some(inner);
    }
    error.source()
}

fn find_rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = next_source(e);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "http://127.0.0.1:1/",
            "http://[::1]:1/",
            "http://localhost/",
            "http://LocalHost:8/",
            "http://127.8.9.10/",
        ] {
            assert!(is_loopback(&Url::parse(ok).unwrap()), "{ok}");
        }
        for no in [
            "http://sf.invalid/",
            "http://10.0.0.1/",
            "http://localhost.invalid/",
            "http://a.localhost/",
            "http://x.y.localhost:1/",
            "http://localhost./",
            "http://127.0.0.1.invalid/",
        ] {
            assert!(!is_loopback(&Url::parse(no).unwrap()), "{no}");
        }
    }

    #[test]
    fn credentials_refused_over_plain_http_to_other_hosts() {
        let err = refuse_plain_http(&Url::parse("http://sf.invalid:19080/").unwrap()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("plain http:// to sf.invalid"),
            "{err}"
        );
        assert!(refuse_plain_http(&Url::parse("https://sf.invalid/").unwrap()).is_ok());
    }

    fn client(base: &str, domains: &'static [&'static str], tls: TlsOptions) -> HttpClient {
        HttpClient::new(ClientOptions {
            base: Url::parse(base).unwrap(),
            tls,
            token: Some(Secret::new("tok")),
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: domains,
            request_timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn redirect(status: u16, location: &str) -> Response {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("location", location.parse().unwrap());
        Response {
            method: Method::GET,
            status,
            url: Url::parse("https://unused.invalid/").unwrap(),
            headers,
            body: Vec::new(),
        }
    }

    const MANAGEMENT: &[&str] = &["management.core.windows.net"];

    /// Which redirects are followed, and whether the token goes along: one rule for both.
    #[test]
    fn redirects_stay_in_the_origin_or_the_configured_domains() {
        let base = "https://management.core.windows.net/sub/";
        let cloud = client(base, MANAGEMENT, TlsOptions::default());
        let plain = client(base, &[], TlsOptions::default());
        let from = Url::parse("https://management.core.windows.net/sub/x").unwrap();
        let cases: &[(u16, &str, Method, bool, bool)] = &[
            // status, Location, method, followed by `cloud`, followed by `plain`
            (307, "/sub/y", Method::POST, true, true),
            (
                308,
                "https://management.core.windows.net:443/z",
                Method::POST,
                true,
                true,
            ),
            (
                307,
                "https://rdfe2.management.core.windows.net/x",
                Method::POST,
                true,
                false,
            ),
            (
                308,
                "https://MANAGEMENT.core.windows.net:8443/x",
                Method::POST,
                true,
                false,
            ),
            (
                307,
                "http://rdfe2.management.core.windows.net/x",
                Method::POST,
                false,
                false,
            ),
            (
                307,
                "http://management.core.windows.net/x",
                Method::GET,
                false,
                false,
            ),
            (
                307,
                "https://evilmanagement.core.windows.net/x",
                Method::POST,
                false,
                false,
            ),
            (
                307,
                "https://management.core.windows.net.evil.invalid/",
                Method::POST,
                false,
                false,
            ),
            (
                307,
                "https://management.core.chinacloudapi.cn/x",
                Method::POST,
                false,
                false,
            ),
            (307, "https://203.0.113.9/x", Method::POST, false, false),
            // 301/302/303 keep a GET a GET within the origin; they would turn a POST into a GET.
            (302, "/sub/y", Method::GET, true, true),
            (301, "/sub/y", Method::POST, false, false),
            (303, "/sub/y", Method::POST, false, false),
            (
                302,
                "https://rdfe2.management.core.windows.net/x",
                Method::GET,
                false,
                false,
            ),
        ];
        for (status, location, method, by_cloud, by_plain) in cases {
            for (client, expected) in [(&cloud, by_cloud), (&plain, by_plain)] {
                let decision =
                    client.redirect_target(method, &from, &from, &redirect(*status, location));
                match decision {
                    Ok(Some(to)) => {
                        assert!(*expected, "{status} {location} {method} followed");
                        assert!(
                            client.token_for(&to).is_some(),
                            "{to}: the token goes along"
                        );
                    }
                    Ok(None) => panic!("{status} {location}: a redirect"),
                    Err(error) => {
                        assert!(!expected, "{status} {location} {method}: {error}");
                        assert_eq!(error.exit_code(), 1);
                        assert!(error.to_string().contains(" with Location "), "{error}");
                        assert!(error.to_string().ends_with(
                            "; the redirect was not followed and nothing was sent there"
                        ));
                    }
                }
            }
        }
        // A token goes exactly where a redirect may lead.
        for url in [
            "http://rdfe2.management.core.windows.net/",
            "https://evil.invalid/",
            "https://management.core.windows.net.evil.invalid/",
        ] {
            assert!(
                cloud.token_for(&Url::parse(url).unwrap()).is_none(),
                "{url}"
            );
        }
        assert!(
            plain
                .token_for(&Url::parse("https://rdfe2.management.core.windows.net/").unwrap())
                .is_none()
        );
        let error = cloud
            .redirect_target(&Method::GET, &from, &from, &redirect(307, "http://[::1"))
            .unwrap_err();
        assert!(error.to_string().contains("it is not a URL"), "{error}");
        let not_a_redirect =
            cloud.redirect_target(&Method::GET, &from, &from, &redirect(300, "/a"));
        assert!(matches!(not_a_redirect, Ok(None)));
    }

    /// From https to plain http, never, even on this machine.
    #[test]
    fn no_redirect_from_https_to_http() {
        let client = client("https://localhost:8443/", &[], TlsOptions::default());
        let from = Url::parse("https://localhost:8443/a").unwrap();
        let error = client
            .redirect_target(
                &Method::GET,
                &from,
                &from,
                &redirect(308, "http://localhost:8443/a"),
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "GET https://localhost:8443/a answered HTTP 308 with Location http://localhost:8443/a: it leads from https to plain http; the redirect was not followed and nothing was sent there"
        );
    }

    /// A TLS server for `localhost` that answers every request with `answer` and records what
    /// it received.
    async fn tls_server(
        ca: &rcgen::Issuer<'static, rcgen::KeyPair>,
        answer: String,
    ) -> (u16, std::sync::Arc<Mutex<Vec<String>>>) {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, ca)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                // Every request here has a small body: read until it has arrived.
                while let Ok(n) = tls.read(&mut chunk).await {
                    buffer.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buffer);
                    if n == 0 || text.contains("\r\n\r\n") && text.ends_with("body=1") {
                        break;
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buffer).to_string());
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
        (port, seen)
    }

    /// Over real TLS: a 307 to another https origin under a configured domain is followed
    /// with method, body and token; without the domain nothing reaches it.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_307_to_a_configured_domain_is_followed_over_tls() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = params.self_signed(&ca_key).unwrap();
        let ca = rcgen::Issuer::new(params, ca_key);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let (to, reached) = tls_server(
            &ca,
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        )
        .await;
        let (from, first) = tls_server(
            &ca,
            format!(
                "HTTP/1.1 307 Moved\r\nLocation: https://localhost:{to}/there\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        let base = format!("https://localhost:{from}/");
        let tls = || TlsOptions {
            ca: Some(ca_file.clone()),
            ..TlsOptions::default()
        };
        let request = Request::new(Method::POST, Url::parse(&format!("{base}here")).unwrap()).body(
            Body::Text {
                content_type: "text/plain",
                text: "body=1".into(),
            },
        );

        let followed = client(&base, &["localhost"], tls());
        let Delivery::Answered(response) = followed.send_once(&request).await else {
            panic!("answered");
        };
        assert_eq!(response.status, 202);
        assert_eq!(
            response.url.as_str(),
            format!("https://localhost:{to}/there")
        );
        let seen = reached.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("POST /there HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0].contains("authorization: Bearer tok\r\n"),
            "{}",
            seen[0]
        );
        assert!(seen[0].ends_with("\r\n\r\nbody=1"), "{}", seen[0]);

        let refused = client(&base, &[], tls());
        let Delivery::NotSent {
            error,
            retry: false,
        } = refused.send_once(&request).await
        else {
            panic!("not followed");
        };
        assert!(
            error.to_string().contains(&format!(
                "with Location https://localhost:{to}/there: it leads to another origin than {}",
                base.trim_end_matches('/')
            )),
            "{error}"
        );
        assert_eq!(reached.lock().unwrap().len(), 1, "nothing more reached it");
        assert_eq!(first.lock().unwrap().len(), 2);
    }

    /// A secret form field (a password) never goes over plain http to another machine, so
    /// never in clear through a proxy either: refused before anything is sent.
    #[tokio::test]
    async fn a_secret_field_never_rides_plain_http() {
        let proxies = proxy::Proxies::from_lookup(|name| {
            (name == "http_proxy").then(|| "http://127.0.0.1:9".to_string())
        });
        let client = HttpClient::with_proxies(
            ClientOptions {
                base: Url::parse("http://sf.invalid:19080/").unwrap(),
                tls: TlsOptions::default(),
                token: None,
                token_placement: TokenPlacement::AUTHORIZATION,
                redirect_domains: &[],
                request_timeout: Duration::from_secs(5),
            },
            proxies,
        )
        .unwrap();
        let request = Request::new(
            Method::POST,
            Url::parse("http://sf.invalid:19080/t").unwrap(),
        )
        .body(Body::Form(vec![(
            "password",
            Field::Secret(Secret::new("pw")),
        )]));
        let Delivery::NotSent {
            error,
            retry: false,
        } = client.send_once(&request).await
        else {
            panic!("refused before sending");
        };
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("plain http:// to sf.invalid"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_proxy_for_the_endpoint_is_a_usage_error() {
        let proxies = proxy::Proxies::from_lookup(|name| {
            (name == "ALL_PROXY").then(|| "socks5://127.0.0.1:1080".to_string())
        });
        let error = HttpClient::with_proxies(
            ClientOptions {
                base: Url::parse("https://sf.invalid/").unwrap(),
                tls: TlsOptions::default(),
                token: None,
                token_placement: TokenPlacement::AUTHORIZATION,
                redirect_domains: &[],
                request_timeout: Duration::from_secs(5),
            },
            proxies,
        )
        .err()
        .unwrap();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.to_string(),
            "ALL_PROXY: socks5://127.0.0.1:1080: only http:// and https:// proxies are supported"
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<redacted>");
    }
}
