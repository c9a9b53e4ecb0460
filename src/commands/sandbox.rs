//! The sandbox as the commands use it: `--sandbox` (started inside the run, the profile it
//! prints read in memory) and `rollback sandbox` (served until interrupted, its profile on stdout
//! and one stderr line a request).

use std::path::Path;

use clap::Args;
use tokio::time::Instant;

use crate::config::{self, GlobalArgs, MAX_DURATION, Profile, Section};
use crate::engine::wait::{self, Stop};
use crate::error::Error;
use crate::output;
use crate::sandbox::{PROFILE, Sandbox, Scenario};

/// `rollback sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port to listen on, on 127.0.0.1 [default: any free port].
    #[arg(long, default_value_t = 0, hide_default_value = true, value_name = "N")]
    pub port: u16,
    /// The outcome to rehearse [default: none, every rollback succeeds].
    #[arg(long, value_enum, value_name = "SCENARIO")]
    pub scenario: Option<Scenario>,
    /// Service Fabric applications to hold, myapp~app1 … myapp~appN (a fleet's rehearsal).
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub targets: u32,
    /// Time one upgrade domain of a rollback takes [default: 800ms; 10m under
    /// `--scenario slow`]. A short pace (`--pace 10ms`) makes a benchmark measure the client.
    #[arg(long, value_parser = config::parse_duration, value_name = "DURATION")]
    pub pace: Option<std::time::Duration>,
}

/// `--sandbox`: starts the sandbox and reads its profile. `given` is a connection setting the
/// user gave, which the sandbox cannot honour.
/// `apps`: the Service Fabric applications it holds (`myapp~app1` … `myapp~appN`).
pub async fn embedded(
    global: &GlobalArgs,
    given: Option<&'static str>,
    sections: &[Section],
    apps: u32,
) -> Result<(Sandbox, Profile), Error> {
    if let Some(option) = given {
        return Err(Error::Usage(format!(
            "--sandbox brings its own endpoint and credentials: drop {option}, or drop --sandbox (ROLLBACK_SANDBOX) to reach a real platform"
        )));
    }
    let sandbox = Sandbox::start_with_apps(0, global.sandbox_scenario, None, apps)
        .await
        .map_err(|e| Error::Usage(format!("cannot start the sandbox: {e}")))?;
    tracing::info!("sandbox listening on {}", sandbox.origin());
    // The very profile `rollback sandbox` prints: what works here works pasted.
    let mut profile = config::select_profile(
        &sandbox.config(),
        Path::new("(the sandbox's profile)"),
        Some(PROFILE),
        sections,
    )?;
    if global.profile.is_some() || global.config.is_some() {
        profile.warnings.push(
            "--sandbox uses its own profile: --profile and --config (ROLLBACK_PROFILE, ROLLBACK_CONFIG) are not read".into(),
        );
    }
    Ok((sandbox, profile))
}

/// `rollback sandbox`: serves until Ctrl-C or SIGTERM, then exits 0.
pub async fn serve(args: &SandboxArgs) -> u8 {
    let log = Box::new(|method: &str, path: &str, status: u16| {
        output::stderr_line(&output::one_line(&format!(
            "sandbox: {method} {path} {status}"
        )));
    });
    let sandbox =
        match Sandbox::start_paced(args.port, args.scenario, Some(log), args.targets, args.pace)
            .await
        {
            Ok(sandbox) => sandbox,
            Err(e) => {
                let error = Error::Usage(format!("cannot start the sandbox: {e}"));
                output::stderr_line(&format!("error: {error}"));
                return error.exit_code();
            }
        };
    // stdout is the config file, whole, so `> sandbox.toml` gives one to use as `--config`.
    let config = sandbox.config();
    if let Err(e) = std::io::Write::write_all(&mut std::io::stdout().lock(), config.as_bytes()) {
        let error = Error::Output(crate::error::Problem::new(format!(
            "cannot write the profile to stdout: {e}"
        )));
        output::stderr_line(&format!("error: {error}"));
        return error.exit_code();
    }
    output::stderr_line(&format!(
        "sandbox: serving Service Fabric, Cloud Services and ArcGIS on {} (scenario: {}) until Ctrl-C",
        sandbox.origin(),
        args.scenario.map_or("none", Scenario::as_str)
    ));
    loop {
        let deadline = Instant::now() + MAX_DURATION;
        if let Err(Stop::Signal(signal)) =
            wait::bounded(deadline, std::future::pending::<()>()).await
        {
            output::stderr_line(&format!("sandbox: {}; stopped", signal.describe()));
            return 0;
        }
    }
}
