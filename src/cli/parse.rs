//! Parsing the command line: what clap cannot say alone (status refuses the options only a
//! sending command uses; `--json` over `ROLLBACK_OUTPUT`), and the command line taken apart by
//! role for the exact commands of `next:` hints.

use super::*;

/// The global options that only a command sending something uses (`start`, `walk`).
const SENDING_ONLY: &[(&str, &str)] = &[
    ("yes", "--yes"),
    ("dry_run", "--dry-run"),
    ("no_wait", "--no-wait"),
    ("if_upgrading", "--if-upgrading"),
];

/// The leaf commands that only read.
const READ_ONLY: &[&str] = &["status", "targets"];

/// Parses the command line (exits 2 with clap's message on a usage error).
pub fn parse() -> (Cli, ArgMatches) {
    let mut command = command();
    let matches = command.clone().get_matches();
    match check(&matches).and_then(|()| Cli::from_arg_matches(&matches)) {
        Ok(mut cli) => {
            let argv: Vec<String> = std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            cli.global.invocation = invocation(&command, &argv);
            (cli, matches)
        }
        Err(e) => e.format(&mut command).exit(),
    }
}

/// The command line taken apart along the clap tree (see [`Invocation`]); it parsed, so every
/// option is known.
pub(super) fn invocation(root: &clap::Command, argv: &[String]) -> Invocation {
    let mut result = Invocation::default();
    // The commands from the root to where the scan is: an option belongs to one of them.
    let mut chain = vec![root];
    let mut words = argv.iter();
    let find = |chain: &[&clap::Command], long: Option<&str>, short: Option<char>| {
        chain.iter().rev().find_map(|c| {
            c.get_arguments()
                .find(|a| {
                    long.is_some_and(|l| a.get_long() == Some(l))
                        || short.is_some_and(|s| a.get_short() == Some(s))
                })
                .map(|a| {
                    (
                        c.get_name() == root.get_name() || c.has_subcommands(),
                        a.clone(),
                    )
                })
        })
    };
    while let Some(word) = words.next() {
        let leaf = chain.last().is_some_and(|c| !c.has_subcommands());
        let found = if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = long
                .split_once('=')
                .map_or((long, false), |(n, _)| (n, true));
            find(&chain, Some(name), None).map(|f| (f, inline))
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let first = short.chars().next();
            find(&chain, None, first).map(|f| (f, short.chars().count() > 1))
        } else {
            None
        };
        match found {
            Some(((shared, arg), inline)) => {
                let mut taken = vec![word.clone()];
                if arg.get_action().takes_values() && !inline {
                    taken.extend(words.next().cloned());
                }
                let id = arg.get_id().as_str();
                let sending = SENDING_ONLY.iter().any(|(s, _)| *s == id);
                // The leaf's own options (`--to`, `--mode`, `--watch`) stay with the leaf.
                let own = !shared && !arg.is_global_set();
                if !sending && !own {
                    result.options.extend(taken);
                }
            }
            None if !leaf && chain.last().and_then(|c| c.find_subcommand(word)).is_some() => {
                let next = chain.last().and_then(|c| c.find_subcommand(word));
                if let Some(next) = next {
                    if next.has_subcommands() {
                        result.path.push(word.clone());
                    } else {
                        result.leaf = word.clone();
                    }
                    chain.push(next);
                }
            }
            None => result.positionals.push(word.clone()),
        }
    }
    result
}

/// The clap tree: a read-only leaf hides the sending-only options from its help, so that
/// `status --help` lists only what does something there ([`check`] refuses them).
pub(super) fn command() -> clap::Command {
    fn read_only(command: clap::Command) -> clap::Command {
        let leaf = !command.has_subcommands();
        let mut command = command;
        if leaf && READ_ONLY.contains(&command.get_name()) {
            // An argument of the leaf's own with the global's id keeps the global out of it.
            for (id, flag) in SENDING_ONLY {
                let mut arg = clap::Arg::new(*id)
                    .long(&flag[2..])
                    .action(clap::ArgAction::SetTrue)
                    .hide(true);
                if *id == "yes" {
                    arg = arg.short('y');
                }
                command = command.arg(arg);
            }
            return command;
        }
        let names: Vec<String> = command
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        for name in names {
            command = command.mut_subcommand(name, read_only);
        }
        command
    }
    read_only(Cli::command())
}

/// What clap cannot say alone: `status` and `targets` take no sending-only option (wherever
/// it stands on the line), and `--json` over `ROLLBACK_OUTPUT` is not a conflict (a flag
/// overrides the environment) while `--json` with `-o` is.
fn check(matches: &ArgMatches) -> Result<(), clap::Error> {
    let mut levels = vec![matches];
    while let Some((_, sub)) = levels.last().and_then(|m| m.subcommand()) {
        levels.push(sub);
    }
    let given = |id: &str| {
        levels
            .iter()
            .any(|m| matches!(m.try_get_one::<bool>(id), Ok(Some(true))))
    };
    let mut names = Vec::new();
    let mut level = matches;
    while let Some((name, sub)) = level.subcommand() {
        names.push(name);
        level = sub;
    }
    if names.last().is_some_and(|leaf| READ_ONLY.contains(leaf))
        && let Some((_, flag)) = SENDING_ONLY.iter().find(|(id, _)| given(id))
    {
        {
            return Err(clap::Error::raw(
                ErrorKind::ArgumentConflict,
                format!(
                    "{flag} does nothing with `{}`: it sends nothing (use it with `start`)",
                    names.join(" ")
                ),
            ));
        }
    }
    let json = matches.get_flag("json");
    let output_flag = levels
        .iter()
        .any(|m| m.value_source("output") == Some(ValueSource::CommandLine));
    if json && output_flag {
        return Err(clap::Error::raw(
            ErrorKind::ArgumentConflict,
            "the argument '--json' cannot be used with '--output <OUTPUT>'",
        ));
    }
    Ok(())
}
