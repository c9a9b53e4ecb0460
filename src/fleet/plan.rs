//! The fleet plan: a TOML file of `[[targets]]` (and `[defaults]` for every one), read and
//! checked whole before anything is sent. A mistake names the target and its line.

use std::collections::{BTreeMap, HashSet};

use toml::Spanned;

use super::Kind;
use crate::config::Section;
use crate::error::Error;

/// One target of a plan, checked.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its place in the plan, from 0 (what `--shard` divides).
    pub position: usize,
    /// Its `name`, or `PLATFORM#N` (N its place from 1).
    pub name: String,
    pub kind: &'static Kind,
    /// The line of the plan where it begins, for messages.
    pub line: usize,
    /// The profile its settings start from (its own, else the defaults', else the run's).
    pub profile: Option<String>,
    /// The keys that say which target of the platform it is (`app`, `to`).
    pub identity: BTreeMap<String, String>,
    /// Its platform's table: `[defaults]`' keys, then its own inline ones over them.
    pub section: toml::Table,
}

/// The plan's targets in the plan's order.
#[derive(Debug)]
pub struct Plan {
    pub targets: Vec<Target>,
}

/// The largest plan read: thousands of targets.
pub const MAX_PLAN: u64 = 16 * 1024 * 1024;

/// Reads and checks the plan at `path`.
pub fn load(
    path: &std::path::Path,
    kinds: &'static [Kind],
    sections: &[Section],
) -> Result<Plan, Error> {
    let bytes = crate::input::read_regular(path, MAX_PLAN)
        .map_err(|e| Error::Usage(format!("cannot read the plan {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Usage(format!("plan {}: not UTF-8 text", path.display())))?;
    parse(&text, &path.display().to_string(), kinds, sections)
}

/// The keys a target has besides its identity and its platform's table.
const TARGET_KEYS: &[&str] = &["platform", "name", "profile"];

/// Parses and checks the plan `text` (read from `origin`) against the known platforms.
pub fn parse(
    text: &str,
    origin: &str,
    kinds: &'static [Kind],
    sections: &[Section],
) -> Result<Plan, Error> {
    let bad = |line: Option<usize>, why: String| {
        let place = line.map(|l| format!(" line {l}:")).unwrap_or_default();
        Error::Usage(format!("plan {origin}:{place} {why}"))
    };
    let file: BTreeMap<String, Spanned<toml::Value>> = toml::from_str(text).map_err(|e| {
        bad(
            e.span().map(|s| line_of(text, s.start)),
            e.message().to_string(),
        )
    })?;
    let mut defaults = toml::Table::new();
    let mut targets = Vec::new();
    for (key, value) in file {
        let line = line_of(text, value.span().start);
        match (key.as_str(), value.into_inner()) {
            ("defaults", toml::Value::Table(table)) => defaults = table,
            ("targets", toml::Value::Array(array)) => targets = array,
            ("defaults" | "targets", _) => {
                return Err(bad(
                    Some(line),
                    format!("`{key}` must be [{key}] (a table) or [[targets]]"),
                ));
            }
            (other, _) => {
                return Err(bad(
                    Some(line),
                    format!("unknown key `{other}`, expected `defaults` or `targets`"),
                ));
            }
        }
    }
    // The spans of the targets' tables come from a second reading that keeps them.
    let lines = target_lines(text);
    let default_profile = match defaults.remove("profile") {
        None => None,
        Some(toml::Value::String(name)) => Some(name),
        Some(_) => return Err(bad(None, "[defaults] profile must be a string".into())),
    };
    for key in defaults.keys() {
        if !sections.iter().any(|s| s.name == key) {
            let mut known = vec!["profile"];
            known.extend(sections.iter().map(|s| s.name));
            return Err(bad(
                None,
                format!(
                    "[defaults]: unknown key `{key}`, expected one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    if targets.is_empty() {
        return Err(bad(None, "no [[targets]]".into()));
    }
    let mut names = HashSet::new();
    let mut checked = Vec::with_capacity(targets.len());
    for (position, value) in targets.into_iter().enumerate() {
        let line = lines.get(position).copied().unwrap_or(1);
        let target = read_target(position, line, value, &defaults, kinds, sections)
            .map_err(|why| bad(Some(line), why))?;
        let target = Target {
            profile: target.profile.or_else(|| default_profile.clone()),
            ..target
        };
        if !names.insert(target.name.clone()) {
            return Err(bad(
                Some(line),
                format!(
                    "target {:?}: a target of that name comes earlier; names are unique",
                    target.name
                ),
            ));
        }
        checked.push(target);
    }
    Ok(Plan { targets: checked })
}

/// One `[[targets]]` table, checked; the error names the target as far as it is known.
fn read_target(
    position: usize,
    line: usize,
    value: toml::Value,
    defaults: &toml::Table,
    kinds: &'static [Kind],
    sections: &[Section],
) -> Result<Target, String> {
    let toml::Value::Table(mut table) = value else {
        return Err(format!("target {}: not a table", position + 1));
    };
    let name = match table.remove("name") {
        None => None,
        Some(toml::Value::String(name)) if !name.trim().is_empty() => Some(name),
        Some(_) => return Err(format!("target {}: name must be a string", position + 1)),
    };
    let label = |name: &Option<String>| match name {
        Some(name) => format!("target {name:?}"),
        None => format!("target {}", position + 1),
    };
    let platform = match table.remove("platform") {
        Some(toml::Value::String(platform)) => platform,
        Some(_) => return Err(format!("{}: platform must be a string", label(&name))),
        None => {
            return Err(format!(
                "{}: no platform (one of {})",
                label(&name),
                ids(kinds)
            ));
        }
    };
    let Some(kind) = kinds.iter().find(|k| k.platform == platform) else {
        return Err(format!(
            "{}: unknown platform {platform:?}, expected one of {}",
            label(&name),
            ids(kinds)
        ));
    };
    let name = name.unwrap_or_else(|| format!("{platform}#{}", position + 1));
    let this = format!("target {name:?}");
    let profile = match table.remove("profile") {
        None => None,
        Some(toml::Value::String(profile)) => Some(profile),
        Some(_) => return Err(format!("{this}: profile must be a string")),
    };
    let mut section = match defaults.get(kind.section) {
        Some(toml::Value::Table(table)) => table.clone(),
        Some(_) => return Err(format!("[defaults] {}: expected a table", kind.section)),
        None => toml::Table::new(),
    };
    match table.remove(kind.section) {
        None => {}
        Some(toml::Value::Table(own)) => section.extend(own),
        Some(_) => return Err(format!("{this}: {} must be a table", kind.section)),
    }
    let mut identity = BTreeMap::new();
    for (key, value) in table {
        let is_identity = kind.identity.contains(&key.as_str());
        let in_section = kind.section_identity.contains(&key.as_str());
        match value {
            toml::Value::String(value) if is_identity => {
                identity.insert(key, value);
            }
            value @ toml::Value::String(_) if in_section => {
                section.insert(key, value);
            }
            _ if is_identity || in_section => {
                return Err(format!("{this}: {key} must be a string"));
            }
            _ => {
                let mut known: Vec<&str> = TARGET_KEYS.to_vec();
                known.extend(kind.identity);
                known.extend(kind.section_identity);
                known.push(kind.section);
                return Err(format!(
                    "{this}: unknown key `{key}` for {platform}, expected one of {}",
                    known.join(", ")
                ));
            }
        }
    }
    if let Some(missing) = kind.identity.iter().find(|k| !identity.contains_key(**k)) {
        return Err(format!(
            "{this}: no `{missing}` (which {platform} target: {})",
            kind.identity.join(", ")
        ));
    }
    if let Some(check) = sections.iter().find(|s| s.name == kind.section) {
        (check.check)(&section).map_err(|why| format!("{this}: {}: {why}", kind.section))?;
    }
    (kind.check)(kind, &identity).map_err(|why| format!("{this}: {why}"))?;
    Ok(Target {
        position,
        name,
        kind,
        line,
        profile,
        identity,
        section,
    })
}

fn ids(kinds: &[Kind]) -> String {
    kinds
        .iter()
        .map(|k| k.platform)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line each `[[targets]]` table starts at, in order.
fn target_lines(text: &str) -> Vec<usize> {
    #[derive(serde::Deserialize)]
    struct Lines {
        #[serde(default)]
        targets: Vec<Spanned<toml::Table>>,
    }
    match toml::from_str::<Lines>(text) {
        Ok(lines) => lines
            .targets
            .iter()
            .map(|t| line_of(text, t.span().start))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

#[cfg(test)]
mod tests;
