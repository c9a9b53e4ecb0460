//! Why an attempt failed, and the words for it: whether the request can have left, and the
//! innermost cause of a reqwest error.

use std::error::Error as StdError;

use reqwest::Url;

use super::proxy::Route;
use super::{HttpClient, MAX_BODY};
use crate::error::{Error, Problem};

/// Why one attempt failed.
pub(super) enum Failure {
    /// The request never left: connect or DNS failure.
    NotSent(Error),
    /// The request may have reached the server.
    Ambiguous(Error),
    /// Not acted on, and retrying cannot help: the request never left (TLS trust, a refused
    /// client certificate), or the server answered with a redirect that is not followed.
    Final(Error),
    /// The server answered, but the answer cannot be read (over the size cap): a read is not
    /// worth repeating, and a mutating request may have been acted on.
    Unreadable(Error),
}

pub(super) fn too_large(url: &Url) -> Failure {
    Failure::Unreadable(Error::unexpected(format!(
        "the answer from {url} is larger than {} MiB; stopped reading it",
        MAX_BODY / (1024 * 1024)
    )))
}

/// The distinct messages of an error and its sources, innermost last.
pub(super) fn chain(error: &(dyn StdError + 'static)) -> String {
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
pub(super) fn root_cause(error: &(dyn StdError + 'static)) -> String {
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

pub(super) fn find_rustls_error<'a>(
    error: &'a (dyn StdError + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = next_source(e);
    }
    None
}

impl HttpClient {
    /// What a failed attempt means: not sent, refused for good, or of unknown fate.
    pub(super) fn classify(&self, error: reqwest::Error, url: &Url, route: &Route) -> Failure {
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
