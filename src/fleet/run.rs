//! `fleet run PLAN`: prepare every target (plan, profiles, options) before anything is sent,
//! then run them `--max-concurrency` at a time on this one runtime until all ended, or
//! `--max-failures` failed, or a signal came (then the running ones report and the rest are
//! skipped), and write the summary.

use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use serde_json::Value;

use super::board::Board;
use super::journal::{Earlier, Journal};
use super::shard::Shard;
use super::{Job, Kind, Verb, args::RunArgs, out, plan};
use crate::commands;
use crate::config::{self, GlobalArgs, Profile, Section};
use crate::engine::wait::Signals;
use crate::error::Error;
use crate::report::Report;

/// A running target, ending with its job and its result document.
type Finishing<'a> = Pin<Box<dyn Future<Output = (&'a Job<'a>, Report)> + 'a>>;

/// A target ready to start, or known to need nothing.
enum Prepared<'a> {
    Run(Box<Job<'a>>),
    /// The journal says it ended successfully before: its earlier outcome.
    Done(&'a plan::Target, String),
}

pub async fn run(
    args: &RunArgs,
    global: &GlobalArgs,
    kinds: &'static [Kind],
    sections: &[Section],
) -> u8 {
    let format = config::output_format(global);
    let plan = match plan::load(&args.plan, kinds, sections) {
        Ok(plan) => plan,
        Err(error) => return out::failed(&error),
    };
    let shard = match Shard::choose(args.shard) {
        Ok(shard) => shard,
        Err(error) => return out::failed(&error),
    };
    let targets: Vec<&plan::Target> = plan
        .targets
        .iter()
        .filter(|t| shard.is_none_or(|s| s.holds(t.position)))
        .collect();
    let journal = args.journal.clone().map(Journal::new);
    let mut board = Board::new(format, global.quiet);
    // Under --sandbox, the sandbox lives as long as the run.
    let live = board.is_some();
    let prepared = prepare(&targets, args, global, sections, journal.as_ref(), live).await;
    let (_sandbox, prepared) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return out::failed(&error),
    };
    let mut docs: Vec<(usize, Value)> = Vec::with_capacity(prepared.len());
    let mut write_failed = None;
    let mut emit = |position: usize, doc: Value, docs: &mut Vec<(usize, Value)>| {
        if let Err(e) = out::target_done(format, &doc) {
            write_failed.get_or_insert(e);
        }
        // Only `--json` prints the documents again at the end: otherwise the summary needs no
        // more than each outcome, and memory stays flat in the number of targets.
        let kept = match format {
            config::OutputFormat::Json => doc,
            _ => out::slim(&doc),
        };
        docs.push((position, kept));
    };
    let max = args.max_concurrency as usize;
    let mut failures = 0u32;
    let mut stopped = None;
    let mut signals = Signals::listen();
    let mut queue = prepared.iter();
    // Each running target wakes only itself: a wake-up costs the same at 10 or 1,000 in flight.
    let mut running: FuturesUnordered<Finishing> = FuturesUnordered::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A signal that came while targets were ending stops the start of new ones too.
        if stopped.is_none() {
            stopped = tokio::select! {
                biased;
                signal = signals.next() => Some(signal),
                () = std::future::ready(()) => None,
            };
        }
        let may_start = stopped.is_none() && args.max_failures.is_none_or(|m| failures < m);
        while may_start && running.len() < max {
            match queue.next() {
                Some(Prepared::Run(job)) => {
                    if let (Some(board), Some(watch)) = (&mut board, &job.watch) {
                        board.start(&job.target.name, watch.clone());
                    }
                    let run = (job.target.kind.run)(job);
                    running.push(Box::pin(async move { (&**job, run.await) }));
                }
                Some(Prepared::Done(target, outcome)) => {
                    // Its line goes above the live table.
                    if let Some(board) = &mut board {
                        board.clear();
                    }
                    let doc = serde_json::json!({
                        "name": target.name,
                        "platform": target.kind.platform,
                        "outcome": outcome,
                        "exit_code": 0,
                        "journal": true,
                    });
                    emit(target.position, doc, &mut docs);
                }
                None => break,
            }
        }
        if running.is_empty() {
            break;
        }
        if let Some(board) = &mut board {
            board.draw();
        }
        let finished = tokio::select! {
            biased;
            signal = signals.next(), if stopped.is_none() => {
                // The running targets hear it too, and end with what they saw.
                stopped = Some(signal);
                None
            }
            done = running.next() => done,
            // The elapsed times (and the latest readings) move on.
            _ = tick.tick(), if board.is_some() => None,
        };
        if let Some(board) = &mut board {
            board.clear();
        }
        if let Some((job, report)) = finished {
            if let Some(board) = &mut board {
                board.finish(&job.target.name);
            }
            if report.exit_code != 0 {
                failures += 1;
            }
            if let Some(journal) = &journal
                && let Err(warning) = journal.finished(&job.target.name, &report)
            {
                crate::output::stderr_line(&format!(
                    "warning: {}",
                    crate::output::one_line(&warning)
                ));
            }
            emit(
                job.target.position,
                out::target_doc(job.target, &report),
                &mut docs,
            );
        }
    }
    if let Some(board) = &mut board {
        board.clear();
    }
    // Whatever was not started.
    for rest in queue {
        let target = match rest {
            Prepared::Run(job) => job.target,
            Prepared::Done(target, _) => target,
        };
        emit(target.position, out::skipped_doc(target), &mut docs);
    }
    docs.sort_by_key(|(position, _)| *position);
    let docs: Vec<Value> = docs.into_iter().map(|(_, doc)| doc).collect();
    let summary = out::summary(&docs);
    let code = summary["exit_code"]
        .as_u64()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1);
    let written = out::finish(format, docs, &summary);
    match write_failed.map_or(written, Err) {
        Ok(()) => code,
        Err(e) => out::failed(&Error::Output(crate::error::Problem::new(format!(
            "cannot write the result to stdout: {e}"
        )))),
    }
}

