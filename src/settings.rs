//! Flags, environment and the profile file, resolved into validated settings.
//!
//! Precedence: flag > environment (clap reads both) > profile > built-in default. Secrets never
//! come from argv or the profile file itself: only from the environment, stdin, or a file path.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat, parse_duration};
use crate::error::Error;
use crate::http::{IdentityFile, IdentitySource, Secret, TlsOptions};
use crate::input::{self, shown};
use crate::platforms::arcgis::args::ArcgisConnection;
use crate::platforms::cloudsvc::args::{Cloud, CloudsvcConnection, RollbackMode, SlotArg};
use crate::platforms::cloudsvc::{Deploy, Mode, Slot, publish};
use crate::platforms::sf::args::SfConnection;

/// The `[profiles.NAME]` tables of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Where the audit trail goes, for every profile.
    audit_log: Option<PathBuf>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What the user should hear about the profile (secret files others can read).
    #[serde(skip)]
    pub warnings: Vec<String>,
    timeout: Option<String>,
    poll_interval: Option<String>,
    /// Where the audit trail goes (the file's top-level `audit_log` unless set here).
    audit_log: Option<PathBuf>,
    sf: Option<SfProfile>,
    cloudsvc: Option<CloudsvcProfile>,
    arcgis: Option<ArcgisProfile>,
}

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

/// Keys that would put a secret into the config file itself.
const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "cert_password",
    "pfx_password",
    "secret",
];

/// Options every command shares, resolved.
#[derive(Debug, Clone)]
pub struct Global {
    pub dry_run: bool,
    pub no_wait: bool,
    pub timeout: Duration,
    pub poll_interval: Option<Duration>,
    /// Whether to ask before sending: stdin and stderr are terminals, no `--yes`, no `CI`.
    pub interactive: bool,
    /// The audit trail's file; `None` with `--no-audit` or when no place is known.
    pub audit_log: Option<PathBuf>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The output format, known before anything else is resolved (errors need it too).
pub fn output_format(args: &GlobalArgs) -> OutputFormat {
    if args.json {
        OutputFormat::Json
    } else {
        args.output.unwrap_or(OutputFormat::Text)
    }
}

/// Whether stderr gets colour.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

pub fn global(args: &GlobalArgs, profile: &Profile, stdin_is_data: bool) -> Result<Global, Error> {
    let from_profile = |value: &Option<String>, key: &str| -> Result<Option<Duration>, Error> {
        value
            .as_deref()
            .map(|v| {
                parse_duration(v)
                    .map_err(|e| Error::Usage(format!("profile setting {key} = {v:?}: {e}")))
            })
            .transpose()
    };
    let timeout = match args.timeout {
        Some(t) => t,
        None => from_profile(&profile.timeout, "timeout")?.unwrap_or(DEFAULT_TIMEOUT),
    };
    // Below this a poll loop is a busy loop against the server.
    const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
    let too_short = |p: Duration| p < MIN_POLL_INTERVAL;
    let poll_interval = match args.poll_interval {
        Some(p) if too_short(p) => {
            return Err(Error::Usage(format!(
                "the poll interval (--poll-interval or ROLLBACK_POLL_INTERVAL) is {}: it must be at least 10ms",
                humantime::format_duration(p)
            )));
        }
        Some(p) => Some(p),
        None => match from_profile(&profile.poll_interval, "poll_interval")? {
            Some(p) if too_short(p) => {
                return Err(Error::Usage(format!(
                    "profile setting poll_interval = {:?}: it must be at least 10ms",
                    profile.poll_interval.as_deref().unwrap_or_default()
                )));
            }
            other => other,
        },
    };
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let interactive = !args.yes
        && !ci
        && !stdin_is_data
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    let audit_log = if args.no_audit {
        None
    } else {
        args.audit_log
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| profile.audit_log.clone())
            .or_else(crate::audit::default_path)
    };
    Ok(Global {
        dry_run: args.dry_run,
        no_wait: args.no_wait,
        timeout,
        poll_interval,
        interactive,
        audit_log,
    })
}

fn default_config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("rollback").join("config.toml"))
}

