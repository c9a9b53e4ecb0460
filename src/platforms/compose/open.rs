//! `rollback sf compose …`: from arguments to a target, over `sf`'s connection.

use super::args::{ComposeAction, ComposeScope};
use super::{ComposeName, ComposeTarget};
use crate::config::{Global, Profile, Section};
use crate::error::Error;
use crate::platforms::sf::args::SfConnection;
use crate::platforms::sf::{self, Sf};
use crate::platforms::{Action, Describe, FleetEntry, Opened, Platform, Under, Verb, entry};

/// Service Fabric compose deployments: the same gateway, credentials and `[profiles.P.sf]` as
/// `sf app`.
pub struct Compose;

impl Platform for Compose {
    const SECTION: Section = Sf::SECTION;
    const FLEET: &'static [FleetEntry] = &[FleetEntry {
        platform: "sf-compose",
        identity: &["compose"],
        section_identity: &[],
        required: None,
        words: |id, verb| {
            let name = entry::identity(id, "compose");
            match verb {
                Verb::Start => entry::words(&["start", "--", name]),
                Verb::Attach => entry::words(&["status", "--watch", "--", name]),
            }
        },
    }];
    type Args = Under<SfConnection, ComposeScope>;
    type Target = ComposeTarget;

    fn describe(args: &Self::Args) -> Describe {
        let (name, action) = match &args.scope.action {
            ComposeAction::Start { name } => (name, "start"),
            ComposeAction::Status { name, .. } => (name, "status"),
        };
        sf::described("sf-compose", name.clone(), action)
    }

    fn reads_stdin(args: &Self::Args) -> bool {
        args.connection.token_stdin
    }

    fn connection_given(args: &Self::Args) -> Option<&'static str> {
        args.connection.given()
    }

    async fn open(
        args: &Self::Args,
        profile: &Profile,
        _global: &Global,
        label: &mut String,
    ) -> Result<Opened<ComposeTarget>, Error> {
        let (name, action) = match &args.scope.action {
            ComposeAction::Start { name } => (name, Action::Start),
            ComposeAction::Status { name, watch } => (name, Action::Status { watch: watch.watch }),
        };
        let name = ComposeName::parse(name).map_err(Error::Usage)?;
        label.clone_from(&name.0);
        let (client, warnings) = sf::connect(&args.connection, profile, |_| {}).await?;
        Ok(Opened {
            target: ComposeTarget::new(client, name),
            action,
            warnings,
        })
    }
}
