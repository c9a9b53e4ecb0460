//! What `rollback config path` and `config show` report: the config file a command would read,
//! and every setting with the place its value came from (flag, environment, profile, default).
//! It knows no platform: each declares its keys ([`Key`]) in its [`Section`]. A secret's value
//! is never read here; only where it would come from is shown.

use std::path::PathBuf;

use serde::Serialize;

use super::{DEFAULT_TIMEOUT, GlobalArgs, Profile, Section, default_config_path};
use crate::redact::REDACTED;

/// One key of a platform's profile table, as `config show` lists it.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Its name in the profile table (`endpoint`), or the secret's name (`token`).
    pub name: &'static str,
    /// The environment variables that set it, first one first (after the flag).
    pub env: &'static [&'static str],
    /// What applies when nothing sets it.
    pub default: Option<&'static str>,
    /// A secret: no profile key of that name; it comes from `env`, or from the variable the
    /// profile's `NAME_env` names, or the file its `NAME_file` names (`crate::secret::resolve`).
    pub secret: bool,
}

impl Key {
    /// A plain key: `name` in the profile, set by `env`, else `default`.
    pub const fn plain(
        name: &'static str,
        env: &'static [&'static str],
        default: Option<&'static str>,
    ) -> Self {
        Self {
            name,
            env,
            default,
            secret: false,
        }
    }

    /// A secret from `env`, else the profile's `NAME_env` / `NAME_file`.
    pub const fn secret(name: &'static str, env: &'static [&'static str]) -> Self {
        Self {
            name,
            env,
            default: None,
            secret: true,
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The command line: the option as typed (`--timeout`).
    Flag(String),
    /// An environment variable, by name.
    Environment(String),
    /// The config file: the key's full path (`profiles.prod.sf.endpoint`).
    Profile(String),
    /// A file that holds the secret (named by a profile's `*_file`).
    File(String),
    /// The built-in default.
    Default,
    /// Nothing sets it.
    Unset,
}

impl Origin {
    /// The kind of source (`flag`, `environment`, `profile`, `file`, `default`, `unset`) and
    /// what it names (the flag, the variable, the key, the file).
    pub fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::Flag(flag) => ("flag", Some(flag)),
            Self::Environment(name) => ("environment", Some(name)),
            Self::Profile(key) => ("profile", Some(key)),
            Self::File(path) => ("file", Some(path)),
            Self::Default => ("default", None),
            Self::Unset => ("unset", None),
        }
    }
}

/// `"source": KIND, "origin": WHAT` (null when it names nothing), flattened into its owner.
impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (source, origin) = self.parts();
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("source", source)?;
        map.serialize_entry("origin", &origin)?;
        map.end()
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Environment(name) => write!(f, "environment {name}"),
            Self::Profile(key) => write!(f, "config file {key}"),
            Self::File(path) => write!(f, "file {path}"),
            Self::Default => f.write_str("default"),
            Self::Unset => f.write_str("unset"),
        }
    }
}

/// A setting with its value (redacted for a secret; `None` when unset) and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: String,
    pub value: Option<String>,
    #[serde(flatten)]
    pub origin: Origin,
}

/// The config file a command would read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigPath {
    /// `None` when no place is known (no `--config`, `XDG_CONFIG_HOME` nor `HOME`).
    pub path: Option<PathBuf>,
    pub exists: bool,
    #[serde(flatten)]
    pub origin: Origin,
}

/// Which config file is read, and what chose it: `--config`, `ROLLBACK_CONFIG`,
/// `XDG_CONFIG_HOME`, else `HOME` (`~/.config`). `given` holds the ids of the global options
/// typed on the command line.
pub fn config_path(args: &GlobalArgs, given: &[&str]) -> ConfigPath {
    let path = args.config.clone().or_else(default_config_path);
    let origin = if args.config.is_some() {
        flag_or_env(given, "config", "--config", "ROLLBACK_CONFIG")
    } else if std::env::var_os("XDG_CONFIG_HOME").is_some_and(|v| !v.is_empty()) {
        Origin::Environment("XDG_CONFIG_HOME".into())
    } else if path.is_some() {
        // `~/.config/rollback/config.toml`.
        Origin::Default
    } else {
        Origin::Unset
    };
    let exists = path.as_deref().is_some_and(std::path::Path::is_file);
    ConfigPath {
        path,
        exists,
        origin,
    }
}

/// The profile in use, and what chose it.
pub fn profile_setting(args: &GlobalArgs, given: &[&str], profile: &Profile) -> Setting {
    let origin = match (&args.profile, &profile.name) {
        (Some(_), _) => flag_or_env(given, "profile", "--profile", "ROLLBACK_PROFILE"),
        (None, Some(_)) => Origin::Default,
        (None, None) => Origin::Unset,
    };
    Setting {
        key: "profile".into(),
        value: profile.name.clone(),
        origin,
    }
}