/// Loads the selected profile: `--profile`/`ROLLBACK_PROFILE`, else `default` when the file has
/// one, else nothing.
pub fn load_profile(args: &GlobalArgs) -> Result<Profile, Error> {
    let explicit = args.config.is_some();
    let Some(path) = args.config.clone().or_else(default_config_path) else {
        return match &args.profile {
            Some(name) => Err(Error::Usage(format!(
                "profile {}: no config file (set --config or XDG_CONFIG_HOME)",
                shown(name)
            ))),
            None => Ok(Profile::default()),
        };
    };
    let text = match input::read_regular(&path, input::MAX_SMALL_FILE) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::Usage(format!("config file {}: not UTF-8 text", path.display())))?,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && !explicit && args.profile.is_none() =>
        {
            return Ok(Profile::default());
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read config file {}: {e}",
                path.display()
            )));
        }
    };
    let mut file = parse_config(&text, &path)?;
    let mut profile = match &args.profile {
        Some(name) => file.profiles.remove(name).ok_or_else(|| {
            let known: Vec<&String> = file.profiles.keys().collect();
            Error::Usage(format!(
                "config file {} has no profile {} (profiles: {known:?})",
                path.display(),
                shown(name)
            ))
        })?,
        None => file.profiles.remove("default").unwrap_or_default(),
    };
    if profile.audit_log.is_none() {
        profile.audit_log = file.audit_log.take();
    }
    profile.warnings = exposed_secret_files(&profile);
    Ok(profile)
}

/// The secret files a profile names that group or others may read.
fn exposed_secret_files(profile: &Profile) -> Vec<String> {
    let files = [
        profile.sf.as_ref().and_then(|p| p.token_file.as_ref()),
        profile
            .cloudsvc
            .as_ref()
            .and_then(|p| p.token_file.as_ref()),
        profile.arcgis.as_ref().and_then(|p| p.token_file.as_ref()),
        profile
            .arcgis
            .as_ref()
            .and_then(|p| p.password_file.as_ref()),
    ];
    files
        .into_iter()
        .flatten()
        .filter(|path| readable_by_others(path))
        .map(|path| {
            format!(
                "{} holds a secret and is readable by group or others: chmod 600 it",
                path.display()
            )
        })
        .collect()
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

fn parse_config(text: &str, path: &Path) -> Result<ConfigFile, Error> {
    let bad = |why: String| Error::Usage(format!("config file {}: {why}", path.display()));
    let table: toml::Table = toml::from_str(text).map_err(|e| bad(e.message().to_string()))?;
    if let Some(key) = find_secret_key(&table, "") {
        return Err(bad(format!(
            "{key}: secrets are not read from the config file; name an environment variable (token_env, cert_password_env) or a file (token_file)"
        )));
    }
    ConfigFile::deserialize(table).map_err(|e| bad(e.message().to_string()))
}

fn find_secret_key(table: &toml::Table, prefix: &str) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if SECRET_KEYS.contains(&key.as_str()) {
            return Some(path);
        }
        value.as_table().and_then(|t| find_secret_key(t, &path))
    })
}

/// Reads a secret from stdin (`--token-stdin`, `--password-stdin`); a pipe that stays open
/// gives way to `--timeout` and Ctrl-C.
pub async fn secret_from_stdin(what: &str) -> Result<Secret, Error> {
    let source = format!("the {what} on stdin");
    let bytes = input::read_stdin()
        .await
        .map_err(|e| Error::Usage(format!("cannot read the {what} from stdin: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{source} is not UTF-8")))?;
    non_empty_secret(text, &source)
}

fn non_empty_secret(text: String, source: &str) -> Result<Secret, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Usage(format!("{source} is empty")));
    }
    input::plain_secret(trimmed, source)?;
    Ok(Secret::new(trimmed))
}

/// A secret from the environment variable `name`, which must be set.
fn secret_from_env(name: &str, option: &str) -> Result<Secret, Error> {
    if !is_variable_name(name) {
        // Someone may have pasted the secret itself here: never quote it.
        return Err(Error::Usage(format!(
            "{option} takes the name of an environment variable (letters, digits and '_', not starting with a digit); the value given is not one, and is not shown in case it is the secret itself"
        )));
    }
    match std::env::var(name) {
        Ok(value) => non_empty_secret(value, &format!("{option} names {name}, which")),
        Err(_) => Err(Error::Usage(format!(
            "{option} names {name}, which is not set"
        ))),
    }
}

/// Letters, digits and `_`, not starting with a digit (POSIX's portable variable names).
fn is_variable_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

async fn secret_from_file(path: &Path, option: &str) -> Result<Secret, Error> {
    let source = format!("{option} {}", path.display());
    let bytes = input::read_secret_file(path)
        .await
        .map_err(|e| Error::Usage(format!("{option}: cannot read {}: {e}", path.display())))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{source} is not UTF-8")))?;
    non_empty_secret(text, &source)
}

