//! Flags, environment and the profile file, resolved into validated settings. It knows no
//! platform: each declares its section of a profile ([`Section`], its `profile.rs`) and resolves
//! its own keys with the helpers here.
//!
//! Precedence: flag > environment (clap reads both) > profile > built-in default. Secrets never
//! come from argv or the profile file itself: only from the environment, stdin, or a file path
//! (`crate::secret`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use args::{
    ColorChoice, GlobalArgs, MAX_DURATION, OutputFormat, parse_duration, show_duration,
};
pub use show::{ConfigPath, Key, Setting};

use crate::error::Error;
use crate::http::{IdentityFile, IdentitySource};
use crate::input::{self, shown};

mod args;
mod file;
use file::default_config_path;
#[cfg(test)]
use file::parse_config;
pub use file::{load_named_profile, load_profile, select_profile};
mod invocation;
pub use invocation::Invocation;
pub mod show;

/// A platform's table in a profile (`[profiles.NAME.sf]`): its name, a check of its keys run
/// when the file is read (so that a typo fails whatever command runs), and its keys with their
/// variables and defaults, for `config show`.
pub struct Section {
    pub name: &'static str,
    pub check: fn(&toml::Table) -> Result<(), String>,
    pub keys: &'static [Key],
}

/// The check of a section whose keys are `T`'s fields.
pub fn check<T: DeserializeOwned>(table: &toml::Table) -> Result<(), String> {
    T::deserialize(table.clone())
        .map(|_| ())
        .map_err(|e| e.message().to_string())
}

/// The `[profiles.NAME]` tables of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Where the audit trail goes, for every profile.
    audit_log: Option<PathBuf>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile: the options every command shares, and one table per platform.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Profile {
    /// What the user should hear about the profile (secret files others can read).
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// Which config file and profile were used, for `-v`.
    #[serde(skip)]
    pub origin: String,
    /// The profile's name in the file; `None` when no profile applies.
    #[serde(skip)]
    pub name: Option<String>,
    /// `audit_log` came from the top of the file, not from the profile.
    #[serde(skip)]
    audit_log_at_top: bool,
    timeout: Option<String>,
    poll_interval: Option<String>,
    /// Where the audit trail goes (the file's top-level `audit_log` unless set here).
    audit_log: Option<PathBuf>,
    /// The platforms' tables, checked against the known [`Section`]s when the file is read.
    #[serde(flatten)]
    sections: BTreeMap<String, toml::Value>,
}

impl Profile {
    /// The platform's table as its own type; the defaults when the profile has none.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, Error> {
        match self.sections.get(name) {
            None => Ok(T::default()),
            Some(value) => T::deserialize(value.clone())
                .map_err(|e| Error::Usage(format!("profile section {name}: {}", e.message()))),
        }
    }

    /// The platform's table as written, if the profile has one.
    pub fn section_table(&self, name: &str) -> Option<&toml::Table> {
        self.sections.get(name).and_then(toml::Value::as_table)
    }

    /// Sets `keys` in the platform's table over what the profile says (a fleet plan's inline
    /// connection keys); the caller has checked them against the section.
    pub fn overlay(&mut self, name: &str, keys: &toml::Table) {
        let value = self
            .sections
            .entry(name.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(table) = value.as_table_mut() {
            for (key, v) in keys {
                table.insert(key.clone(), v.clone());
            }
        }
    }

    /// Every key is a shared option or a known platform's table with keys it knows.
    fn check(&self, sections: &[Section]) -> Result<(), String> {
        for (name, value) in &self.sections {
            let Some(section) = sections.iter().find(|s| s.name == name) else {
                let mut known = vec!["timeout", "poll_interval", "audit_log"];
                known.extend(sections.iter().map(|s| s.name));
                return Err(format!(
                    "unknown field `{name}`, expected one of {}",
                    known.join(", ")
                ));
            };
            let table = value
                .as_table()
                .ok_or_else(|| format!("{name}: expected a table"))?;
            (section.check)(table)?;
        }
        Ok(())
    }

    /// The files the profile names that hold a secret (`token_file`, `password_file`).
    fn secret_files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.sections
            .values()
            .filter_map(toml::Value::as_table)
            .flat_map(|table| {
                table
                    .iter()
                    .filter(|(key, _)| key.ends_with("_file"))
                    .filter_map(|(_, value)| value.as_str().map(PathBuf::from))
            })
    }
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
    /// Whether to ask before sending: stdin is a terminal (not a script's input nor a secret),
    /// there is a controlling terminal to ask on, no `--yes`, no `CI`.
    pub interactive: bool,
    /// The audit trail's file; `None` with `--no-audit` or when no place is known.
    pub audit_log: Option<PathBuf>,
    /// `--verify`: the health wait after a completed rollback.
    pub verify: Option<Verify>,
}

/// How `--verify` judges and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct Verify {
    pub timeout: Duration,
    /// Warning is unhealthy too (`--verify-strict`).
    pub strict: bool,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(600);

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
    // The question goes to the controlling terminal, so that `2>&1 | tee log` still asks.
    let interactive = !args.yes
        && !ci
        && !stdin_is_data
        && std::io::stdin().is_terminal()
        && crate::input::terminal().is_some();
    // A sandbox's rollbacks are no one's history, and must not make a later `start` on a
    // real target of the same name think it just sent one.
    let audit_log = if args.no_audit || args.sandbox {
        None
    } else {
        args.audit_log
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| profile.audit_log.clone())
            .or_else(crate::audit::default_path)
    };
    let verify = match (
        args.verify,
        args.verify_strict || args.verify_timeout.is_some(),
    ) {
        (false, false) => None,
        (false, true) => {
            return Err(Error::Usage(
                "--verify-strict and --verify-timeout need --verify".into(),
            ));
        }
        (true, _) if args.no_wait => {
            return Err(Error::Usage(
                "--verify waits for health after the rollback, --no-wait does not wait: choose one"
                    .into(),
            ));
        }
        (true, _) => Some(Verify {
            timeout: args.verify_timeout.unwrap_or(DEFAULT_VERIFY_TIMEOUT),
            strict: args.verify_strict,
        }),
    };
    Ok(Global {
        dry_run: args.dry_run,
        no_wait: args.no_wait,
        timeout,
        poll_interval,
        interactive,
        audit_log,
        verify,
    })
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

/// A client certificate file (with `--key`) and its password variable.
pub fn identity(
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
        .map(|name| crate::secret::secret_from_env(&name, "--cert-password-env"))
        .transpose()?;
    Ok(Some(IdentitySource::File(IdentityFile {
        cert,
        key,
        password,
    })))
}

/// A name that goes into a URL path as it is: letters, digits, `-`, `.`, `_`.
pub fn plain_name(value: &str, option: &str, what: &str) -> Result<String, Error> {
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

/// A profile value that must be one of a clap enum's names; `key` is the dotted key
/// (`cloudsvc.mode`) the message names.
pub fn profile_enum<T: clap::ValueEnum>(
    value: &Option<String>,
    key: &str,
) -> Result<Option<T>, Error> {
    value
        .as_deref()
        .map(|v| {
            T::from_str(v, true).map_err(|_| {
                let allowed: Vec<String> = T::value_variants()
                    .iter()
                    .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                    .collect();
                Error::Usage(format!(
                    "profile setting {key} = {v:?}: expected one of {}",
                    allowed.join(", ")
                ))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests;
