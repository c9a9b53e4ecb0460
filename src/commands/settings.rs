//! `rollback config path` and `rollback config show`: the config file a command would read, and
//! the settings it would use with where each came from (`config/show.rs` resolves them), as
//! text or, with `--json`, one JSON document.

use clap::Subcommand;
use serde::Serialize;

use crate::config::{self, ConfigPath, GlobalArgs, OutputFormat, Section, Setting, show};
use crate::output::{self, one_line};

use super::tools::emit;

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// The config file a command would read, whether it exists, and what chose it.
    Path,
    /// The settings a command would use: the profile, the shared options and every platform's
    /// keys, each with where its value came from (flag, environment, config file, default).
    /// Secrets show where they come from, never their value.
    Show,
}

/// `config show --json`.
#[derive(Serialize)]
struct Shown<'a> {
    config_file: &'a ConfigPath,
    profile: &'a Setting,
    settings: &'a [Setting],
}

/// Runs `config path` or `config show`; `given` are the global options typed on the command
/// line. Returns the exit code.
pub fn run(action: &ConfigAction, args: &GlobalArgs, given: &[&str], sections: &[Section]) -> u8 {
    let json = config::output_format(args) != OutputFormat::Text;
    let file = show::config_path(args, given);
    let text = match action {
        ConfigAction::Path if json => to_json(&file),
        ConfigAction::Path => path_line(&file),
        ConfigAction::Show => {
            let profile = match config::load_profile(args, sections) {
                Ok(profile) => profile,
                Err(e) => {
                    output::stderr_line(&format!("error: {}", one_line(&e.to_string())));
                    return e.exit_code();
                }
            };
            for warning in &profile.warnings {
                output::stderr_line(&format!("warning: {}", one_line(warning)));
            }
            let chosen = show::profile_setting(args, given, &profile);
            let mut settings = show::shared(args, given, &profile);
            settings.extend(show::platform_keys(&profile, sections));
            if json {
                to_json(&Shown {
                    config_file: &file,
                    profile: &chosen,
                    settings: &settings,
                })
            } else {
                let exists = if file.exists { "" } else { " (does not exist)" };
                let file_row = Setting {
                    key: "config_file".into(),
                    value: file
                        .path
                        .as_ref()
                        .map(|p| format!("{}{exists}", p.display())),
                    origin: file.origin.clone(),
                };
                let mut rows = vec![&file_row, &chosen];
                rows.extend(&settings);
                table(&rows)
            }
        }
    };
    emit(text.as_bytes())
}

fn to_json(value: &impl Serialize) -> String {
    let mut value = serde_json::to_value(value).unwrap_or_default();
    crate::redact::redact_json(&mut value);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

/// `PATH (exists, from ORIGIN)`.
fn path_line(file: &ConfigPath) -> String {
    let Some(path) = &file.path else {
        return "none: set --config, ROLLBACK_CONFIG or XDG_CONFIG_HOME\n".into();
    };
    let exists = if file.exists {
        "exists"
    } else {
        "does not exist"
    };
    format!(
        "{} ({exists}; {})\n",
        one_line(&path.display().to_string()),
        file.origin
    )
}

/// One aligned row a setting: key, value (`-` when unset), origin.
fn table(rows: &[&Setting]) -> String {
    let shown: Vec<(String, String, String)> = rows
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                one_line(s.value.as_deref().unwrap_or("-")).into_owned(),
                one_line(&s.origin.to_string()).into_owned(),
            )
        })
        .collect();
    let key_width = shown.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let value_width = shown.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (key, value, origin) in shown {
        text.push_str(&format!(
            "{key:key_width$}  {value:value_width$}  {origin}\n"
        ));
    }
    text
}
