//! Runs one command: resolves settings, bounds the run by `--timeout` and Ctrl-C, and turns
//! the outcome into the result document and the exit code.

mod arcgis;
mod cloudsvc;
mod engine;
mod sf;

use tokio::time::Instant;

use crate::cli::{AppAction, ArcgisAction, Cli, CloudsvcAction, ClusterAction, Command, SfScope};
use crate::error::{Error, Problem};
use crate::http::{ClientOptions, HttpClient};
use crate::output::Printer;
use crate::report::{Phase, Report, Sent};
use crate::settings::{self, Global};
use crate::wait::{self, Stop};

/// What every leaf command gets.
pub struct Ctx<'a> {
    pub global: &'a Global,
    pub printer: &'a Printer,
}

/// The platform's HTTP client; `--insecure` is said out loud.
fn http_client(ctx: &Ctx<'_>, options: ClientOptions) -> Result<HttpClient, Error> {
    if options.tls.insecure {
        ctx.printer
            .warn("--insecure: the server's TLS certificate is not verified");
    }
    HttpClient::new(options)
}

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let format = settings::output_format(&cli.global);
    let color = settings::use_color(cli.global.color);
    init_tracing(cli.global.verbose, cli.global.quiet, color);
    let printer = Printer::new(format, cli.global.quiet, color);
    let (platform, target, action, place) = describe(&cli.command);
    // Not checked yet: an absurdly long one is refused later, and not copied into the result.
    let target = crate::input::cut(target);
    let mut report = Report::new(platform, target, action, place, cli.global.dry_run);
    let result = execute(&cli, &printer, &mut report).await;
    report.finish(result, cli.global.if_upgrading);
    printer.result(&report);
    report.exit_code
}

fn init_tracing(verbose: u8, quiet: bool, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(color)
        .init();
}

/// Platform, target, action and place of a command, as far as the arguments tell them.
fn describe(command: &Command) -> (&'static str, String, &'static str, &'static str) {
    match command {
        Command::Sf(args) => match &args.scope {
            SfScope::Cluster { action } => {
                let action = match action {
                    ClusterAction::Start => "start",
                    ClusterAction::Status(_) => "status",
                };
                ("sf-cluster", "cluster".into(), action, "the cluster")
            }
            SfScope::App { action } => {
                let (action, app) = match action {
                    AppAction::Start { app } => ("start", app),
                    AppAction::Status { app, .. } => ("status", app),
                };
                ("sf-app", app.clone(), action, "the cluster")
            }
        },
        Command::Cloudsvc(args) => {
            let action = match &args.action {
                CloudsvcAction::Start { .. } => "start",
                CloudsvcAction::Status(_) => "status",
                CloudsvcAction::Walk { .. } => "walk",
            };
            let service = args.connection.service.clone().unwrap_or_default();
            ("cloudsvc", service, action, "Azure")
        }
        Command::Arcgis(args) => {
            let action = match &args.action {
                ArcgisAction::Targets => "targets",
                ArcgisAction::Start { .. } => "start",
                ArcgisAction::Status(_) => "status",
            };
            let url = args.connection.url.clone().unwrap_or_default();
            ("arcgis", url, action, "the ArcGIS deployment")
        }
    }
}

/// Whether the command reads a secret from stdin (then stdin is no terminal to ask on).
fn reads_stdin(command: &Command) -> bool {
    match command {
        Command::Sf(args) => args.connection.token_stdin,
        Command::Cloudsvc(args) => args.connection.token_stdin,
        Command::Arcgis(args) => args.connection.token_stdin || args.connection.password_stdin,
    }
}

async fn execute(cli: &Cli, printer: &Printer, report: &mut Report) -> Result<(), Error> {
    let profile = settings::load_profile(&cli.global)?;
    for warning in &profile.warnings {
        printer.warn(warning);
    }
    let global = settings::global(&cli.global, &profile, reads_stdin(&cli.command))?;
    let ctx = Ctx {
        global: &global,
        printer,
    };
    // `parse_duration` keeps the timeout within 30 days; saturate all the same rather than
    // let an unforeseen value overflow the clock.
    let now = Instant::now();
    let deadline = now
        .checked_add(global.timeout)
        .unwrap_or_else(|| now + crate::cli::MAX_DURATION);
    let work = async {
        match &cli.command {
            Command::Sf(args) => sf::run(args, &profile, &ctx, report).await,
            Command::Cloudsvc(args) => cloudsvc::run(args, &profile, &ctx, report).await,
            Command::Arcgis(args) => arcgis::run(args, &profile, &ctx, report).await,
        }
    };
    match wait::bounded(deadline, work).await {
        Ok(result) => result,
        Err(stop) => Err(stopped(stop, report, &global)),
    }
}

/// The error for a run cut short, saying what became of the operation.
fn stopped(stop: Stop, report: &Report, global: &Global) -> Error {
    let place = report.place;
    let state = match (report.sent, report.phase) {
        (Sent::Running, _) | (Sent::Nothing, Phase::RollingBack) => {
            format!("the rollback continues on {place}")
        }
        (Sent::InFlight, _) => format!(
            "the rollback request may have reached {place}: check with `status` before trying again"
        ),
        (Sent::Nothing, Phase::Upgrading) => {
            format!("no rollback was sent; the upgrade continues on {place}")
        }
        (Sent::Nothing, _) => "no rollback was sent".to_string(),
    };
    match stop {
        Stop::TimedOut => Error::TimedOut(Problem::new(format!(
            "timed out after {}; {state}",
            humantime::format_duration(global.timeout)
        ))),
        Stop::Interrupted => Error::Interrupted(Problem::new(format!("interrupted; {state}"))),
    }
}
