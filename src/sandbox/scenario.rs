//! The outcomes a sandbox can be asked to rehearse, and the pace each gives the state machines.

use std::time::Duration;

use clap::ValueEnum;

use super::state::Pace;

/// What goes wrong in the sandbox (nothing, without a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The rollback fails on the platform in its second upgrade domain (exit 1).
    Fails,
    /// The rollback takes ten minutes an upgrade domain: a short `--timeout` expires (exit 5).
    Slow,
    /// The rollback succeeds, but health reads Error (exit 7 with `--verify`).
    Unhealthy,
    /// Every credential is refused (exit 4).
    Auth,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fails => "fails",
            Self::Slow => "slow",
            Self::Unhealthy => "unhealthy",
            Self::Auth => "auth",
        }
    }
}

/// Time one upgrade domain takes in a sandbox rollback: three domains make a few seconds.
pub const PER_DOMAIN: Duration = Duration::from_millis(800);

/// The pace of rollbacks (and walks) under `scenario`.
pub fn pace(scenario: Option<Scenario>) -> Pace {
    match scenario {
        Some(Scenario::Slow) => Pace {
            per_domain: Duration::from_secs(600),
            fail_at: None,
        },
        Some(Scenario::Fails) => Pace {
            per_domain: PER_DOMAIN,
            fail_at: Some(1),
        },
        _ => Pace {
            per_domain: PER_DOMAIN,
            fail_at: None,
        },
    }
}
