//! Platform API clients. Each maps its own states into [`Phase`] and implements [`Rollback`],
//! so that `start`, `status --watch`, the exit codes and the result document are written once
//! (in `commands`). Nothing here parses arguments, prints or exits.

pub mod arcgis;
pub mod cloudsvc;
pub mod compose;
mod entry;
pub mod sf;

use std::time::Duration;

use clap::{ArgMatches, Args, FromArgMatches};
use serde::Serialize;

use crate::config::{Global, Profile, Section};
use crate::error::{Error, Problem};
use crate::http::{ClientOptions, Delivery, HttpClient, Request, RequestRecord, Response};

pub use entry::{FleetEntry, Verb};

/// `--watch` for status commands.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Wait until the upgrade or rollback reaches a final state.
    #[arg(short, long)]
    pub watch: bool,
}

/// The arguments of a platform listed under a command whose options it shares: those options
/// (`sf`'s connection), then its own (`app …`, `compose …`).
#[derive(Debug)]
pub struct Under<C, S> {
    pub connection: C,
    pub scope: S,
}

/// How a platform's own arguments join the options it shares on a command line: a
/// subcommand enum (`sf`'s `cluster`/`app`) or an arguments struct (`compose`).
pub trait Scope: FromArgMatches {
    fn augment(cmd: clap::Command) -> clap::Command;
}

// What `#[derive(Args)]` would write for `{ #[command(flatten)] connection, scope }`, which it
// cannot for type parameters: a fleet target parses its words with it.
impl<C: Args, S: Scope> FromArgMatches for Under<C, S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self {
            connection: C::from_arg_matches(matches)?,
            scope: S::from_arg_matches(matches)?,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.connection.update_from_arg_matches(matches)?;
        self.scope.update_from_arg_matches(matches)
    }
}

impl<C: Args, S: Scope> Args for Under<C, S> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        S::augment(C::augment_args(cmd))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        S::augment(C::augment_args_for_update(cmd))
    }
}

/// The normalized state every platform maps its own states into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Upgrading,
    RollingBack,
    RolledBack,
    Failed,
    Unknown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Upgrading => "upgrading",
            Self::RollingBack => "rolling_back",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// Whether an upgrade or rollback is still moving.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Upgrading | Self::RollingBack)
    }
}

/// One reading of the platform's state.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub phase: Phase,
    /// The platform's own word for the state.
    pub platform_state: Option<String>,
    /// The version being abandoned, when the platform names it.
    pub from_version: Option<String>,
    /// One line for a human: where the upgrade or rollback stands.
    pub progress: String,
    /// Why the upgrade or rollback failed, when it did.
    pub failure: Option<Problem>,
    /// The platform's status document, as parsed.
    pub detail: serde_json::Value,
    /// The server asked us to wait this long before the next read.
    pub retry_after: Option<Duration>,
    /// Still changing: a wait goes on.
    pub moving: bool,
    /// A mutating request the platform needs before it can go on (a Manual-mode walk).
    pub next_step: Option<NextStep>,
    /// The words after the platform of the command that moves it on when nobody does
    /// (`walk --domain 1`), for a `next:` hint.
    pub next_command: Option<Vec<String>>,
    /// Platform messages to show once each, in order (job messages).
    pub events: Vec<String>,
    /// How far through its upgrade domains the upgrade or rollback is (the result's
    /// `progress`); `None` where the platform has no domains.
    pub domains: Option<Progress>,
    /// One line on why the upgrade failed or was rolled back, when the platform says (the
    /// result's `reason`).
    pub reason: Option<String>,
}

/// The result's `progress`: upgrade domains done out of all, and the one being worked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub domains_done: u32,
    pub domains_total: u32,
    /// The upgrade domain being upgraded or rolled back now, by the platform's name for it.
    pub current: Option<String>,
}

/// A health verdict's state: the result's `health.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Ok,
    Warning,
    Error,
    Unknown,
}

/// One reading of a target's health, after its rollback.
#[derive(Debug, Clone)]
pub struct Health {
    pub state: HealthState,
    /// A later read may say otherwise (an entity not yet in the health store, a role instance
    /// still starting): a wait for health goes on. `false` with `Unknown`: the platform offers
    /// no health signal for this target, which is said, not failed.
    pub settling: bool,
    /// What is unhealthy, the first entity first, one line each; or why the state is unknown.
    pub details: Vec<String>,
}

