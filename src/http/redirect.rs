//! The one rule for where a request, and so a credential, may go: which redirect is followed
//! (same origin, never https to http, a platform's redirect domains), and plain http only to
//! this machine.

use reqwest::Url;

use super::HttpClient;
use crate::error::Error;

impl HttpClient {
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
