//! The tools beside the platforms that need no settings and no network: shell completions and
//! the man page (both generated from the clap tree `cli` hands in), and the JSON Schema of
//! the result document.

use std::io::Write;

use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};

use crate::error::{Error, Problem};
use crate::output;

/// The JSON Schema (draft 2020-12) of the result document. The file is the one source: a test
/// validates real output of every platform and outcome against it (tests/it/schema.rs).
pub const SCHEMA: &str = include_str!("../../docs/schema/result-v1.json");

/// `rollback completions SHELL`: the completion script on stdout.
pub fn completions(shell: Shell, mut command: clap::Command) -> u8 {
    let mut script = Vec::new();
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, &mut script);
    emit(&script)
}

/// `rollback man`: the man page of the whole command tree, roff on stdout.
pub fn man(command: clap::Command) -> u8 {
    let mut page = Vec::new();
    // Writing to a Vec fails only when rendering does.
    if let Err(e) = render_man(command, &mut page) {
        return fail(format!("cannot render the man page: {e}"));
    }
    emit(&page)
}

/// The page of `command` with a section per subcommand (`rollback sf app start`, …), so that
/// one page documents every command and option.
fn render_man(command: clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut command = command;
    command.build();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // Every inner and leaf command, in the order of the tree, under one heading.
    let mut section = Roff::new();
    section.control("SH", ["COMMANDS"]);
    for sub in visible(&command) {
        render_command(&mut section, "rollback", sub, &command);
    }
    section.to_writer(out)?;
    man.render_extra_section(out)?;
    man.render_version_section(out)?;
    Ok(())
}

/// The subcommands a page documents (not clap's `help`).
fn visible(command: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    command
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

/// `.SS "PATH NAME"`, its description, the arguments it adds to its parent's (a platform's
/// connection options under the platform, `--watch` under `status`), then its subcommands.
fn render_command(section: &mut Roff, path: &str, command: &clap::Command, parent: &clap::Command) {
    let path = format!("{path} {}", command.get_name());
    section.control("SS", [path.as_str()]);
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        section.text([roman(about.to_string())]);
    }
    let inherited = |arg: &clap::Arg| parent.get_arguments().any(|p| p.get_id() == arg.get_id());
    for arg in command.get_arguments().filter(|a| {
        !a.is_hide_set() && !inherited(a) && !matches!(a.get_id().as_str(), "help" | "version")
    }) {
        let (tag, help) = describe_arg(arg);
        section.control("TP", []);
        section.text([bold(tag)]);
        section.text([roman(help)]);
    }
    for sub in visible(command) {
        render_command(section, &path, sub, command);
    }
}

/// `--flag VALUE` or `NAME` of an argument, as a synopsis shows it, and its help.
fn describe_arg(arg: &clap::Arg) -> (String, String) {
    let value = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(ToString::to_string)
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let tag = match arg.get_long() {
        Some(long) if arg.get_num_args().is_some_and(|n| n.takes_values()) => {
            format!("--{long} {value}")
        }
        Some(long) => format!("--{long}"),
        None => value,
    };
    (tag, help)
}

/// `rollback schema`: the result document's JSON Schema on stdout.
pub fn schema() -> u8 {
    emit(SCHEMA.as_bytes())
}

/// Writes `bytes` to stdout: 0, or 1 when stdout cannot take them.
pub fn emit(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => fail(format!("cannot write to stdout: {e}")),
    }
}

fn fail(message: String) -> u8 {
    let error = Error::Output(Problem::new(message));
    output::stderr_line(&format!("error: {error}"));
    error.exit_code()
}
