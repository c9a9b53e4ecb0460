//! `rollback arcgis targets | start --to ID|previous | status`.

use std::time::Duration;

use crate::cli::{ArcgisAction, ArcgisArgs};
use crate::error::{Error, Problem};
use crate::http::{ClientOptions, TokenPlacement};
use crate::platforms::arcgis::{ArcgisClient, ArcgisTarget, Choice, Login, RollbackOption};
use crate::platforms::{Phase, Rollback};
use crate::report::{Outcome, Report};
use crate::settings::{self, Profile};

use crate::engine::{self, Ctx};

/// The token travels in this header and in the `token` form field, never in a URL.
const TOKEN: TokenPlacement = TokenPlacement {
    header: "X-Esri-Authorization",
    form_field: Some("token"),
};

pub async fn run(
    args: &ArcgisArgs,
    profile: &Profile,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let choice = match &args.action {
        ArcgisAction::Start { to } => Some(Choice::parse(to).map_err(Error::Usage)?),
        _ => None,
    };
    let settings = settings::arcgis(&args.connection, profile).await?;
    report.target = settings.url.as_str().trim_end_matches('/').to_string();
    let http = super::http_client(
        ctx,
        ClientOptions {
            base: settings.url.clone(),
            tls: settings.tls,
            token: settings.token,
            token_placement: TOKEN,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(120),
        },
    )?;
    let login = settings
        .login
        .map(|(username, password)| Login { username, password });
    let client = ArcgisClient::new(http, &settings.url, login, ctx.global.timeout);
    let mut target = ArcgisTarget::new(client, choice);
    match &args.action {
        ArcgisAction::Targets => targets(&mut target, report).await,
        ArcgisAction::Start { .. } => engine::start(&mut target, ctx, report).await,
        ArcgisAction::Status(watch) => engine::status(&mut target, ctx, report, watch.watch).await,
    }
}

/// `targets`: the versions Check Rollback offers. A running job blocks it.
async fn targets(target: &mut ArcgisTarget, report: &mut Report) -> Result<(), Error> {
    let snapshot = target.read().await?;
    report.update(&snapshot);
    if snapshot.phase.is_active() {
        return Err(Error::NothingToRollBack(Problem::new(format!(
            "a job is running ({}); the rollback options can be read once it has ended",
            snapshot.progress
        ))));
    }
    let (options, detail) = target.options().await?;
    report.detail = detail;
    report.outcome = Outcome::Status;
    if options.is_empty() {
        report.phase = Phase::Idle;
        return Err(Error::NothingToRollBack(Problem::new(format!(
            "no patch is installed on {}: there is no version to roll back to",
            report.target
        ))));
    }
    let mut listing = String::from("ID  VERSION  TYPE  NAME\n");
    for option in &options {
        // One line per option, whatever the server put in its fields.
        listing.push_str(&crate::output::one_line(&RollbackOption::line(option)));
        listing.push('\n');
    }
    report.summary = Some(listing);
    Ok(())
}
