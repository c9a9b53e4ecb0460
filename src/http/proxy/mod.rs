//! Which proxy a request goes through, decided here alone and the way curl decides it:
//! `https_proxy`/`HTTPS_PROXY` for https targets, `http_proxy` for http targets (lower case
//! only: curl ignores `HTTP_PROXY`, which a CGI server may set from a request header),
//! `all_proxy`/`ALL_PROXY` for either when the scheme's own variable is unset, and
//! `no_proxy`/`NO_PROXY` to exempt hosts (names with their subdomains, IPs, CIDR ranges, `*`).
//! The lower-case name wins when both are set. A loopback target never goes through a proxy.
//!
//! reqwest is told to read no variable itself: it asks [`Proxies::route`] for every connection.

use std::net::IpAddr;

use reqwest::Url;

use crate::error::Error;

/// One proxy variable that is set (non-empty).
#[derive(Debug, Clone)]
struct Setting {
    var: &'static str,
    value: String,
}

/// The proxy variables of the environment, read once.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    https: Option<Setting>,
    http: Option<Setting>,
    all: Option<Setting>,
    no_proxy: Option<Setting>,
    /// `HTTP_PROXY` is set, and ignored: said when it would have applied.
    ignored_http: bool,
}

/// How one target is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Directly, and why.
    Direct(String),
    /// Through this proxy, named by this variable.
    Proxy { url: Url, var: &'static str },
}

impl Route {
    /// The proxy, for error messages: ` through the proxy URL (from VAR)`, or nothing.
    pub fn through(&self) -> String {
        match self {
            Self::Direct(_) => String::new(),
            Self::Proxy { url, var } => format!(" through the proxy {} (from {var})", shown(url)),
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct(why) => write!(f, "no proxy ({why})"),
            Self::Proxy { url, var } => {
                write!(f, "through the proxy {} (from {var})", shown(url))
            }
        }
    }
}

impl Proxies {
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `get` (the environment, or a test's table).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|var| {
                get(var)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| Setting { var, value })
            })
        };
        Self {
            https: first(&["https_proxy", "HTTPS_PROXY"]),
            http: first(&["http_proxy"]),
            all: first(&["all_proxy", "ALL_PROXY"]),
            no_proxy: first(&["no_proxy", "NO_PROXY"]),
            ignored_http: first(&["HTTP_PROXY"]).is_some(),
        }
    }

    /// How `target` is reached. An error: the variable that applies is no usable proxy URL.
    pub fn route(&self, target: &Url) -> Result<Route, Error> {
        if super::is_loopback(target) {
            return Ok(Route::Direct(
                "a loopback address is never proxied".to_string(),
            ));
        }
        let own = match target.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        };
        let Some(setting) = own.or(self.all.as_ref()) else {
            let mut why = "no proxy variable applies".to_string();
            if target.scheme() == "http" && self.ignored_http {
                why.push_str("; HTTP_PROXY is not read for http://, as curl does: set http_proxy");
            }
            return Ok(Route::Direct(why));
        };
        if let Some(no_proxy) = &self.no_proxy
            && exempt(&no_proxy.value, target)
        {
            return Ok(Route::Direct(format!("{} exempts it", no_proxy.var)));
        }
        let url = parse_proxy(&setting.value)
            .map_err(|why| Error::Usage(format!("{}: {why}", setting.var)))?;
        Ok(Route::Proxy {
            url,
            var: setting.var,
        })
    }
}

/// A proxy URL as curl reads it: no scheme means `http://`; an http proxy without a port
/// listens on 1080. Only http and https proxies are supported.
fn parse_proxy(value: &str) -> Result<Url, String> {
    let value = value.trim();
    let text = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let mut url =
        Url::parse(&text).map_err(|e| format!("{} is not a proxy URL ({e})", redacted(value)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{}: only http:// and https:// proxies are supported",
            redacted(value)
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{} names no host", redacted(value)));
    }
    if url.scheme() == "http" && !explicit_port(&text) {
        let _ = url.set_port(Some(1080));
    }
    Ok(url)
}

/// Whether the authority of `text` (scheme present) spells a port; `Url` forgets a default one.
fn explicit_port(text: &str) -> bool {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    host_port.rsplit_once(':').is_some_and(|(host, port)| {
        !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && (!host.starts_with('[') || host.ends_with(']'))
    })
}

/// A proxy value with any user info replaced, for messages.
fn redacted(value: &str) -> String {
    match value.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://<redacted>@{host}"),
            None => value.to_string(),
        },
        None => match value.rsplit_once('@') {
            Some((_, host)) => format!("<redacted>@{host}"),
            None => value.to_string(),
        },
    }
}

/// A proxy URL for logs and messages: no user info, no trailing slash.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    url.as_str().trim_end_matches('/').to_string()
}

/// Whether a `no_proxy` list exempts the target: `*`; a name matching the host or a parent
/// domain (a leading `.` or `*.` changes nothing); an IP or CIDR range containing an IP host.
fn exempt(list: &str, target: &Url) -> bool {
    let host_ip: Option<IpAddr> = match target.host() {
        Some(url::Host::Ipv4(ip)) => Some(ip.into()),
        Some(url::Host::Ipv6(ip)) => Some(ip.into()),
        _ => None,
    };
    let host = target
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    list.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some(ip) = host_ip {
                return ip_matches(entry, ip);
            }
            let name = entry
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            !name.is_empty()
                && (host == name
                    || host
                        .strip_suffix(&name)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

/// An IP entry (`10.1.2.3`, `[::1]`, `fd00::1`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
fn ip_matches(entry: &str, ip: IpAddr) -> bool {
    let (address, bits) = match entry.split_once('/') {
        Some((address, bits)) => match bits.parse::<u8>() {
            Ok(bits) => (address, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let address = address.trim_start_matches('[').trim_end_matches(']');
    let Ok(network) = address.parse::<IpAddr>() else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = u32::from(bits.unwrap_or(32).min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = u32::from(bits.unwrap_or(128).min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