impl Health {
    /// Healthy: `Ok`, or `Warning` unless `strict` (Service Fabric's own default policy).
    pub fn is_healthy(&self, strict: bool) -> bool {
        match self.state {
            HealthState::Ok => true,
            HealthState::Warning => !strict,
            HealthState::Error | HealthState::Unknown => false,
        }
    }
}

/// A request a wait must send to make progress, with the words to ask and tell about it.
#[derive(Debug, Clone)]
pub struct NextStep {
    pub request: Request,
    /// What the request is, for notes: "Upgrade domain 1 walk".
    pub what: String,
    pub question: String,
    pub note: String,
}

/// What `start` does after reading the state.
#[derive(Debug)]
pub enum Decision {
    /// An upgrade can be rolled back: send the rollback.
    RollBack,
    /// A rollback is already running: wait for it instead of sending another.
    Attach,
    /// Nothing to roll back (exit 3), with the reason.
    Nothing(String),
    /// A state in which no rollback may be sent.
    Refuse(Error),
}

/// What the result document and messages say about a command before anything is resolved.
#[derive(Debug, Clone)]
pub struct Describe {
    /// The result's `platform` (`sf-app`).
    pub platform: &'static str,
    /// The result's `target`, as far as the arguments tell it (resolved later).
    pub target: String,
    /// The result's `action` (`start`, `status`, `walk`, `targets`).
    pub action: &'static str,
    /// Where the operation runs, for messages ("the cluster").
    pub place: &'static str,
    /// The step this command sends instead of a rollback, for messages (`cloudsvc walk`:
    /// "upgrade domain walk"); `None` for every other command.
    pub step: Option<&'static str>,
    /// What the platform wants for a refused request (401/403): the role or certificate.
    pub access: &'static str,
    /// The option that says where the platform is (`--endpoint`, `--url`).
    pub location_option: &'static str,
}

/// What the engine does with a platform's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Check, confirm, send the rollback, wait.
    Start,
    /// Read the state once, or wait until it settles.
    Status { watch: bool },
    /// One step the user asked for outside a rollback (Cloud Services' `walk --domain N`).
    Step(u32),
    /// A read-only listing (ArcGIS `targets`).
    List,
}

/// A target ready for the engine.
pub struct Opened<T> {
    pub target: T,
    pub action: Action,
    /// Warnings for the user (`--insecure`).
    pub warnings: Vec<String>,
}

/// A listing for the text result (a table: the header row, then one row an entry; each cell
/// shown escaped, columns aligned) and the result document's `detail`.
pub struct Listing {
    pub rows: Vec<Vec<String>>,
    pub detail: serde_json::Value,
}

/// What the confirmation asks: lines of context, then the question. The printer shows each as
/// one line, whatever a server put into it, so that no server string can fake a line.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub context: Vec<String>,
    pub question: String,
}

/// A platform as the command line, the configuration and the engine see it: adding a platform
/// is a folder that implements this (and `Rollback`) plus one line in `cli`'s `platforms!` listing.
pub trait Platform {
    /// Its table of a profile (`profile.rs`).
    const SECTION: Section;
    /// Its kinds of target as a fleet plan names them, in the order `fleet` lists them.
    const FLEET: &'static [FleetEntry];
    /// Its clap arguments (`args.rs`).
    type Args;
    /// The rollback target it opens.
    type Target: Rollback;
    /// The result's identity of a command, from the arguments alone.
    fn describe(args: &Self::Args) -> Describe;
    /// Whether a secret is read from stdin (then stdin is no terminal to ask on).
    fn reads_stdin(args: &Self::Args) -> bool;
    /// The first connection setting given (option, its variable, or a credential variable):
    /// `--sandbox` brings its own and refuses others.
    fn connection_given(args: &Self::Args) -> Option<&'static str>;
    /// Resolves the settings (flags, environment, profile), builds the client and the target.
    /// `label` is the result's `target`: set as soon as it is known (checked id, endpoint).
    async fn open(
        args: &Self::Args,
        profile: &Profile,
        global: &Global,
        label: &mut String,
    ) -> Result<Opened<Self::Target>, Error>;
}

