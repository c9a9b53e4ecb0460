//! The one rule for where a request, and so a credential, may go: which redirect is followed
//! (same origin, never https to http, a platform's redirect domains), and plain http only to
//! this machine.

use reqwest::{Method, Url};

use super::{HttpClient, Response};
use crate::error::{Error, Problem, excerpt};

impl HttpClient {
    /// Where a redirect answer leads, if it is followed: `None` when the answer is no redirect
    /// (or names no place), an error naming the Location when the redirect is not followed.
    /// `first` is the URL the request was made for; every hop is judged against its origin.
    pub(super) fn redirect_target(
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

    /// The one rule for where a request, and so a credential, may go: the endpoint's origin,
    /// or an https host under one of the redirect domains.
    pub(super) fn may_reach(&self, url: &Url) -> bool {
        url.origin() == self.base.origin() || self.in_redirect_domains(url)
    }

    pub(super) fn in_redirect_domains(&self, url: &Url) -> bool {
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
