//! `rollback arcgis targets | start --to ID|previous | status`: from arguments to a target.

use std::time::Duration;

use super::args::{ArcgisAction, ArcgisArgs};
use super::client::GenerateToken;
use super::profile::{self, ArcgisProfile};
use super::{ArcgisClient, ArcgisTarget, Choice, Login};
use crate::config::{self, Global, Profile, Section};
use crate::error::Error;
use crate::http::{ClientOptions, TokenPlacement, TokenSource};
use crate::platforms::{Action, Describe, FleetEntry, Opened, Platform, Verb, entry};

/// The token travels in this header and in the `token` form field, never in a URL.
const TOKEN: TokenPlacement = TokenPlacement {
    header: "X-Esri-Authorization",
    form_field: Some("token"),
};

/// ArcGIS Enterprise on Kubernetes deployments.
pub struct Arcgis;

impl Platform for Arcgis {
    const SECTION: Section = Section {
        name: "arcgis",
        check: config::check::<ArcgisProfile>,
        keys: profile::KEYS,
    };
    const FLEET: &'static [FleetEntry] = &[FleetEntry {
        platform: "arcgis",
        identity: &["to"],
        section_identity: &[],
        required: None,
        words: |id, verb| match verb {
            Verb::Start => vec![
                "start".into(),
                format!("--to={}", entry::identity(id, "to")),
            ],
            Verb::Attach => entry::words(&["status", "--watch"]),
        },
    }];
    type Args = ArcgisArgs;
    type Target = ArcgisTarget;

    fn describe(args: &ArcgisArgs) -> Describe {
        let action = match &args.action {
            ArcgisAction::Targets => "targets",
            ArcgisAction::Start { .. } => "start",
            ArcgisAction::Status(_) => "status",
        };
        Describe {
            platform: "arcgis",
            target: args.connection.url.clone().unwrap_or_default(),
            action,
            place: "the ArcGIS deployment",
            step: None,
            access: "a token (ROLLBACK_ARCGIS_TOKEN) or an account (--username) with the Administrator role of the organization; an expired token must be generated again",
            location_option: "--url",
        }
    }

    fn reads_stdin(args: &ArcgisArgs) -> bool {
        args.connection.token_stdin || args.connection.password_stdin
    }

    fn connection_given(args: &ArcgisArgs) -> Option<&'static str> {
        args.connection.given()
    }

    async fn open(
        args: &ArcgisArgs,
        profile: &Profile,
        global: &Global,
        label: &mut String,
    ) -> Result<Opened<ArcgisTarget>, Error> {
        let (choice, action) = match &args.action {
            ArcgisAction::Start { to } => (
                Some(Choice::parse(to).map_err(Error::Usage)?),
                Action::Start,
            ),
            ArcgisAction::Status(watch) => (None, Action::Status { watch: watch.watch }),
            ArcgisAction::Targets => (None, Action::List),
        };
        let settings = profile::resolve(&args.connection, profile).await?;
        *label = settings.url.as_str().trim_end_matches('/').to_string();
        let mut warnings = Vec::new();
        // A password is exchanged for tokens that should outlive the whole run.
        let token = match settings.login {
            Some((username, password)) => TokenSource::Fetched(Box::new(GenerateToken::new(
                &settings.url,
                Login { username, password },
                global.timeout,
            ))),
            None => settings.token.into(),
        };
        let http = crate::platforms::client(
            ClientOptions {
                base: settings.url.clone(),
                tls: settings.tls,
                token,
                token_placement: TOKEN,
                redirect_domains: &[],
                request_timeout: Duration::from_secs(120),
            },
            &mut warnings,
        )?;
        let client = ArcgisClient::new(http, &settings.url);
        Ok(Opened {
            target: ArcgisTarget::new(client, choice),
            action,
            warnings,
        })
    }
}
