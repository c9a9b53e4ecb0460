//! `rollback fleet …`: its clap arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::shard::Shard;

#[derive(Debug, Subcommand)]
pub enum FleetAction {
    /// Roll back every target of a plan, a bounded number at a time.
    #[command(
        after_help = "Exit codes: 0 every target rolled back (or had nothing to roll back with \
--if-upgrading), 2 the plan is malformed (nothing was sent), 8 some target did not succeed.

Examples:
  rollback fleet run plan.toml --yes
  rollback fleet run plan.toml --yes --max-concurrency 50 --max-failures 3 -o jsonl
  rollback fleet run plan.toml --yes --shard 0/4 --json > shard-0.json
  rollback fleet run plan.toml --yes --journal fleet.journal   (run again to resume)"
    )]
    Run(RunArgs),
    /// Print the GitHub Actions matrix that splits a plan into shards.
    #[command(after_help = "Example:
  rollback fleet matrix plan.toml --shards 4   # {\"include\":[{\"shard\":\"0/4\"},…]}")]
    Matrix(MatrixArgs),
    /// Merge the `--json` documents of a plan's shards into one report and exit code.
    #[command(after_help = "Example:
  rollback fleet report shard-*.json")]
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plan: a TOML file of [[targets]] (docs/fleet.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Targets in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrency: u32,
    /// Stop starting new targets once N have failed (the rest are skipped).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failures: Option<u32>,
    /// Run only shard I of N (0-based): the targets at positions p with p % N == I
    /// [default: JOB_COMPLETION_INDEX of JOB_COMPLETIONS when both are set].
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Record each accepted rollback and each target's end here; a run with the same journal
    /// skips what succeeded and waits for (never re-sends) what was accepted.
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// With --sandbox: the Service Fabric applications it holds, myapp~app1 … myapp~appN.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sandbox_targets: u32,
}

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// The plan (checked, so that a malformed one fails before the matrix fans out).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// How many shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub shards: u32,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The shards' `fleet run --json` documents.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}
