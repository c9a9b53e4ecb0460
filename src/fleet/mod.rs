//! `rollback fleet`: many targets in one run. Every target goes through the very run a single
//! command makes ([`commands::one`]: open, engine, `--verify`, result document); this module
//! only reads the plan, bounds how many run at once, stops starting new ones on failures or a
//! signal, and writes what each ended with and the summary.

mod args;
mod board;
mod journal;
mod matrix;
mod out;
pub mod plan;
mod run;
mod shard;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use clap::{Args as ClapArgs, FromArgMatches};

pub use crate::platforms::Verb;
pub use args::FleetAction;
pub use plan::Target;

use crate::commands;
use crate::config::{self, Global, GlobalArgs, Profile, Section};
use crate::output::Printer;
use crate::platforms::{FleetEntry, Platform};
use crate::report::Report;

/// A target's run: its finished result document.
pub type Running<'a> = Pin<Box<dyn Future<Output = Report> + 'a>>;

/// One kind of target as a plan names it: a platform's [`FleetEntry`] (declared in its own
/// folder) with its table and how to check and run it. The table is made by [`kinds!`] from
/// the platforms `cli` lists.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The plan's `platform` (`sf-app`), the result's `platform`.
    pub platform: &'static str,
    /// Its table of a profile, and of a target (`sf = { endpoint = "…" }`).
    pub section: &'static str,
    /// The keys a target gives to say which one it is (`app`), all required.
    pub identity: &'static [&'static str],
    /// Keys of its table a target may also give at its top level (Cloud Services' `service`,
    /// `slot`, `deployment`).
    pub section_identity: &'static [&'static str],
    /// A key of its table that must be set by the target, `[defaults]` or the profile.
    pub required: Option<&'static str>,
    /// The words after the platform's subcommand: `start` (or, to attach to a rollback the
    /// journal says was accepted, `status --watch`).
    pub words: fn(&BTreeMap<String, String>, Verb) -> Vec<String>,
    /// Whether those words parse (checked with the plan).
    pub check: fn(&Kind, &BTreeMap<String, String>) -> Result<(), String>,
    /// Runs one target through [`commands::one`].
    pub run: for<'a> fn(&'a Job<'a>) -> Running<'a>,
}

/// A platform's entries and its `check` and `run`, for [`gather`].
pub struct Family {
    section: &'static str,
    entries: &'static [FleetEntry],
    check: fn(&Kind, &BTreeMap<String, String>) -> Result<(), String>,
    run: for<'a> fn(&'a Job<'a>) -> Running<'a>,
}

impl Family {
    /// Platform `P`'s entries.
    pub const fn of<P: Platform>() -> Self
    where
        P::Args: ClapArgs + FromArgMatches,
    {
        Self {
            section: P::SECTION.name,
            entries: P::FLEET,
            check: check::<P>,
            run: run_one::<P>,
        }
    }

    const fn kind(&self, index: usize) -> Kind {
        let entry = &self.entries[index];
        Kind {
            platform: entry.platform,
            section: self.section,
            identity: entry.identity,
            section_identity: entry.section_identity,
            required: entry.required,
            words: entry.words,
            check: self.check,
            run: self.run,
        }
    }
}

/// Every entry of `families`, in order; `N` is how many there are in all (a constant, so
/// that the table is one too).
pub const fn gather<const N: usize>(families: &[Family]) -> [Kind; N] {
    assert!(!families.is_empty() && !families[0].entries.is_empty());
    let mut kinds = [families[0].kind(0); N];
    let mut filled = 0;
    let mut family = 0;
    while family < families.len() {
        let mut index = 0;
        while index < families[family].entries.len() {
            kinds[filled] = families[family].kind(index);
            filled += 1;
            index += 1;
        }
        family += 1;
    }
    assert!(filled == N, "N must be the number of entries");
    kinds
}

/// The fleet's table of kinds from a list of platform types:
/// `kinds![Sf, Compose, Cloudsvc, Arcgis]` (each platform's `FLEET` entries, in that order).
macro_rules! kinds {
    ($($platform:ty),+ $(,)?) => {{
        const N: usize = 0 $(+ <$platform as $crate::platforms::Platform>::FLEET.len())+;
        const KINDS: [$crate::fleet::Kind; N] =
            $crate::fleet::gather::<N>(&[$($crate::fleet::Family::of::<$platform>()),+]);
        &KINDS
    }};
}
pub(crate) use kinds;

