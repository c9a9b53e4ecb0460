//! The one place that touches reqwest: client construction, credentials on requests, retries,
//! redirects, body limits, and the redacted record of a request for `--dry-run`.
//!
//! Reads go through [`HttpClient::read`] (retried with jittered backoff, `Retry-After` honoured);
//! a rollback goes through [`HttpClient::send_once`], which repeats a request only when the
//! server provably did not act on it (no connection, or 429/503).

mod retry;
pub mod tls;

use std::error::Error as StdError;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Url};
use serde::Serialize;
use tracing::{debug, info};

use crate::error::{Error, Problem};
pub use tls::{IdentityFile, IdentitySource, TlsOptions};

/// The most we read of one answer: status documents are kilobytes.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
const REDACTED: &str = "<redacted>";
const USER_AGENT: &str = concat!("rollback/", env!("CARGO_PKG_VERSION"));

/// A credential. Its `Debug` never shows it, and nothing prints it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// How the bearer token travels.
#[derive(Debug, Clone, Copy)]
pub struct TokenPlacement {
    /// Header carrying `Bearer <token>`.
    pub header: &'static str,
    /// Besides the endpoint's own origin, https hosts (and their subdomains) a redirect may
    /// take the token to.
    pub trusted_hosts: &'static [&'static str],
    /// Form field that also carries the token in form bodies.
    pub form_field: Option<&'static str>,
}

impl TokenPlacement {
    pub const AUTHORIZATION: Self = Self {
        header: "Authorization",
        trusted_hosts: &[],
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
    /// The server answered (any status; 429/503 only once retries ran out).
    Answered(Response),
    /// Provably not acted on: no connection could be made.
    NotSent(Error),
    /// It may or may not have been received (timeout, reset, a cut-off answer).
    Ambiguous(Error),
}

/// Why one attempt failed.
enum Failure {
    /// The request never left: connect or DNS failure.
    NotSent(Error),
    /// The request may have reached the server.
    Ambiguous(Error),
    /// Retrying cannot help (TLS trust, refused client certificate, oversize answer).
    Final(Error),
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
    request_timeout: Duration,
}

impl HttpClient {
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        if options.token.is_some() {
            refuse_plain_http(&options.base)?;
        }
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
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(config)
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
            request_timeout: options.request_timeout,
        })
    }

    /// Replaces the bearer token (a new one was generated).
    pub fn set_token(&self, token: Secret) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    fn token_for(&self, url: &Url) -> Option<Secret> {
        let token = self
            .token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        // Credentials go to the configured origin (or a host the platform names), and never in
        // clear to another machine.
        let same_origin = url.origin() == self.base.origin();
        let trusted = url.scheme() == "https"
            && url.host_str().is_some_and(|host| {
                let host = host.to_ascii_lowercase();
                self.token_placement
                    .trusted_hosts
                    .iter()
                    .any(|t| host == *t || host.ends_with(&format!(".{t}")))
            });
        ((same_origin || trusted) && refuse_plain_http(url).is_ok()).then_some(token)
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
                Err(Failure::Final(error)) => return Err(error),
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

    /// A mutating request, sent at most once unless the server provably did not act on it.
    pub async fn send_once(&self, request: &Request) -> Delivery {
        let mut attempt = 0;
        loop {
            let (last, delay) = match self.attempt(request).await {
                Ok(response) if retry::SEND_RETRY_STATUSES.contains(&response.status) => {
                    let delay = response
                        .retry_after()
                        .unwrap_or_else(|| retry::backoff(attempt));
                    (Delivery::Answered(response), delay)
                }
                Ok(response) => return Delivery::Answered(response),
                Err(Failure::NotSent(error)) => (Delivery::NotSent(error), retry::backoff(attempt)),
                Err(Failure::Ambiguous(error)) => return Delivery::Ambiguous(error),
                Err(Failure::Final(error)) => return Delivery::NotSent(error),
            };
            if attempt == retry::MAX_RETRIES {
                return last;
            }
            attempt += 1;
            debug!(
                "{} {} not taken; retry {attempt} in {delay:?}",
                request.method, request.url
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt, following 307/308 redirects with the same method and body.
    async fn attempt(&self, request: &Request) -> Result<Response, Failure> {
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response = self.attempt_once(request, &url).await?;
            if !matches!(response.status, 307 | 308) {
                return Ok(response);
            }
            let Some(next) = response.header("location").and_then(|l| url.join(l).ok()) else {
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
        let mut response = builder.send().await.map_err(|e| self.classify(e, url))?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(too_large(url));
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e, url))? {
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

    fn classify(&self, error: reqwest::Error, url: &Url) -> Failure {
        let host = match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => url.to_string(),
        };
        if let Some(tls) = find_rustls_error(&error) {
            use rustls::AlertDescription as A;
            return Failure::Final(match tls {
                rustls::Error::AlertReceived(
                    A::BadCertificate
                    | A::CertificateRequired
                    | A::UnknownCA
                    | A::AccessDenied
                    | A::CertificateUnknown
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::UnsupportedCertificate,
                ) => Error::Auth(Problem::new(format!(
                    "{host} refused the TLS client certificate ({tls}); check --cert"
                ))),
                rustls::Error::InvalidCertificate(reason) => Error::unreachable(format!(
                    "TLS: the server certificate of {host} is not trusted ({reason:?}); pass its CA with --ca"
                )),
                other => Error::unreachable(format!("TLS with {host} failed: {other}")),
            });
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
    Failure::Final(Error::unexpected(format!(
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

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<redacted>");
    }
}