/// Parses an endpoint or URL option: http or https, a host, no query or fragment.
pub fn parse_endpoint(value: &str, option: &str) -> Result<Url, Error> {
    // The URL parser drops tabs and newlines silently: refuse them first.
    input::plain_value(value, option)?;
    let bad = |why: &str| Error::Usage(format!("{option} {value:?}: {why}"));
    let url = Url::parse(value.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    Ok(url)
}

/// A secret (`what`: "token" or "password"): from stdin when asked, else the platform's
/// variable, else the profile's `{what}_env` (a variable name) or `{what}_file` (a path).
async fn secret(
    what: &str,
    stdin: bool,
    variable: &str,
    profile_env: Option<&str>,
    profile_file: Option<&Path>,
    table: &str,
) -> Result<Option<Secret>, Error> {
    if stdin {
        return secret_from_stdin(what).await.map(Some);
    }
    if let Ok(value) = std::env::var(variable) {
        return non_empty_secret(value, variable).map(Some);
    }
    if let Some(name) = profile_env {
        return secret_from_env(name, &format!("profile setting {table}.{what}_env")).map(Some);
    }
    if let Some(path) = profile_file {
        return secret_from_file(path, &format!("profile setting {table}.{what}_file"))
            .await
            .map(Some);
    }
    Ok(None)
}

/// A client certificate file (with `--key`) and its password variable.
fn identity(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    password_env: Option<String>,
) -> Result<Option<IdentitySource>, Error> {
    let Some(cert) = cert else {
        if key.is_some() || password_env.is_some() {
            return Err(Error::Usage(
                "--key and --cert-password-env need --cert".into(),
            ));
        }
        return Ok(None);
    };
    let password = password_env
        .map(|name| secret_from_env(&name, "--cert-password-env"))
        .transpose()?;
    Ok(Some(IdentitySource::File(IdentityFile {
        cert,
        key,
        password,
    })))
}

/// Service Fabric connection settings, resolved.
#[derive(Debug)]
pub struct Sf {
    pub endpoint: Url,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
    pub api_version: String,
    pub server_timeout: Option<u32>,
}

pub async fn sf(args: &SfConnection, profile: &Profile) -> Result<Sf, Error> {
    let empty = SfProfile::default();
    let p = profile.sf.as_ref().unwrap_or(&empty);
    let endpoint = args
        .endpoint
        .clone()
        .or_else(|| p.endpoint.clone())
        .unwrap_or_else(|| "http://localhost:19080".into());
    let endpoint = parse_endpoint(&endpoint, "--endpoint")?;
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
    let token = secret(
        "token",
        args.token_stdin,
        "ROLLBACK_SF_TOKEN",
        p.token_env.as_deref(),
        p.token_file.as_deref(),
        "sf",
    )
    .await?;
    let identity = identity(
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
    Ok(Sf {
        endpoint,
        tls,
        token,
        api_version,
        server_timeout,
    })
}

/// Cloud Services settings, resolved.
#[derive(Debug)]
pub struct Cloudsvc {
    pub base: Url,
    pub subscription: String,
    pub service: String,
    pub deploy: Deploy,
    pub mode: Mode,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
}

/// A name that goes into a URL path as it is: letters, digits, `-`, `.`, `_`.
fn plain_name(value: &str, option: &str, what: &str) -> Result<String, Error> {
    input::plain_value(value, option)?;
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::Usage(format!(
            "{option} {}: {what} has only letters, digits, '-', '.' and '_'",
            shown(value)
        )))
    }
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

fn profile_enum<T: clap::ValueEnum>(value: &Option<String>, key: &str) -> Result<Option<T>, Error> {
    value
        .as_deref()
        .map(|v| {
            T::from_str(v, true).map_err(|_| {
                let allowed: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                    .collect();
                Error::Usage(format!(
                    "profile setting cloudsvc.{key} = {v:?}: expected one of {}",
                    allowed.join(", ")
                ))
            })
        })
        .transpose()
}

pub async fn cloudsvc(
    args: &CloudsvcConnection,
    mode: Option<RollbackMode>,
    profile: &Profile,
) -> Result<Cloudsvc, Error> {
    let empty = CloudsvcProfile::default();
    let p = profile.cloudsvc.as_ref().unwrap_or(&empty);
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
        Some(name) => plain_name(name, "--service", "a cloud service name")?,
        None => return Err(Error::Usage("--service is required".into())),
    };
    let deploy = match (args.slot, &args.deployment) {
        (Some(_), Some(_)) => unreachable!("clap refuses --slot with --deployment"),
        (Some(SlotArg::Production), None) => Deploy::Slot(Slot::Production),
        (Some(SlotArg::Staging), None) => Deploy::Slot(Slot::Staging),
        (None, Some(name)) => Deploy::Name(plain_name(name, "--deployment", "a deployment name")?),
        (None, None) => match (profile_enum::<SlotArg>(&p.slot, "slot")?, &p.deployment) {
            (Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "the profile sets both cloudsvc.slot and cloudsvc.deployment: keep one".into(),
                ));
            }
            (Some(SlotArg::Production), None) => Deploy::Slot(Slot::Production),
            (Some(SlotArg::Staging), None) => Deploy::Slot(Slot::Staging),
            (None, Some(name)) => Deploy::Name(plain_name(
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
    let mode = match mode.or(profile_enum::<RollbackMode>(&p.mode, "mode")?) {
        Some(RollbackMode::Manual) => Mode::Manual,
        Some(RollbackMode::Auto) | None => Mode::Auto,
    };
    let endpoint = match (&args.endpoint, args.cloud) {
        (Some(url), _) => url.clone(),
        (None, Some(cloud)) => cloud_endpoint(cloud).into(),
        (None, None) => match (&p.endpoint, profile_enum::<Cloud>(&p.cloud, "cloud")?) {
            (Some(url), _) => url.clone(),
            (None, Some(cloud)) => cloud_endpoint(cloud).into(),
            (None, None) => published
                .as_ref()
                .and_then(|p| p.service_management_url.clone())
                .unwrap_or_else(|| cloud_endpoint(Cloud::Public).into()),
        },
    };
    let base = parse_endpoint(&endpoint, "--endpoint")?;
    let token = secret(
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
        None => identity(
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
    Ok(Cloudsvc {
        base,
        subscription,
        service,
        deploy,
        mode,
        tls,
        token,
    })
}

/// ArcGIS settings, resolved.
#[derive(Debug)]
pub struct Arcgis {
    pub url: Url,
    pub tls: TlsOptions,
    pub token: Option<Secret>,
    /// A username with its password, for generateToken.
    pub login: Option<(String, Secret)>,
}

pub async fn arcgis(args: &ArcgisConnection, profile: &Profile) -> Result<Arcgis, Error> {
    let empty = ArcgisProfile::default();
    let p = profile.arcgis.as_ref().unwrap_or(&empty);
    let Some(url) = args.url.as_deref().or(p.url.as_deref()) else {
        return Err(Error::Usage(
            "--url https://HOST/CONTEXT is required".into(),
        ));
    };
    let url = parse_endpoint(url, "--url")?;
    // Every admin call carries a credential.
    crate::http::refuse_plain_http(&url)?;
    let login = match args.username.as_deref().or(p.username.as_deref()) {
        Some(username) if username.trim().is_empty() => {
            return Err(Error::Usage("--username is empty".into()));
        }
        Some(username) => {
            input::plain_value(username, "--username")?;
            let password = secret(
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
            secret(
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
    Ok(Arcgis {
        url,
        tls,
        token,
        login,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_refuses_inline_secrets_and_unknown_keys() {
        let path = Path::new("c.toml");
        let err = parse_config("[profiles.p.sf]\ntoken = \"abc\"\n", path).unwrap_err();
        assert!(
            err.to_string()
                .contains("profiles.p.sf.token: secrets are not read"),
            "{err}"
        );
        assert!(!err.to_string().contains("abc"));
        let err = parse_config("[profiles.p.sf]\nendpont = \"x\"\n", path).unwrap_err();
        assert!(err.to_string().contains("unknown field `endpont`"), "{err}");
        let err = parse_config("[profiles.p\n", path).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let ok = parse_config(
            "[profiles.p.sf]\nendpoint = \"https://x:19080\"\nserver_timeout = 5\n",
            path,
        )
        .unwrap();
        assert_eq!(
            ok.profiles["p"].sf.as_ref().unwrap().server_timeout,
            Some(5)
        );
    }

    #[test]
    fn a_variable_name_that_is_not_one_is_refused_unquoted() {
        for bad in ["p@ss w0rd", "", "1ABC", "A-B", "A=B", "A\nB", "ÄB"] {
            let err = secret_from_env(bad, "--cert-password-env").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
            assert!(
                err.to_string()
                    .starts_with("--cert-password-env takes the name"),
                "{err}"
            );
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
        for good in ["A", "_X", "ROLLBACK_PFX_PASSWORD_2"] {
            assert!(is_variable_name(good), "{good}");
        }
    }

    #[test]
    fn endpoints_are_checked() {
        assert!(parse_endpoint("https://sf.invalid:19080", "--endpoint").is_ok());
        for bad in [
            "sf:19080",
            "ftp://x",
            "http://",
            "not a url",
            "https://x/?a=b",
            "https://u:p@x/",
        ] {
            assert_eq!(
                parse_endpoint(bad, "--endpoint").unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }
}
