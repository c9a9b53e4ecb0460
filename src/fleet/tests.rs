//! Each platform's fleet entries (declared in its own folder) against its own arguments.

use std::collections::BTreeMap;

use super::{Kind, Verb, parse_args};
use crate::cli::FLEET;
use crate::platforms::Platform;
use crate::platforms::arcgis::Arcgis;
use crate::platforms::cloudsvc::Cloudsvc;
use crate::platforms::compose::Compose;
use crate::platforms::sf::Sf;

/// What `P` makes of `kind`'s words for `verb`: the result's platform, target and action.
fn described<P: Platform>(kind: &Kind, verb: Verb) -> (&'static str, String, &'static str)
where
    P::Args: clap::Args + clap::FromArgMatches,
{
    let identity: BTreeMap<String, String> = kind
        .identity
        .iter()
        .map(|key| ((*key).to_string(), format!("the-{key}")))
        .collect();
    let args = parse_args::<P>(kind, &identity, verb)
        .unwrap_or_else(|e| panic!("{} {verb:?}: {e}", kind.platform));
    let describe = P::describe(&args);
    (describe.platform, describe.target, describe.action)
}

#[test]
fn every_entry_parses_as_its_platform_and_names_itself() {
    let ids: Vec<&str> = FLEET.iter().map(|k| k.platform).collect();
    assert_eq!(
        ids,
        ["sf-cluster", "sf-app", "sf-compose", "cloudsvc", "arcgis"]
    );
    for kind in FLEET {
        for (verb, action) in [(Verb::Start, "start"), (Verb::Attach, "status")] {
            let (platform, target, said) = match kind.section {
                "sf" if kind.platform == "sf-compose" => described::<Compose>(kind, verb),
                "sf" => described::<Sf>(kind, verb),
                "cloudsvc" => described::<Cloudsvc>(kind, verb),
                "arcgis" => described::<Arcgis>(kind, verb),
                other => panic!("a section no test knows: {other}"),
            };
            assert_eq!(platform, kind.platform);
            assert_eq!(said, action, "{} {verb:?}", kind.platform);
            // A target named by identity keys is that target (arcgis' `to` is a version).
            if let ["app" | "compose"] = kind.identity {
                assert_eq!(target, format!("the-{}", kind.identity[0]));
            }
        }
    }
}
