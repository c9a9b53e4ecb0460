//! `rollback cloudsvc start | status | walk`.

use std::time::Duration;

use crate::cli::{CloudsvcAction, CloudsvcArgs};
use crate::error::{Error, Problem};
use crate::http::{ClientOptions, TokenPlacement};
use crate::platforms::Rollback;
use crate::platforms::cloudsvc::{self, CloudsvcClient, CloudsvcTarget, Purpose};
use crate::report::Report;
use crate::settings::{self, Profile};

use crate::engine::{self, Ctx};

pub async fn run(
    args: &CloudsvcArgs,
    profile: &Profile,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let (mode, force) = match &args.action {
        CloudsvcAction::Start { mode, force } => (*mode, *force),
        _ => (None, false),
    };
    let settings = settings::cloudsvc(&args.connection, mode, profile).await?;
    let http = super::http_client(
        ctx,
        ClientOptions {
            base: settings.base.clone(),
            tls: settings.tls,
            token: settings.token,
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: cloudsvc::redirect_domains(&settings.base),
            request_timeout: Duration::from_secs(90),
        },
    )?;
    let mut target = CloudsvcTarget::new(
        CloudsvcClient {
            http,
            base: settings.base,
            subscription: settings.subscription,
            service: settings.service,
            deploy: settings.deploy,
        },
        settings.mode,
        force,
        match args.action {
            CloudsvcAction::Walk { .. } => Purpose::Walk,
            _ => Purpose::Rollback,
        },
    );
    report.target = target.label();
    match &args.action {
        CloudsvcAction::Start { .. } => engine::start(&mut target, ctx, report).await,
        CloudsvcAction::Status(watch) => {
            engine::status(&mut target, ctx, report, watch.watch).await
        }
        CloudsvcAction::Walk { domain } => walk(&mut target, *domain, ctx, report).await,
    }
}

/// `walk --domain N`: only the domain the deployment waits at, and only while it waits.
async fn walk(
    target: &mut CloudsvcTarget,
    domain: u32,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let snapshot = target.read().await?;
    report.update(&snapshot);
    let state = target.deployment_state(&snapshot);
    let Some((current, current_state)) = state.current else {
        return Err(Error::NothingToRollBack(Problem::new(format!(
            "no update is in progress on {}: there is no upgrade domain to walk",
            target.label()
        ))));
    };
    if let Some(count) = state.count.filter(|count| domain >= *count) {
        return Err(Error::Usage(format!(
            "--domain {domain}: {} has upgrade domains 0 to {}",
            target.label(),
            count.saturating_sub(1)
        )));
    }
    if domain != current {
        return Err(Error::Usage(format!(
            "--domain {domain}: {} waits at upgrade domain {current}, which must be walked first",
            target.label()
        )));
    }
    if current_state.eq_ignore_ascii_case("During") {
        return Err(Error::Platform(Problem::new(format!(
            "upgrade domain {current} of {} is still being processed (During); walk the next one when it is reached",
            target.label()
        ))));
    }
    let question = format!("Walk upgrade domain {domain} of {}?", target.label());
    let what = format!("Upgrade domain {domain} walk");
    engine::step(
        target,
        ctx,
        report,
        &target.walk_request(domain),
        &what,
        &question,
    )
    .await
}
