//! The `[profiles.NAME.cloudsvc]` keys and how Cloud Services settings are resolved: flag > environment
//! > profile > default.

use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

use super::args::{Cloud, CloudsvcConnection, RollbackMode, SlotArg};
use super::{Deploy, Mode, Slot, publish};
use crate::config::{self, Key, Profile};
use crate::error::Error;
use crate::http::{IdentitySource, Secret, TlsOptions};
use crate::input::{self, shown};

/// The keys of `[profiles.NAME.cloudsvc]` with their variables and defaults, for `config show`.
pub const KEYS: &[Key] = &[
    Key::plain(
        "subscription",
        &["ROLLBACK_CLOUDSVC_SUBSCRIPTION", "AZURE_SUBSCRIPTION_ID"],
        None,
    ),
    Key::plain("service", &["ROLLBACK_CLOUDSVC_SERVICE"], None),
    Key::plain("slot", &["ROLLBACK_CLOUDSVC_SLOT"], None),
    Key::plain("deployment", &["ROLLBACK_CLOUDSVC_DEPLOYMENT"], None),
    Key::plain("mode", &[], Some("auto")),
    Key::plain("cert", &["ROLLBACK_CLOUDSVC_CERT"], None),
    Key::plain(
        "cert_password_env",
        &["ROLLBACK_CLOUDSVC_CERT_PASSWORD_ENV"],
        None,
    ),
    Key::plain(
        "publish_settings",
        &["ROLLBACK_CLOUDSVC_PUBLISH_SETTINGS"],
        None,
    ),
    Key::plain("token_env", &[], None),
    Key::plain("token_file", &[], None),
    Key::secret("token", &["ROLLBACK_CLOUDSVC_TOKEN"]),
    Key::plain("cloud", &["ROLLBACK_CLOUDSVC_CLOUD"], Some("public")),
    Key::plain("endpoint", &["ROLLBACK_CLOUDSVC_ENDPOINT"], None),
    Key::plain("ca", &["ROLLBACK_CLOUDSVC_CA"], None),
    Key::plain("insecure", &[], Some("false")),
];

/// `[profiles.NAME.cloudsvc]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudsvcProfile {
    subscription: Option<String>,
    service: Option<String>,
    slot: Option<String>,
    deployment: Option<String>,
    mode: Option<String>,
    cert: Option<PathBuf>,
    cert_password_env: Option<String>,
    publish_settings: Option<PathBuf>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    cloud: Option<String>,
    endpoint: Option<String>,
    ca: Option<PathBuf>,
    insecure: Option<bool>,
}

/// Cloud Services settings, resolved.
#[derive(Debug)]
pub struct CloudsvcSettings {
    pub base: Url,
    pub subscription: String,
    pub service: String,
    pub deploy: Deploy,
    pub mode: Mode,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
}

fn subscription_id(value: &str, source: &str) -> Result<String, Error> {
    // A GUID is 36 characters; 64 leaves room for other spellings of it.
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::Usage(format!(
            "{source} {}: expected a subscription id (a GUID)",
            shown(value)
        )))
    }
}

fn cloud_endpoint(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "https://management.core.windows.net",
        Cloud::China => "https://management.core.chinacloudapi.cn",
        Cloud::Usgov => "https://management.core.usgovcloudapi.net",
    }
}