/// The first of `options` that is set, else the first of the `variables` set (non-empty).
pub fn first_given(
    options: &[(bool, &'static str)],
    variables: &[&'static str],
) -> Option<&'static str> {
    options
        .iter()
        .find(|(set, _)| *set)
        .map(|(_, name)| *name)
        .or_else(|| {
            variables
                .iter()
                .copied()
                .find(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
        })
}

/// The HTTP client of a platform; `--insecure` is said out loud.
pub fn client(options: ClientOptions, warnings: &mut Vec<String>) -> Result<HttpClient, Error> {
    if options.tls.insecure {
        warnings.push("--insecure: the server's TLS certificate is not verified".into());
    }
    HttpClient::new(options)
}

/// The operations every platform offers for one rollback target.
pub trait Rollback {
    /// A mutating request as `--dry-run` and the result document show it, secrets redacted.
    fn record(&self, request: &Request) -> RequestRecord;
    /// Sends a mutating request once (the engine decides about sending it again).
    async fn send(&mut self, request: &Request) -> Delivery;
    /// Time between reads while waiting, unless `--poll-interval` says otherwise.
    fn default_poll_interval(&self) -> Duration;
    /// Reads the state once (precondition, status and every poll).
    async fn read(&mut self) -> Result<Snapshot, Error>;
    /// What `start` does in this state.
    fn decide(&self, snapshot: &Snapshot) -> Decision {
        default_decision(snapshot)
    }
    /// What the confirmation prompt says: what is abandoned and what is restored. Asked only
    /// when a prompt is shown, so it may read what only the question needs.
    async fn describe(&mut self, snapshot: &Snapshot) -> Prompt;
    /// The mutating request that starts the rollback.
    fn rollback_request(&self) -> Request;
    /// The error a non-2xx answer to the rollback request stands for.
    fn rejection(&self, response: &Response) -> Error;
    /// Judges a 2xx answer to the rollback or a next step: an error the platform wraps in a
    /// success status, or acceptance with the platform's id for the operation, if any.
    fn accepted(&mut self, _response: &Response) -> Result<Option<String>, Error> {
        Ok(None)
    }
    /// A rollback request (sent by this run, or by a run on this machine moments ago) may have
    /// been received without this run seeing it accepted: from now on, judge the state knowing
    /// that. `true` when that can change the judgement; platforms whose state shows a rollback
    /// at once (Service Fabric) keep the default.
    fn expect_rollback(&mut self) -> bool {
        false
    }
    /// Work between the decision to roll back and the request (choosing among options).
    async fn prepare(&mut self, _snapshot: &Snapshot) -> Result<(), Error> {
        Ok(())
    }
    /// The target's health once its rollback completed (`--verify`).
    async fn health(&mut self) -> Result<Health, Error>;
    /// After a completed rollback: the version now in place, if it can be read.
    async fn settled_version(&mut self) -> Option<String> {
        None
    }
    /// The step the user asked for (`Action::Step`), checked against the state just read:
    /// its request and the words to ask and tell about it.
    async fn step(&mut self, _n: u32, _snapshot: &Snapshot) -> Result<NextStep, Error> {
        Err(Error::Usage("this platform offers no such step".into()))
    }
    /// The listing the user asked for (`Action::List`), given the state just read.
    async fn list(&mut self, _snapshot: &Snapshot) -> Result<Listing, Error> {
        Err(Error::Usage("this platform offers no listing".into()))
    }
}

/// The decision for platforms whose phase says it all.
pub fn default_decision(snapshot: &Snapshot) -> Decision {
    let state = snapshot.platform_state.as_deref().unwrap_or("no state");
    match snapshot.phase {
        Phase::Upgrading => Decision::RollBack,
        Phase::RollingBack => Decision::Attach,
        Phase::Idle | Phase::RolledBack => {
            Decision::Nothing(format!("no upgrade is rolling forward ({state})"))
        }
        Phase::Failed => Decision::Refuse(Error::RollbackFailed(
            snapshot.failure.clone().unwrap_or_else(|| {
                Problem::new(format!(
                    "the upgrade is in state {state}; no rollback was sent"
                ))
            }),
        )),
        Phase::Unknown => Decision::Refuse(Error::unexpected(format!(
            "unrecognised state {state}; no rollback was sent"
        ))),
    }
}
