//! The profile file: where it is, reading and checking it (TOML errors with their line and
//! column, every platform's section, secrets never inline), and choosing the profile.

use super::*;

pub(super) fn default_config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("rollback").join("config.toml"))
}

/// Loads the selected profile: `--profile`/`ROLLBACK_PROFILE`, else `default` when the file has
/// one, else nothing.
pub fn load_profile(args: &GlobalArgs, sections: &[Section]) -> Result<Profile, Error> {
    load_named_profile(args, args.profile.as_deref(), sections)
}

/// Loads the profile `profile` (else `default` when the file has one, else nothing) of the
/// config file `--config` or the default one names.
pub fn load_named_profile(
    args: &GlobalArgs,
    profile: Option<&str>,
    sections: &[Section],
) -> Result<Profile, Error> {
    let explicit = args.config.is_some();
    let Some(path) = args.config.clone().or_else(default_config_path) else {
        return match profile {
            Some(name) => Err(Error::Usage(format!(
                "profile {}: no config file (set --config or XDG_CONFIG_HOME)",
                shown(name)
            ))),
            None => Ok(Profile {
                origin: "no config file (neither XDG_CONFIG_HOME nor HOME is set), no profile"
                    .into(),
                ..Profile::default()
            }),
        };
    };
    let text = match input::read_regular(&path, input::MAX_SMALL_FILE) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::Usage(format!("config file {}: not UTF-8 text", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit && profile.is_none() => {
            return Ok(Profile {
                origin: format!(
                    "no config file ({} does not exist), no profile",
                    path.display()
                ),
                ..Profile::default()
            });
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot read config file {}: {e}",
                path.display()
            )));
        }
    };
    select_profile(&text, &path, profile, sections)
}

/// The profile `name` (else `default`, else none) of the config file `text` read from `path`.
pub fn select_profile(
    text: &str,
    path: &Path,
    name: Option<&str>,
    sections: &[Section],
) -> Result<Profile, Error> {
    let mut file = parse_config(text, path, sections)?;
    let profile = match name {
        Some(name) => file.profiles.remove_entry(name).ok_or_else(|| {
            let known: Vec<&String> = file.profiles.keys().collect();
            Error::Usage(format!(
                "config file {} has no profile {} (profiles: {known:?})",
                path.display(),
                shown(name)
            ))
        })?,
        None => file
            .profiles
            .remove_entry("default")
            .unwrap_or_else(|| (String::new(), Profile::default())),
    };
    let (name, mut profile) = profile;
    profile.name = Some(name).filter(|n| !n.is_empty());
    if profile.audit_log.is_none() {
        profile.audit_log = file.audit_log.take();
        profile.audit_log_at_top = profile.audit_log.is_some();
    }
    profile.warnings = exposed_secret_files(&profile);
    let label = match &profile.name {
        Some(name) => format!("profile {}", shown(name)),
        None => "no profile (none asked for, no [profiles.default])".into(),
    };
    profile.origin = format!("config file {}, {label}", path.display());
    Ok(profile)
}

/// The secret files a profile names that group or others may read.
fn exposed_secret_files(profile: &Profile) -> Vec<String> {
    profile
        .secret_files()
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

pub(super) fn parse_config(
    text: &str,
    path: &Path,
    sections: &[Section],
) -> Result<ConfigFile, Error> {
    let bad = |why: String| Error::Usage(format!("config file {}: {why}", path.display()));
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map(|span| {
                let (line, column) = line_column(text, span.start);
                format!("line {line}, column {column}: ")
            })
            .unwrap_or_default();
        bad(format!("{place}{}", e.message()))
    })?;
    if let Some(key) = find_secret_key(&table, "") {
        return Err(bad(format!(
            "{key}: secrets are not read from the config file; name an environment variable (token_env, cert_password_env) or a file (token_file)"
        )));
    }
    let file = ConfigFile::deserialize(table).map_err(|e| bad(e.message().to_string()))?;
    for profile in file.profiles.values() {
        profile.check(sections).map_err(bad)?;
    }
    Ok(file)
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
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
