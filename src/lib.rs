//! `rollback`: roll back an in-progress upgrade, wait until the platform is done, and say
//! exactly what happened, with one exit code per outcome.

mod audit;
mod cli;
mod commands;
mod config;
mod engine;
mod error;
mod fleet;
mod http;
mod input;
mod output;
mod platforms;
mod redact;
mod report;
mod sandbox;
mod secret;
#[cfg(test)]
mod testing;

use std::process::ExitCode;

/// The whole program: parse, run on a single-threaded runtime, exit with the outcome's code.
pub fn main() -> ExitCode {
    let (cli, matches) = cli::parse();
    output::install_panic_hook(config::output_format(&cli.global));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(cli.command.run(&cli.global, &matches));
    // An abandoned prompt may still wait for a key on its own thread: do not wait for it.
    runtime.shutdown_background();
    ExitCode::from(code)
}
