//! The command line: the global options and one subcommand a platform, each with the
//! platform's own arguments. This is the one place that lists the platforms.

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::sandbox::SandboxArgs;
use crate::commands::{self, settings::ConfigAction, tools};
use crate::config::{GlobalArgs, Invocation, Section};
use crate::fleet::{self, FleetAction, Kind};
use crate::platforms::arcgis::{Arcgis, args::ArcgisArgs};
use crate::platforms::cloudsvc::{Cloudsvc, args::CloudsvcArgs};
use crate::platforms::compose::{Compose, args::ComposeScope};
use crate::platforms::sf::Sf;
use crate::platforms::sf::args::{SfConnection, SfScope};
use crate::platforms::{Platform, Under};

mod parse;
pub use parse::parse;
#[cfg(test)]
use parse::{command, invocation};

/// Roll back an in-progress upgrade: Service Fabric clusters, applications and compose
/// deployments, Azure Cloud Services (classic) deployments, ArcGIS Enterprise on Kubernetes
/// patches; one target or a fleet of them.
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

/// The platforms (listed once, in [`platforms!`] below), then the tools, which need no
/// target: no config (but `config`), no network.
#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Platform(Platforms),
    /// Many targets in one run: roll back every target of a plan, shard a plan, merge shards.
    Fleet {
        #[command(subcommand)]
        action: FleetAction,
    },
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
    pub async fn run(self, global: &GlobalArgs, matches: &ArgMatches) -> u8 {
        match self {
            Self::Platform(platform) => platform.run(global).await,
            Self::Sandbox(args) => commands::sandbox::serve(&args).await,
            Self::Completions { shell } => tools::completions(shell, Cli::command()),
            Self::Fleet { action } => fleet::main(&action, global, FLEET, SECTIONS).await,
            Self::Man => tools::man(Cli::command()),
            Self::Schema => tools::schema(),
            Self::Config { action } => {
                commands::settings::run(&action, global, &given(matches), SECTIONS)
            }
        }
    }
}

/// THE list of platforms: each line is a platform (`Variant(its arguments) => its Platform`);
/// platforms that share the options of a command above them (`sf`'s connection) are listed in
/// a group under it, one line each, their `Args` being `Under<those options, their own>`. From
/// this list come the clap subcommands and their dispatch, [`SECTIONS`] (a group's platforms
/// share the first one's section) and the fleet's [`FLEET`].
macro_rules! platforms {
    (
        groups {$(
            $(#[$gdoc:meta])*
            $gvariant:ident($group:ident: $name:ident($shared:ty)) {
                $(#[$fattr:meta])* $fvariant:ident($fscope:ty) => $fplatform:ty,
                $($(#[$attr:meta])* $variant:ident($scope:ty) => $platform:ty,)*
            }
        )*}
        $(
            $(#[$tdoc:meta])*
            $tvariant:ident($targs:ty) => $tplatform:ty,
        )*
    ) => {
        /// Every platform's subcommand.
        #[derive(Debug, Subcommand)]
        pub enum Platforms {
            $($(#[$gdoc])* $gvariant($group),)*
            $($(#[$tdoc])* $tvariant($targs),)*
        }

        impl Platforms {
            async fn run(self, global: &GlobalArgs) -> u8 {
                match self {
                    $(Self::$gvariant(args) => args.scope.run(args.connection, global).await,)*
                    $(Self::$tvariant(args) => {
                        commands::run::<$tplatform>(global, &args, SECTIONS).await
                    })*
                }
            }
        }

        $(
            /// The platforms under one command: its options, then theirs.
            #[derive(Debug, Args)]
            pub struct $group {
                #[command(flatten)]
                connection: $shared,
                #[command(subcommand)]
                scope: $name,
            }

            #[derive(Debug, Subcommand)]
            pub enum $name {
                $(#[$fattr])* $fvariant($fscope),
                $($(#[$attr])* $variant($scope),)*
            }

            impl $name {
                async fn run(self, connection: $shared, global: &GlobalArgs) -> u8 {
                    match self {
                        Self::$fvariant(scope) => {
                            let args = Under { connection, scope };
                            commands::run::<$fplatform>(global, &args, SECTIONS).await
                        }
                        $(Self::$variant(scope) => {
                            let args = Under { connection, scope };
                            commands::run::<$platform>(global, &args, SECTIONS).await
                        })*
                    }
                }
            }
        )*

        /// Every platform's table of a profile, checked whenever the config file is read.
        pub(crate) const SECTIONS: &[Section] =
            &[$(<$fplatform>::SECTION,)* $(<$tplatform>::SECTION,)*];

        /// Every platform as a fleet plan names it: each declares its entries
        /// (`Platform::FLEET`, in its own folder).
        pub(crate) const FLEET: &[Kind] =
            fleet::kinds![$($fplatform, $($platform,)*)* $($tplatform,)*];
    };
}

platforms! {
    groups {
        /// Service Fabric: cluster, application and compose deployment upgrades.
        Sf(SfGroup: SfCommand(SfConnection)) {
            #[command(flatten)]
            Sf(SfScope) => Sf,
            Compose(ComposeScope) => Compose,
        }
    }
    /// Azure Cloud Services (classic): deployment updates and upgrades.
    Cloudsvc(CloudsvcArgs) => Cloudsvc,
    /// ArcGIS Enterprise on Kubernetes: patches.
    Arcgis(ArcgisArgs) => Arcgis,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_command_line_is_taken_apart_by_role() {
        let root = Cli::command();
        let app = invocation(
            &root,
            &words("--yes sf --endpoint http://h:1 app start myapp~app1 --timeout=1s -o json -vv"),
        );
        assert_eq!(app.path, words("sf app"));
        assert_eq!(app.leaf, "start");
        assert_eq!(app.positionals, words("myapp~app1"));
        assert_eq!(
            app.options,
            words("--endpoint http://h:1 --timeout=1s -o json -vv")
        );
        // The leaf's own options and the sending-only ones stay behind.
        let walk = invocation(
            &root,
            &words("cloudsvc --service s start --mode manual --force --dry-run --slot staging"),
        );
        assert_eq!(walk.path, words("cloudsvc"));
        assert_eq!(walk.options, words("--service s --slot staging"));
        assert!(walk.positionals.is_empty());
        let status = invocation(&root, &words("arcgis --url https://g/arcgis status -w"));
        assert_eq!(status.leaf, "status");
        assert_eq!(status.options, words("--url https://g/arcgis"));
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
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
