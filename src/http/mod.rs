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

mod failure;
mod message;
mod pool;
mod proxy;
mod redirect;
mod retry;
mod roots;
pub mod tls;
mod token;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use tracing::{debug, info};

use crate::error::Error;
use crate::redact::REDACTED;
pub use crate::secret::Secret;
use failure::{Failure, chain, too_large};
pub use message::{
    Body, ClientOptions, Delivery, Field, Request, RequestRecord, Response, TokenPlacement,
};
use proxy::{Proxies, Route};
pub use redirect::{is_loopback, refuse_plain_http};
pub use retry::{SEND_RETRY_STATUSES, backoff};
pub use tls::{IdentityFile, IdentitySource, TlsOptions};
use token::Tokens;
pub use token::{FetchToken, Fetched, TokenSource};

/// The most we read of one answer: status documents are kilobytes.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Redirect hops followed before giving up.
const MAX_REDIRECTS: usize = 5;
const USER_AGENT: &str = concat!("rollback/", env!("CARGO_PKG_VERSION"));

struct Header {
    name: &'static str,
    value: String,
    secret: bool,
}

/// The HTTP client of one platform.
pub struct HttpClient {
    client: reqwest::Client,
    base: Url,
    tokens: Tokens,
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
        // Unit tests run many runtimes in one process, and a pooled connection belongs to the
        // runtime that opened it: there each client keeps its own.
        Self::build(options, Proxies::from_env(), !cfg!(test))
    }

    #[cfg(test)]
    fn with_proxies(options: ClientOptions, proxies: Proxies) -> Result<Self, Error> {
        Self::build(options, proxies, false)
    }

    /// `shared`: reuse the reqwest client (its connection pool, its TLS set-up) built earlier
    /// in this process from the same TLS settings and timeout, so that a fleet's many targets
    /// behind one endpoint share connections. Only for the environment's proxies, which do
    /// not change while the process runs.
    fn build(options: ClientOptions, proxies: Proxies, shared: bool) -> Result<Self, Error> {
        if matches!(options.token, TokenSource::Given(_)) {
            refuse_plain_http(&options.base)?;
        }
        // A proxy variable that applies to the endpoint but is no proxy URL: exit 2 now.
        proxies.route(&options.base)?;
        let proxies = Arc::new(proxies);
        let key = shared.then(|| pool::key(&options.tls, options.request_timeout));
        if let Some(client) = key.and_then(pool::get) {
            return Ok(Self::with_client(client, options, proxies));
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
        if let Some(key) = key {
            pool::put(key, client.clone());
        }
        Ok(Self::with_client(client, options, proxies))
    }

    fn with_client(client: reqwest::Client, options: ClientOptions, proxies: Arc<Proxies>) -> Self {
        Self {
            client,
            base: options.base,
            tokens: Tokens::new(options.token),
            token_placement: options.token_placement,
            redirect_domains: options.redirect_domains,
            request_timeout: options.request_timeout,
            proxies,
            routes_logged: Mutex::new(HashSet::new()),
        }
    }

    fn token_for(&self, url: &Url) -> Option<Secret> {
        let token = self.tokens.current()?;
        // Never in clear to another machine, whatever the origin.
        (self.may_reach(url) && refuse_plain_http(url).is_ok()).then_some(token)
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
        self.token_before(request).await?;
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
                Err(Failure::Final(error) | Failure::Unreadable(error)) => {
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
        // Without the token it needs, nothing is sent.
        if let Err(error) = self.token_before(request).await {
            return Delivery::NotSent {
                error,
                retry: false,
            };
        }
        match self.attempt(request).await {
            Ok(response) => Delivery::Answered(response),
            Err(Failure::NotSent(error)) => Delivery::NotSent { error, retry: true },
            // A refused handshake, or a redirect not followed: nothing was done.
            Err(Failure::Final(error)) => Delivery::NotSent {
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
                .map_err(Failure::Final)?;
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
}

#[cfg(test)]
mod tests;
