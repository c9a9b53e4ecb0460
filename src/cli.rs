//! The command line: the global options and one subcommand a platform, each with the
//! platform's own arguments. This is the one place that lists the platforms.

use clap::{Parser, Subcommand};

use crate::commands;
use crate::commands::sandbox::SandboxArgs;
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

/// One variant a platform; `run` and [`SECTIONS`] below take one line each too.
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
}

impl Command {
    /// Runs the command and returns the process exit code.
    pub async fn run(&self, global: &GlobalArgs) -> u8 {
        match self {
            Self::Sf(args) => commands::run::<Sf>(global, args, SECTIONS).await,
            Self::Cloudsvc(args) => commands::run::<Cloudsvc>(global, args, SECTIONS).await,
            Self::Arcgis(args) => commands::run::<Arcgis>(global, args, SECTIONS).await,
            Self::Sandbox(args) => commands::sandbox::serve(args).await,
        }
    }
}

/// Every platform's table of a profile, checked whenever the config file is read.
const SECTIONS: &[Section] = &[Sf::SECTION, Cloudsvc::SECTION, Arcgis::SECTION];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
