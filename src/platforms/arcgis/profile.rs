//! The `[profiles.NAME.arcgis]` keys and how ArcGIS settings are resolved: flag > environment
//! > profile > default.

use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

use super::args::ArcgisConnection;
use crate::config::{self, Key, Profile};
use crate::error::Error;
use crate::http::{Secret, TlsOptions};
use crate::input;

/// The keys of `[profiles.NAME.arcgis]` with their variables and defaults, for `config show`.
pub const KEYS: &[Key] = &[
    Key::plain("url", &["ROLLBACK_ARCGIS_URL"], None),
    Key::plain("username", &["ROLLBACK_ARCGIS_USERNAME"], None),
    Key::plain("token_env", &[], None),
    Key::plain("token_file", &[], None),
    Key::secret("token", &["ROLLBACK_ARCGIS_TOKEN"]),
    Key::plain("password_env", &[], None),
    Key::plain("password_file", &[], None),
    Key::secret("password", &["ROLLBACK_ARCGIS_PASSWORD"]),
    Key::plain("ca", &["ROLLBACK_ARCGIS_CA"], None),
    Key::plain("insecure", &[], Some("false")),
];

/// `[profiles.NAME.arcgis]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcgisProfile {
    url: Option<String>,
    username: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    ca: Option<PathBuf>,
    insecure: Option<bool>,
}

/// ArcGIS settings, resolved.
#[derive(Debug)]
pub struct ArcgisSettings {
    pub url: Url,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
    /// A username with its password, for generateToken.
    pub login: Option<(String, Secret)>,
}

pub async fn resolve(args: &ArcgisConnection, profile: &Profile) -> Result<ArcgisSettings, Error> {
    let p: ArcgisProfile = profile.section("arcgis")?;
    let Some(url) = args.url.as_deref().or(p.url.as_deref()) else {
        return Err(Error::Usage(
            "--url https://HOST/CONTEXT is required".into(),
        ));
    };
    let url = config::parse_endpoint(url, "--url")?;
    // Every admin call carries a credential.
    crate::http::refuse_plain_http(&url)?;
    let login = match args.username.as_deref().or(p.username.as_deref()) {
        Some(username) if username.trim().is_empty() => {
            return Err(Error::Usage("--username is empty".into()));
        }
        Some(username) => {
            input::plain_value(username, "--username")?;
            let password = crate::secret::resolve(
                "password",
                args.password_stdin,
                "ROLLBACK_ARCGIS_PASSWORD",
                p.password_env.as_deref(),
                p.password_file.as_deref(),
                "arcgis",
            )
            .await?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--username {username}: give the password in ROLLBACK_ARCGIS_PASSWORD or with --password-stdin"
                ))
            })?;
            Some((username.to_string(), password))
        }
        None if args.password_stdin => {
            return Err(Error::Usage("--password-stdin needs --username".into()));
        }
        None => None,
    };
    let token = match login {
        Some(_) => None,
        None => {
            crate::secret::resolve(
                "token",
                args.token_stdin,
                "ROLLBACK_ARCGIS_TOKEN",
                p.token_env.as_deref(),
                p.token_file.as_deref(),
                "arcgis",
            )
            .await?
        }
    };
    if login.is_none() && token.is_none() {
        return Err(Error::Usage(
            "no credential: a token in ROLLBACK_ARCGIS_TOKEN or with --token-stdin, or --username with the password in ROLLBACK_ARCGIS_PASSWORD or with --password-stdin".into(),
        ));
    }
    let tls = TlsOptions {
        identity: None,
        ca: args.ca.clone().or_else(|| p.ca.clone()),
        insecure: args.insecure || p.insecure.unwrap_or(false),
    };
    Ok(ArcgisSettings {
        url,
        tls,
        token,
        login,
    })
}