/// One target ready to run: its plan entry, its profile (inline keys laid over) and options.
pub struct Job<'a> {
    pub target: &'a Target,
    pub global_args: &'a GlobalArgs,
    pub profile: Profile,
    pub global: Global,
    pub verb: Verb,
    /// The journal, which also records this target's requests as they are sent.
    pub journal: Option<&'a journal::Journal>,
    /// Where its printer keeps its latest reading for the live table (on a terminal).
    pub watch: Option<crate::output::Watch>,
}

/// The kind's words parsed as its platform's arguments. The environment does not fill them in
/// (a plan says where each target is; `ROLLBACK_SF_ENDPOINT` must not send them all to one).
fn parse_args<P: Platform>(
    kind: &Kind,
    identity: &BTreeMap<String, String>,
    verb: Verb,
) -> Result<P::Args, String>
where
    P::Args: ClapArgs + FromArgMatches,
{
    fn no_env(command: clap::Command) -> clap::Command {
        let names: Vec<String> = command
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        let mut command = command.mut_args(|a| a.env(None));
        for name in names {
            command = command.mut_subcommand(name, no_env);
        }
        command
    }
    let command = no_env(P::Args::augment_args(
        clap::Command::new(kind.section).no_binary_name(true),
    ));
    let words = (kind.words)(identity, verb);
    command
        .try_get_matches_from(&words)
        .and_then(|m| P::Args::from_arg_matches(&m))
        .map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        })
}

/// [`Kind::check`] for platform `P`.
pub fn check<P: Platform>(kind: &Kind, identity: &BTreeMap<String, String>) -> Result<(), String>
where
    P::Args: ClapArgs + FromArgMatches,
{
    parse_args::<P>(kind, identity, Verb::Start).map(|_| ())
}

/// [`Kind::run`] for platform `P`: the same run as `rollback PLATFORM … start`, with a printer
/// that prints nothing (the fleet writes each target's end itself).
pub fn run_one<'a, P: Platform>(job: &'a Job<'a>) -> Running<'a>
where
    P::Args: ClapArgs + FromArgMatches,
{
    Box::pin(async move {
        let kind = job.target.kind;
        let args = parse_args::<P>(kind, &job.target.identity, job.verb);
        let printer =
            Printer::new(config::OutputFormat::Text, true, false).watched(job.watch.clone());
        let audit = journal::audit(job.global.audit_log.clone(), job.journal, &job.target.name);
        let args = match args {
            Ok(args) => args,
            Err(why) => {
                // Checked with the plan: only a platform whose words changed since lands here.
                let mut report = Report::new(
                    kind.platform,
                    job.target.name.clone(),
                    "start",
                    "the platform",
                    job.global.dry_run,
                );
                let result = Err(crate::error::Error::Usage(why));
                commands::close(
                    result,
                    &mut report,
                    job.global_args.if_upgrading,
                    Some(&audit),
                    &printer,
                );
                return report;
            }
        };
        let describe = P::describe(&args);
        let mut report = Report::new(
            describe.platform,
            crate::input::cut(describe.target.clone()),
            describe.action,
            describe.place,
            job.global.dry_run,
        );
        report.step = describe.step;
        let result = commands::one::<P>(
            &args,
            &job.profile,
            &job.global,
            &printer,
            &audit,
            &mut report,
        )
        .await;
        commands::close(
            result,
            &mut report,
            job.global_args.if_upgrading,
            Some(&audit),
            &printer,
        );
        report
    })
}

/// Runs `rollback fleet …` and returns the exit code.
pub async fn main(
    action: &FleetAction,
    global: &GlobalArgs,
    kinds: &'static [Kind],
    sections: &[Section],
) -> u8 {
    commands::init_tracing(
        global.verbose,
        global.quiet,
        config::use_color(global.color),
    );
    match action {
        FleetAction::Run(args) => run::run(args, global, kinds, sections).await,
        FleetAction::Matrix(args) => matrix::matrix(args, kinds, sections),
        FleetAction::Report(args) => out::merge(args, config::output_format(global)),
    }
}

#[cfg(test)]
mod tests;
