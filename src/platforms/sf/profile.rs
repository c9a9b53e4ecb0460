//! The `[profiles.NAME.sf]` keys and how Service Fabric settings are resolved: flag > environment
//! > profile > default.

use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

use super::args::SfConnection;
use crate::config::{self, Key, Profile};
use crate::error::Error;
use crate::http::{Secret, TlsOptions};
use crate::input::shown;

/// The keys of `[profiles.NAME.sf]` with their variables and defaults, for `config show`.
pub const KEYS: &[Key] = &[
    Key::plain(
        "endpoint",
        &["ROLLBACK_SF_ENDPOINT"],
        Some("http://localhost:19080"),
    ),
    Key::plain("cert", &["ROLLBACK_SF_CERT"], None),
    Key::plain("key", &["ROLLBACK_SF_KEY"], None),
    Key::plain(
        "cert_password_env",
        &["ROLLBACK_SF_CERT_PASSWORD_ENV"],
        None,
    ),
    Key::plain("ca", &["ROLLBACK_SF_CA"], None),
    Key::plain("insecure", &[], Some("false")),
    Key::plain("token_env", &[], None),
    Key::plain("token_file", &[], None),
    Key::secret("token", &["ROLLBACK_SF_TOKEN"]),
    Key::plain("api_version", &["ROLLBACK_SF_API_VERSION"], Some("6.0")),
    Key::plain("server_timeout", &["ROLLBACK_SF_SERVER_TIMEOUT"], None),
];

/// `[profiles.NAME.sf]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfProfile {
    endpoint: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    cert_password_env: Option<String>,
    ca: Option<PathBuf>,
    insecure: Option<bool>,
    /// Name of the environment variable holding the bearer token.
    token_env: Option<String>,
    /// Path of a file holding the bearer token.
    token_file: Option<PathBuf>,
    api_version: Option<String>,
    server_timeout: Option<u64>,
}

/// Service Fabric connection settings, resolved.
#[derive(Debug)]
pub struct SfSettings {
    pub endpoint: Url,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
    pub api_version: String,
    pub server_timeout: Option<u32>,
}

pub async fn resolve(args: &SfConnection, profile: &Profile) -> Result<SfSettings, Error> {
    let p: SfProfile = profile.section("sf")?;
    let endpoint = args
        .endpoint
        .clone()
        .or_else(|| p.endpoint.clone())
        .unwrap_or_else(|| "http://localhost:19080".into());
    let endpoint = config::parse_endpoint(&endpoint, "--endpoint")?;
    let api_version = args
        .api_version
        .clone()
        .or_else(|| p.api_version.clone())
        .unwrap_or_else(|| "6.0".into());
    if api_version.is_empty()
        || api_version.len() > 32
        || !api_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(Error::Usage(format!(
            "--api-version {}: expected a version such as 6.0",
            shown(&api_version)
        )));
    }
    let server_timeout = match (args.server_timeout, p.server_timeout) {
        (Some(t), _) => Some(t),
        (None, Some(t)) => Some(u32::try_from(t).ok().filter(|t| *t >= 1).ok_or_else(|| {
            Error::Usage(format!(
                "profile setting sf.server_timeout = {t}: must be 1..=4294967295"
            ))
        })?),
        (None, None) => None,
    };
    let token = crate::secret::resolve(
        "token",
        args.token_stdin,
        "ROLLBACK_SF_TOKEN",
        p.token_env.as_deref(),
        p.token_file.as_deref(),
        "sf",
    )
    .await?;
    let identity = config::identity(
        args.cert.clone().or_else(|| p.cert.clone()),
        args.key.clone().or_else(|| p.key.clone()),
        args.cert_password_env
            .clone()
            .or_else(|| p.cert_password_env.clone()),
    )?;
    let tls = TlsOptions {
        identity,
        ca: args.ca.clone().or_else(|| p.ca.clone()),
        insecure: args.insecure || p.insecure.unwrap_or(false),
    };
    Ok(SfSettings {
        endpoint,
        tls,
        token,
        api_version,
        server_timeout,
    })
}
