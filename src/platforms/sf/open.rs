//! `rollback sf cluster …` and `rollback sf app …`: from arguments to a target.

use std::time::Duration;

use reqwest::Url;

use super::args::{AppAction, ClusterAction, SfArgs, SfConnection, SfScope};
use super::profile::{self, SfProfile};
use super::{AppId, Scope, SfClient, SfTarget};
use crate::config::{self, Global, Profile, Section};
use crate::error::Error;
use crate::http::{ClientOptions, TokenPlacement};
use crate::platforms::{Action, Describe, FleetEntry, Opened, Platform, Verb, entry};

/// The server's own default when no `--server-timeout` is given.
const SERVER_DEFAULT_TIMEOUT: u64 = 60;

/// Service Fabric: clusters and applications.
pub struct Sf;

impl Platform for Sf {
    const SECTION: Section = Section {
        name: "sf",
        check: config::check::<SfProfile>,
        keys: profile::KEYS,
    };
    const FLEET: &'static [FleetEntry] = &[
        FleetEntry {
            platform: "sf-cluster",
            identity: &[],
            section_identity: &[],
            required: None,
            words: |_, verb| match verb {
                Verb::Start => entry::words(&["cluster", "start"]),
                Verb::Attach => entry::words(&["cluster", "status", "--watch"]),
            },
        },
        FleetEntry {
            platform: "sf-app",
            identity: &["app"],
            section_identity: &[],
            required: None,
            words: |id, verb| {
                let app = entry::identity(id, "app");
                match verb {
                    Verb::Start => entry::words(&["app", "start", "--", app]),
                    Verb::Attach => entry::words(&["app", "status", "--watch", "--", app]),
                }
            },
        },
    ];
    type Args = SfArgs;
    type Target = SfTarget;

    fn describe(args: &SfArgs) -> Describe {
        let (platform, target, action) = match &args.scope {
            SfScope::Cluster { action } => {
                let action = match action {
                    ClusterAction::Start => "start",
                    ClusterAction::Status(_) => "status",
                };
                ("sf-cluster", "cluster".to_string(), action)
            }
            SfScope::App { action } => match action {
                AppAction::Start { app } => ("sf-app", app.clone(), "start"),
                AppAction::Status { app, .. } => ("sf-app", app.clone(), "status"),
            },
        };
        described(platform, target, action)
    }

    fn reads_stdin(args: &SfArgs) -> bool {
        args.connection.token_stdin
    }

    fn connection_given(args: &SfArgs) -> Option<&'static str> {
        args.connection.given()
    }

    async fn open(
        args: &SfArgs,
        profile: &Profile,
        _global: &Global,
        label: &mut String,
    ) -> Result<Opened<SfTarget>, Error> {
        let (scope, action) = match &args.scope {
            SfScope::Cluster { action } => (
                Scope::Cluster,
                match action {
                    ClusterAction::Start => Action::Start,
                    ClusterAction::Status(w) => Action::Status { watch: w.watch },
                },
            ),
            SfScope::App { action } => {
                let (app, action) = match action {
                    AppAction::Start { app } => (app, Action::Start),
                    AppAction::Status { app, watch } => {
                        (app, Action::Status { watch: watch.watch })
                    }
                };
                let id = AppId::parse(app).map_err(Error::Usage)?;
                *label = id.as_str().to_string();
                (Scope::App(id), action)
            }
        };
        let cluster = matches!(scope, Scope::Cluster);
        let (client, warnings) = connect(&args.connection, profile, |endpoint| {
            if cluster {
                *label = endpoint.as_str().trim_end_matches('/').to_string();
            }
        })
        .await?;
        let target = SfTarget { client, scope };
        Ok(Opened {
            target,
            action,
            warnings,
        })
    }
}

/// A command of a platform under `sf`: it runs on the cluster, with the access it needs.
pub fn described(platform: &'static str, target: String, action: &'static str) -> Describe {
    Describe {
        platform,
        target,
        action,
        place: "the cluster",
        step: None,
        access: "a client certificate the cluster knows as admin (--cert), or a token with the Admin role (ROLLBACK_SF_TOKEN); a read-only (user) certificate can read but not roll back",
        location_option: "--endpoint",
    }
}

/// The client for the cluster the connection options, environment and `[profiles.P.sf]` name,
/// with the warnings about it (`--insecure`): every platform under `sf` opens it this way.
/// `resolved` learns the endpoint before the client is built (a refusal then names it).
pub async fn connect(
    connection: &SfConnection,
    profile: &Profile,
    resolved: impl FnOnce(&Url),
) -> Result<(SfClient, Vec<String>), Error> {
    let settings = profile::resolve(connection, profile).await?;
    resolved(&settings.endpoint);
    // The server may work for `timeout` seconds before it answers; wait a little longer.
    let server_timeout = settings
        .server_timeout
        .map_or(SERVER_DEFAULT_TIMEOUT, u64::from);
    let mut warnings = Vec::new();
    let http = crate::platforms::client(
        ClientOptions {
            base: settings.endpoint.clone(),
            tls: settings.tls,
            token: settings.token.into(),
            token_placement: TokenPlacement::AUTHORIZATION,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(server_timeout + 30),
        },
        &mut warnings,
    )?;
    let client = SfClient {
        http,
        endpoint: settings.endpoint,
        api_version: settings.api_version,
        server_timeout: settings.server_timeout,
    };
    Ok((client, warnings))
}
