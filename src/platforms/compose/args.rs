//! `rollback sf compose …`: its own arguments (the connection is `sf`'s).

use clap::{Args, Subcommand};

use crate::platforms::{Scope, WatchArgs};

/// Service Fabric compose deployments: their upgrades.
#[derive(Debug, Args)]
pub struct ComposeScope {
    #[command(subcommand)]
    pub action: ComposeAction,
}

#[derive(Debug, Subcommand)]
pub enum ComposeAction {
    /// Roll back the compose deployment's upgrade that is rolling forward, and wait for it.
    #[command(after_help = "Examples:
  rollback sf compose start mycompose
  rollback sf compose start mycompose --yes --if-upgrading --json
  rollback sf compose start mycompose --dry-run --endpoint https://sf.example.com:19080")]
    Start {
        /// Compose deployment name (mycompose; fabric:/mycompose is taken too).
        name: String,
    },
    /// Show the compose deployment upgrade's state.
    #[command(after_help = "Examples:
  rollback sf compose status mycompose
  rollback sf compose status mycompose --watch --verify --json")]
    Status {
        /// Compose deployment name (mycompose; fabric:/mycompose is taken too).
        name: String,
        #[command(flatten)]
        watch: WatchArgs,
    },
}

impl Scope for ComposeScope {
    fn augment(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