/// Everything a target needs before the first is started: its profile with the plan's keys
/// over it, its options, what the journal says of it. Any mistake is exit 2 with nothing sent.
async fn prepare<'a>(
    targets: &[&'a plan::Target],
    args: &RunArgs,
    global: &'a GlobalArgs,
    sections: &[Section],
    journal: Option<&'a Journal>,
    live: bool,
) -> Result<(Option<crate::sandbox::Sandbox>, Vec<Prepared<'a>>), Error> {
    if global.sandbox_scenario.is_some() && !global.sandbox {
        return Err(Error::Usage(
            "--sandbox-scenario (ROLLBACK_SANDBOX_SCENARIO) needs --sandbox (ROLLBACK_SANDBOX=1)"
                .into(),
        ));
    }
    // A fleet asks no one: it says so rather than roll back many targets unasked.
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    if !global.yes && !global.dry_run && !ci && std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "fleet run rolls back {} target(s) without asking each: add --yes (or try --dry-run first)",
            targets.len()
        )));
    }
    if args.sandbox_targets > 1 && !global.sandbox {
        return Err(Error::Usage("--sandbox-targets needs --sandbox".into()));
    }
    let (sandbox, sandboxed) = if global.sandbox {
        let (sandbox, profile) =
            commands::sandbox::embedded(global, None, sections, args.sandbox_targets).await?;
        warn(global, &profile.warnings);
        (Some(sandbox), Some(profile))
    } else {
        (None, None)
    };
    let earlier = match journal {
        Some(journal) => journal.read()?,
        None => HashMap::new(),
    };
    let mut profiles: HashMap<Option<String>, Profile> = HashMap::new();
    let mut prepared = Vec::with_capacity(targets.len());
    for &target in targets {
        let this = |why: String| {
            Error::Usage(format!(
                "plan target {:?} (line {}): {why}",
                target.name, target.line
            ))
        };
        let kind = target.kind;
        let mut profile = match &sandboxed {
            // The sandbox brings its own endpoint and credentials: only which target stays.
            Some(profile) => {
                let mut profile = profile.clone();
                let identity: toml::Table = target
                    .section
                    .iter()
                    .filter(|(key, _)| kind.section_identity.contains(&key.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                profile.overlay(kind.section, &identity);
                profile
            }
            None => {
                let name = target.profile.clone().or_else(|| global.profile.clone());
                let base = match profiles.get(&name) {
                    Some(base) => base.clone(),
                    None => {
                        let base = config::load_named_profile(global, name.as_deref(), sections)
                            .map_err(|e| this(e.to_string()))?;
                        // Said once a profile, not once a target.
                        warn(global, &base.warnings);
                        profiles.insert(name, base.clone());
                        base
                    }
                };
                let mut profile = base;
                profile.overlay(kind.section, &target.section);
                profile
            }
        };
        if let Some(key) = kind.required
            && !profile
                .section_table(kind.section)
                .is_some_and(|t| t.contains_key(key))
        {
            return Err(this(format!(
                "no `{key}` (in the target, [defaults].{section} or the profile's {section} table)",
                section = kind.section
            )));
        }
        // The profile's warnings are the same for every target: said once, by the first.
        profile.warnings.clear();
        // Never asked: `stdin_is_data` keeps every target from prompting.
        let options = config::global(global, &profile, true).map_err(|e| this(e.to_string()))?;
        let verb = match earlier.get(&target.name) {
            Some(Earlier::Done(outcome)) => {
                prepared.push(Prepared::Done(target, outcome.clone()));
                continue;
            }
            Some(Earlier::Sent) => Verb::Attach,
            None => Verb::Start,
        };
        prepared.push(Prepared::Run(Box::new(Job {
            target,
            global_args: global,
            profile,
            global: options,
            verb,
            journal,
            watch: live.then(Default::default),
        })));
    }
    Ok((sandbox, prepared))
}

/// `warning: …` lines on stderr, unless `-q`.
fn warn(global: &GlobalArgs, warnings: &[String]) {
    if global.quiet {
        return;
    }
    for warning in warnings {
        crate::output::stderr_line(&format!("warning: {}", crate::output::one_line(warning)));
    }
}