/// The options every command shares, resolved as a command resolves them.
pub fn shared(args: &GlobalArgs, given: &[&str], profile: &Profile) -> Vec<Setting> {
    let setting = |key: &str, value: Option<String>, origin: Origin| Setting {
        key: key.into(),
        value,
        origin,
    };
    let output = if given.contains(&"json") {
        setting("output", Some("json".into()), Origin::Flag("--json".into()))
    } else {
        match args.output {
            Some(format) => setting(
                "output",
                value_name(format),
                flag_or_env(given, "output", "--output", "ROLLBACK_OUTPUT"),
            ),
            None => setting("output", Some("text".into()), Origin::Default),
        }
    };
    let color = setting(
        "color",
        value_name(args.color),
        if given.contains(&"color") {
            Origin::Flag("--color".into())
        } else {
            Origin::Default
        },
    );
    // A duration from the flag or variable (clap parsed it), else the profile, else `default`.
    let duration =
        |key: &str, flag: &str, env: &str, parsed, in_profile: &Option<String>, default| match (
            parsed, in_profile,
        ) {
            (Some(d), _) => setting(
                key,
                Some(humantime::format_duration(d).to_string()),
                flag_or_env(given, key, flag, env),
            ),
            (None, Some(v)) => setting(key, Some(v.clone()), profile.origin(key)),
            (None, None) => setting(key, default, Origin::Default),
        };
    let timeout = duration(
        "timeout",
        "--timeout",
        "ROLLBACK_TIMEOUT",
        args.timeout,
        &profile.timeout,
        Some(humantime::format_duration(DEFAULT_TIMEOUT).to_string()),
    );
    // No value with `default`: each platform has its own interval.
    let poll_interval = duration(
        "poll_interval",
        "--poll-interval",
        "ROLLBACK_POLL_INTERVAL",
        args.poll_interval,
        &profile.poll_interval,
        None,
    );
    let audit_log = audit_log(args, given, profile);
    vec![output, color, timeout, poll_interval, audit_log]
}

/// The audit trail's file: `--no-audit`, the flag or variable, the profile (or the file's top
/// level), else the state directory's.
fn audit_log(args: &GlobalArgs, given: &[&str], profile: &Profile) -> Setting {
    let shown = |path: &PathBuf| Some(path.display().to_string());
    let (value, origin) = if args.no_audit {
        (None, Origin::Flag("--no-audit".into()))
    } else if let Some(path) = args
        .audit_log
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        let origin = flag_or_env(given, "audit_log", "--audit-log", "ROLLBACK_AUDIT_LOG");
        (shown(path), origin)
    } else if let Some(path) = &profile.audit_log {
        let origin = if profile.audit_log_at_top {
            Origin::Profile("audit_log".into())
        } else {
            profile.origin("audit_log")
        };
        (shown(path), origin)
    } else {
        match crate::audit::default_path() {
            Some(path) => (shown(&path), Origin::Default),
            None => (None, Origin::Unset),
        }
    };
    Setting {
        key: "audit_log".into(),
        value,
        origin,
    }
}

/// A clap value's name as typed (`json`, `auto`).
fn value_name(value: impl clap::ValueEnum) -> Option<String> {
    value.to_possible_value().map(|v| v.get_name().to_string())
}

/// Every key of every platform's section (`sf.endpoint`, …): its value from the environment,
/// else the profile, else its default. A platform's flags apply to its own commands only, so
/// none is read here.
pub fn platform_keys(profile: &Profile, sections: &[Section]) -> Vec<Setting> {
    let mut all = Vec::new();
    for section in sections {
        let table = profile
            .sections
            .get(section.name)
            .and_then(toml::Value::as_table);
        let in_profile = |key: &str| table.and_then(|t| t.get(key));
        let key_path = |key: &str| format!("{}.{key}", section.name);
        for key in section.keys {
            let from_env = key.env.iter().find_map(|name| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| (*name, v))
            });
            let (value, origin) = match (from_env, key.secret) {
                (Some((name, _)), true) => {
                    (Some(REDACTED.into()), Origin::Environment(name.into()))
                }
                (Some((name, value)), false) => (Some(value), Origin::Environment(name.into())),
                (None, true) => secret_elsewhere(key.name, in_profile),
                (None, false) => match in_profile(key.name) {
                    Some(value) => (Some(toml_text(value)), profile.origin(&key_path(key.name))),
                    None => match key.default {
                        Some(default) => (Some(default.into()), Origin::Default),
                        None => (None, Origin::Unset),
                    },
                },
            };
            all.push(Setting {
                key: key_path(key.name),
                value,
                origin,
            });
        }
    }
    all
}

/// A secret not in its own variable: the variable the profile's `NAME_env` names, or the file
/// its `NAME_file` names (the order `crate::secret::resolve` takes them in).
fn secret_elsewhere<'a>(
    name: &str,
    in_profile: impl Fn(&str) -> Option<&'a toml::Value>,
) -> (Option<String>, Origin) {
    let text = |key: &str| in_profile(key).and_then(toml::Value::as_str);
    if let Some(variable) = text(&format!("{name}_env")) {
        let set = std::env::var_os(variable).is_some_and(|v| !v.is_empty());
        return (
            set.then(|| REDACTED.to_string()),
            Origin::Environment(variable.into()),
        );
    }
    if let Some(path) = text(&format!("{name}_file")) {
        return (Some(REDACTED.into()), Origin::File(path.into()));
    }
    (None, Origin::Unset)
}

/// A profile value: a string bare, anything else (numbers, booleans) as JSON writes it.
fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// `flag` when the option `id` was typed, else the variable `env` (clap read one of the two).
fn flag_or_env(given: &[&str], id: &str, flag: &str, env: &str) -> Origin {
    if given.contains(&id) {
        Origin::Flag(flag.into())
    } else {
        Origin::Environment(env.into())
    }
}

impl Profile {
    /// The origin of a key of this profile (`timeout`, `sf.endpoint`).
    fn origin(&self, key: &str) -> Origin {
        let name = self.name.as_deref().unwrap_or("default");
        Origin::Profile(format!("profiles.{name}.{key}"))
    }
}
