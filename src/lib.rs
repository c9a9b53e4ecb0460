//! `rollback`: roll back an in-progress upgrade, wait until the platform is done, and say
//! exactly what happened, with one exit code per outcome.

mod cli;
mod commands;
mod error;
mod http;
mod input;
mod output;
mod platform;
mod report;
mod settings;
#[cfg(test)]
mod testing;
mod wait;

use std::process::ExitCode;

use clap::Parser;

/// The whole program: parse, run on a single-threaded runtime, exit with the outcome's code.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(runtime.block_on(commands::run(cli)))
}
