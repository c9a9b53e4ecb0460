//! `rollback cloudsvc start | status | walk`: from arguments to a target.

use std::time::Duration;

use super::args::{CloudsvcAction, CloudsvcArgs};
use super::profile::{self, CloudsvcProfile};
use super::{CloudsvcClient, CloudsvcTarget, Purpose};
use crate::config::{self, Global, Profile, Section};
use crate::error::Error;
use crate::http::{ClientOptions, TokenPlacement};
use crate::platforms::{Action, Describe, FleetEntry, Opened, Platform, Verb, entry};

/// Azure Cloud Services (classic) deployments.
pub struct Cloudsvc;

impl Platform for Cloudsvc {
    const SECTION: Section = Section {
        name: "cloudsvc",
        check: config::check::<CloudsvcProfile>,
        keys: profile::KEYS,
    };
    const FLEET: &'static [FleetEntry] = &[FleetEntry {
        platform: "cloudsvc",
        identity: &[],
        section_identity: &["service", "slot", "deployment"],
        required: Some("service"),
        words: |_, verb| match verb {
            Verb::Start => entry::words(&["start"]),
            Verb::Attach => entry::words(&["status", "--watch"]),
        },
    }];
    type Args = CloudsvcArgs;
    type Target = CloudsvcTarget;

    fn describe(args: &CloudsvcArgs) -> Describe {
        let (action, step) = match &args.action {
            CloudsvcAction::Start { .. } => ("start", None),
            CloudsvcAction::Status(_) => ("status", None),
            CloudsvcAction::Walk { .. } => ("walk", Some("upgrade domain walk")),
        };
        Describe {
            platform: "cloudsvc",
            target: args.connection.service.clone().unwrap_or_default(),
            action,
            place: "Azure",
            step,
            access: "a management certificate uploaded to the subscription (--cert or --publish-settings), or an Azure AD token (ROLLBACK_CLOUDSVC_TOKEN) of an account that is a co-administrator of the subscription",
            location_option: "--endpoint",
        }
    }

    fn reads_stdin(args: &CloudsvcArgs) -> bool {
        args.connection.token_stdin
    }

    fn connection_given(args: &CloudsvcArgs) -> Option<&'static str> {
        args.connection.given()
    }

    async fn open(
        args: &CloudsvcArgs,
        profile: &Profile,
        _global: &Global,
        label: &mut String,
    ) -> Result<Opened<CloudsvcTarget>, Error> {
        let (mode, force, action) = match &args.action {
            CloudsvcAction::Start { mode, force } => (*mode, *force, Action::Start),
            CloudsvcAction::Status(watch) => (None, false, Action::Status { watch: watch.watch }),
            CloudsvcAction::Walk { domain } => (None, false, Action::Step(*domain)),
        };
        let settings = profile::resolve(&args.connection, mode, profile).await?;
        let mut warnings = Vec::new();
        let http = crate::platforms::client(
            ClientOptions {
                base: settings.base.clone(),
                tls: settings.tls,
                token: settings.token.into(),
                token_placement: TokenPlacement::AUTHORIZATION,
                redirect_domains: super::redirect_domains(&settings.base),
                request_timeout: Duration::from_secs(90),
            },
            &mut warnings,
        )?;
        let target = CloudsvcTarget::new(
            CloudsvcClient {
                http,
                base: settings.base,
                subscription: settings.subscription,
                service: settings.service,
                deploy: settings.deploy,
            },
            settings.mode,
            force,
            // A walk's wait ends with the walk's operation.
            match action {
                Action::Step(_) => Purpose::Walk,
                _ => Purpose::Rollback,
            },
        );
        *label = target.label();
        Ok(Opened {
            target,
            action,
            warnings,
        })
    }
}
