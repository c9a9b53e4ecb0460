//! The command line: the global options and one subcommand a platform, each with the
//! platform's own arguments. This is the one place that lists the platforms.

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, Parser, Subcommand};

use crate::commands::sandbox::SandboxArgs;
use crate::commands::{self, settings::ConfigAction, tools};
use crate::config::{GlobalArgs, Section};
use crate::platforms::Platform;
use crate::platforms::arcgis::{Arcgis, args::ArcgisArgs};
use crate::platforms::cloudsvc::{Cloudsvc, args::CloudsvcArgs};
use crate::platforms::sf::{Sf, args::SfArgs};

/// Roll back an in-progress upgrade: Service Fabric clusters and applications, Azure Cloud
/// Services (classic) deployments, ArcGIS Enterprise on Kubernetes patches.
///
/// `start` checks that an upgrade is rolling forward, asks on a terminal, sends the rollback and
/// waits until the platform reports a final state. `status` reads the state once, or waits with
/// `--watch`.
#[derive(Debug, Parser)]
#[command(
    name = "rollback",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Exit codes: 0 done, 1 rollback failed or platform error, 2 usage or configuration error, \
3 nothing to roll back, 4 authentication refused, 5 timed out waiting (the rollback continues), \
6 platform unreachable, 7 rolled back but not healthy (--verify), 129 SIGHUP, 130 interrupted (Ctrl-C), 143 SIGTERM (the platform operation \
keeps running after a signal)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// One variant a platform; `run` and [`SECTIONS`] below take one line each too. The tools
/// after them need no target: no config (but `config`), no network.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Service Fabric: cluster and application upgrades.
    Sf(SfArgs),
    /// Azure Cloud Services (classic): deployment updates and upgrades.
    Cloudsvc(CloudsvcArgs),
    /// ArcGIS Enterprise on Kubernetes: patches.
    Arcgis(ArcgisArgs),
    /// Serve every platform, simulated, on a loopback port until interrupted, and print a
    /// profile that points at it.
    Sandbox(SandboxArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Print the JSON Schema of the result document (`--json`).
    Schema,
    /// Show the settings a command would use, or the config file it would read.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

impl Command {
    /// Runs the command and returns the process exit code. `matches` tells which options were
    /// given on the command line (rather than by the environment), for `config show`.
    pub async fn run(&self, global: &GlobalArgs, matches: &ArgMatches) -> u8 {
        match self {
            Self::Sf(args) => commands::run::<Sf>(global, args, SECTIONS).await,
            Self::Cloudsvc(args) => commands::run::<Cloudsvc>(global, args, SECTIONS).await,
            Self::Arcgis(args) => commands::run::<Arcgis>(global, args, SECTIONS).await,
            Self::Sandbox(args) => commands::sandbox::serve(args).await,
            Self::Completions { shell } => tools::completions(*shell, Cli::command()),
            Self::Man => tools::man(Cli::command()),
            Self::Schema => tools::schema(),
            Self::Config { action } => {
                commands::settings::run(action, global, &given(matches), SECTIONS)
            }
        }
    }
}

/// The ids of the global options given on the command line, wherever they stand on it (clap
/// keeps a global option's value at every level, its source only where it was typed).
fn given(matches: &ArgMatches) -> Vec<&'static str> {
    const GLOBAL: &[&str] = &[
        "output",
        "json",
        "profile",
        "config",
        "color",
        "timeout",
        "poll_interval",
        "audit_log",
        "no_audit",
    ];
    let mut levels = vec![matches];
    while let Some((_, sub)) = levels.last().and_then(|m| m.subcommand()) {
        levels.push(sub);
    }
    GLOBAL
        .iter()
        .copied()
        .filter(|id| {
            levels
                .iter()
                .any(|m| m.value_source(id) == Some(ValueSource::CommandLine))
        })
        .collect()
}

/// Every platform's table of a profile, checked whenever the config file is read.
const SECTIONS: &[Section] = &[Sf::SECTION, Cloudsvc::SECTION, Arcgis::SECTION];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `config show` lists exactly the keys a section accepts (its secrets come from `*_env`
    /// and `*_file` keys, which are listed too). The accepted keys are read from the check's
    /// own refusal of an unknown one.
    #[test]
    fn every_section_declares_exactly_its_keys() {
        for section in SECTIONS {
            let mut unknown = toml::Table::new();
            unknown.insert("__unknown__".into(), toml::Value::Integer(1));
            let refusal = (section.check)(&unknown).unwrap_err();
            let (_, accepted) = refusal.split_once("expected one of ").unwrap();
            let mut accepted: Vec<&str> =
                accepted.split(", ").map(|k| k.trim_matches('`')).collect();
            let mut declared: Vec<&str> = section
                .keys
                .iter()
                .filter(|k| !k.secret)
                .map(|k| k.name)
                .collect();
            accepted.sort_unstable();
            declared.sort_unstable();
            assert_eq!(declared, accepted, "{}", section.name);
            for secret in section.keys.iter().filter(|k| k.secret) {
                for alternative in ["env", "file"] {
                    let key = format!("{}_{alternative}", secret.name);
                    assert!(accepted.contains(&key.as_str()), "{}.{key}", section.name);
                }
            }
        }
    }
}
