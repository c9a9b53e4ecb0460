//! `rollback sf cluster …` and `rollback sf app …`.

use std::time::Duration;

use crate::cli::{AppAction, ClusterAction, SfArgs, SfScope};
use crate::error::Error;
use crate::http::{ClientOptions, TokenPlacement};
use crate::platforms::sf::{AppId, Scope, SfClient, SfTarget};
use crate::report::Report;
use crate::settings::{self, Profile};

use crate::engine::{self, Ctx};

/// The server's own default when no `--server-timeout` is given.
const SERVER_DEFAULT_TIMEOUT: u64 = 60;

pub async fn run(
    args: &SfArgs,
    profile: &Profile,
    ctx: &Ctx<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let (scope, watch) = match &args.scope {
        SfScope::Cluster { action } => (
            Scope::Cluster,
            match action {
                ClusterAction::Start => None,
                ClusterAction::Status(w) => Some(w.watch),
            },
        ),
        SfScope::App { action } => {
            let (app, watch) = match action {
                AppAction::Start { app } => (app, None),
                AppAction::Status { app, watch } => (app, Some(watch.watch)),
            };
            let id = AppId::parse(app).map_err(Error::Usage)?;
            report.target = id.as_str().to_string();
            (Scope::App(id), watch)
        }
    };
    let settings = settings::sf(&args.connection, profile).await?;
    if matches!(scope, Scope::Cluster) {
        report.target = settings.endpoint.as_str().trim_end_matches('/').to_string();
    }
    // The server may work for `timeout` seconds before it answers; wait a little longer.
    let server_timeout = settings
        .server_timeout
        .map_or(SERVER_DEFAULT_TIMEOUT, u64::from);
    let http = super::http_client(
        ctx,
        ClientOptions {
            base: settings.endpoint.clone(),
            tls: settings.tls,
            token: settings.token,
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(server_timeout + 30),
        },
    )?;
    let mut target = SfTarget {
        client: SfClient {
            http,
            endpoint: settings.endpoint,
            api_version: settings.api_version,
            server_timeout: settings.server_timeout,
        },
        scope,
    };
    match watch {
        None => engine::start(&mut target, ctx, report).await,
        Some(watch) => engine::status(&mut target, ctx, report, watch).await,
    }
}
