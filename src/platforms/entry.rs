//! How a fleet plan names a platform's targets: each platform declares its entries
//! ([`Platform::FLEET`](super::Platform::FLEET)) beside its subcommand, in its own folder; the
//! fleet (above the platforms) adds how to check and run them.

use std::collections::BTreeMap;

/// What a fleet target is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Roll back (`start`).
    Start,
    /// Wait for a rollback already accepted (`status --watch`): never send another.
    Attach,
}

/// One kind of target of a platform, as a plan names it (`sf` has two: `sf-cluster`,
/// `sf-app`). Its table is the platform's `SECTION`.
#[derive(Debug, Clone, Copy)]
pub struct FleetEntry {
    /// The plan's `platform` (`sf-app`), the result's `platform`.
    pub platform: &'static str,
    /// The keys a target gives to say which one it is (`app`), all required.
    pub identity: &'static [&'static str],
    /// Keys of its table a target may also give at its top level (Cloud Services' `service`,
    /// `slot`, `deployment`).
    pub section_identity: &'static [&'static str],
    /// A key of its table that must be set by the target, `[defaults]` or the profile.
    pub required: Option<&'static str>,
    /// The words after the platform's subcommand, given the identity: `start` (or, to attach
    /// to a rollback the journal says was accepted, `status --watch`).
    pub words: fn(&BTreeMap<String, String>, Verb) -> Vec<String>,
}

/// `words` as owned strings.
pub fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_string()).collect()
}

/// The identity key `key` (checked present with the plan), or empty.
pub fn identity<'a>(id: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    id.get(key).map_or("", String::as_str)
}
