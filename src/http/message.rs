//! What travels through the HTTP layer: requests before credentials are added, their redacted
//! record, answers, and what became of a mutating request.

use std::time::{Duration, SystemTime};

use reqwest::{Method, Url};
use serde::Serialize;

use super::retry;
use super::tls::TlsOptions;
use crate::error::Error;
use crate::secret::Secret;

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
    pub token: super::TokenSource,
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