pub async fn resolve(
    args: &CloudsvcConnection,
    mode: Option<RollbackMode>,
    profile: &Profile,
) -> Result<CloudsvcSettings, Error> {
    let p: CloudsvcProfile = profile.section("cloudsvc")?;
    let wanted = match &args.subscription {
        Some(s) => Some(subscription_id(s, "--subscription")?),
        None => match std::env::var("AZURE_SUBSCRIPTION_ID")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(s) => Some(subscription_id(&s, "AZURE_SUBSCRIPTION_ID")?),
            None => p
                .subscription
                .as_deref()
                .map(|s| subscription_id(s, "profile setting cloudsvc.subscription"))
                .transpose()?,
        },
    };
    let publish_path = args
        .publish_settings
        .clone()
        .or_else(|| p.publish_settings.clone());
    let published = match &publish_path {
        Some(path) => {
            let bytes = input::read_regular(path, input::MAX_CERT_FILE).map_err(|e| {
                Error::Usage(format!(
                    "cannot read publish settings {}: {e}",
                    path.display()
                ))
            })?;
            let chosen = publish::select(&bytes, wanted.as_deref())
                .map_err(|e| Error::Usage(format!("publish settings {}: {e}", path.display())))?;
            Some(chosen)
        }
        None => None,
    };
    let subscription = match (&wanted, &published) {
        (Some(s), _) => s.clone(),
        (None, Some(published)) => {
            subscription_id(&published.id, "the publish settings' subscription")?
        }
        (None, None) => {
            return Err(Error::Usage(
                "--subscription is required (or AZURE_SUBSCRIPTION_ID, or a profile)".into(),
            ));
        }
    };
    let service = match args.service.as_deref().or(p.service.as_deref()) {
        Some(name) => config::plain_name(name, "--service", "a cloud service name")?,
        None => return Err(Error::Usage("--service is required".into())),
    };
    let deploy = match (args.slot, &args.deployment) {
        (Some(_), Some(_)) => unreachable!("clap refuses --slot with --deployment"),
        (Some(SlotArg::Production), None) => Deploy::Slot(Slot::Production),
        (Some(SlotArg::Staging), None) => Deploy::Slot(Slot::Staging),
        (None, Some(name)) => Deploy::Name(config::plain_name(
            name,
            "--deployment",
            "a deployment name",
        )?),
        (None, None) => match (
            config::profile_enum::<SlotArg>(&p.slot, "cloudsvc.slot")?,
            &p.deployment,
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "the profile sets both cloudsvc.slot and cloudsvc.deployment: keep one".into(),
                ));
            }
            (Some(SlotArg::Production), None) => Deploy::Slot(Slot::Production),
            (Some(SlotArg::Staging), None) => Deploy::Slot(Slot::Staging),
            (None, Some(name)) => Deploy::Name(config::plain_name(
                name,
                "profile setting cloudsvc.deployment",
                "a deployment name",
            )?),
            (None, None) => {
                return Err(Error::Usage(
                    "give exactly one of --slot production|staging or --deployment NAME".into(),
                ));
            }
        },
    };
    let mode = match mode.or(config::profile_enum::<RollbackMode>(
        &p.mode,
        "cloudsvc.mode",
    )?) {
        Some(RollbackMode::Manual) => Mode::Manual,
        Some(RollbackMode::Auto) | None => Mode::Auto,
    };
    let endpoint = match (&args.endpoint, args.cloud) {
        (Some(url), _) => url.clone(),
        (None, Some(cloud)) => cloud_endpoint(cloud).into(),
        (None, None) => match (
            &p.endpoint,
            config::profile_enum::<Cloud>(&p.cloud, "cloudsvc.cloud")?,
        ) {
            (Some(url), _) => url.clone(),
            (None, Some(cloud)) => cloud_endpoint(cloud).into(),
            (None, None) => published
                .as_ref()
                .and_then(|p| p.service_management_url.clone())
                .unwrap_or_else(|| cloud_endpoint(Cloud::Public).into()),
        },
    };
    let base = config::parse_endpoint(&endpoint, "--endpoint")?;
    let token = crate::secret::resolve(
        "token",
        args.token_stdin,
        "ROLLBACK_CLOUDSVC_TOKEN",
        p.token_env.as_deref(),
        p.token_file.as_deref(),
        "cloudsvc",
    )
    .await?;
    let identity = match published {
        Some(published) => Some(IdentitySource::Pkcs12 {
            label: format!(
                "the management certificate of subscription {}{} in {}",
                published.id,
                published
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                publish_path.as_deref().unwrap_or(Path::new("?")).display()
            ),
            der: published.certificate,
            password: None,
        }),
        None => config::identity(
            args.cert.clone().or_else(|| p.cert.clone()),
            None,
            args.cert_password_env
                .clone()
                .or_else(|| p.cert_password_env.clone()),
        )?,
    };
    if identity.is_none() && token.is_none() {
        return Err(Error::Usage(
            "no credential: give --cert, --publish-settings, or a token in ROLLBACK_CLOUDSVC_TOKEN or with --token-stdin".into(),
        ));
    }
    let tls = TlsOptions {
        identity,
        ca: args.ca.clone().or_else(|| p.ca.clone()),
        insecure: args.insecure || p.insecure.unwrap_or(false),
    };
    Ok(CloudsvcSettings {
        base,
        subscription,
        service,
        deploy,
        mode,
        tls,
        token,
    })
}
