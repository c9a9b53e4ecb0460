//! The one state machine every simulated target uses: a walk through upgrade domains that
//! advances with time (Auto) or waits for each domain to be walked (Manual), and may fail.

use std::time::{Duration, Instant};

/// How fast a simulated walk goes, and where it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Time one upgrade domain takes.
    pub per_domain: Duration,
    /// The domain whose processing fails (scenario `fails`).
    pub fail_at: Option<u32>,
}

/// Where a walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waits for domain N to be walked (Manual mode; Cloud Services' `Before`).
    Waiting(u32),
    /// Domain N is being processed (Cloud Services' `During`).
    Processing(u32),
    /// Every domain is done.
    Done,
    /// Domain N failed; nothing moves any more.
    Failed(u32),
}

/// Why a walk of one domain is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkRefused {
    /// Another domain waits to be walked.
    Expected(u32),
    /// A domain is still being processed.
    Busy(u32),
    /// The walk is over (done or failed).
    Over,
}

/// A walk through upgrade domains `0..total`.
#[derive(Debug, Clone)]
pub struct Walk {
    total: u32,
    pace: Pace,
    manual: bool,
    /// Whether time moves it at all (a forward upgrade the sandbox keeps mid-way does not).
    moving: bool,
    done: u32,
    /// When the current domain started; `None` while waiting for a walk.
    since: Option<Instant>,
    failed: bool,
}

impl Walk {
    /// A walk of `total` domains of which `done` are done; an Auto walk starts the next at once.
    pub fn new(total: u32, done: u32, manual: bool, pace: Pace, now: Instant) -> Self {
        Self {
            total,
            pace,
            manual,
            moving: true,
            done: done.min(total),
            since: (!manual && done < total).then_some(now),
            failed: false,
        }
    }

    /// An Auto walk held while processing domain `at`, until something else happens to the
    /// target (a forward upgrade the sandbox keeps mid-way for a rollback to interrupt).
    pub fn held(total: u32, at: u32, now: Instant) -> Self {
        let pace = Pace {
            per_domain: Duration::ZERO,
            fail_at: None,
        };
        let mut walk = Self::new(total, at, false, pace, now);
        walk.moving = false;
        walk
    }

    /// Domains done so far.
    pub fn done(&mut self, now: Instant) -> u32 {
        self.advance(now);
        self.done
    }

    /// Whether the walk is in Manual mode.
    pub fn manual(&self) -> bool {
        self.manual
    }

    /// Where the walk stands at `now`.
    pub fn stage(&mut self, now: Instant) -> Stage {
        self.advance(now);
        if self.failed {
            Stage::Failed(self.done)
        } else if self.done >= self.total {
            Stage::Done
        } else if self.since.is_some() {
            Stage::Processing(self.done)
        } else {
            Stage::Waiting(self.done)
        }
    }

    /// Starts processing `domain`, the one the walk waits for.
    pub fn walk(&mut self, domain: u32, now: Instant) -> Result<(), WalkRefused> {
        match self.stage(now) {
            Stage::Waiting(expected) if expected == domain => {
                self.since = Some(now);
                Ok(())
            }
            Stage::Waiting(expected) => Err(WalkRefused::Expected(expected)),
            Stage::Processing(current) => Err(WalkRefused::Busy(current)),
            Stage::Done | Stage::Failed(_) => Err(WalkRefused::Over),
        }
    }

    fn advance(&mut self, now: Instant) {
        if !self.moving {
            return;
        }
        while let Some(since) = self.since {
            if self.failed || self.done >= self.total {
                return;
            }
            let end = since + self.pace.per_domain;
            if now < end {
                return;
            }
            if self.pace.fail_at == Some(self.done) {
                self.failed = true;
                return;
            }
            self.done += 1;
            // Auto goes straight on with the next domain; Manual waits for its walk.
            self.since = (!self.manual && self.done < self.total).then_some(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn pace(fail_at: Option<u32>) -> Pace {
        Pace {
            per_domain: SECOND,
            fail_at,
        }
    }

    #[test]
    fn an_auto_walk_goes_through_every_domain_with_time() {
        let t0 = Instant::now();
        let mut walk = Walk::new(3, 0, false, pace(None), t0);
        assert_eq!(walk.stage(t0), Stage::Processing(0));
        assert_eq!(walk.stage(t0 + SECOND / 2), Stage::Processing(0));
        assert_eq!(walk.stage(t0 + SECOND), Stage::Processing(1));
        // A late read catches up on every domain that ended meanwhile.
        assert_eq!(walk.stage(t0 + SECOND * 10), Stage::Done);
        assert_eq!(walk.done(t0 + SECOND * 10), 3);
        assert_eq!(walk.walk(2, t0 + SECOND * 10), Err(WalkRefused::Over));
    }

    #[test]
    fn a_manual_walk_waits_for_each_domain_in_order() {
        let t0 = Instant::now();
        let mut walk = Walk::new(2, 0, true, pace(None), t0);
        assert_eq!(walk.stage(t0 + SECOND * 5), Stage::Waiting(0));
        assert_eq!(walk.walk(1, t0), Err(WalkRefused::Expected(0)));
        walk.walk(0, t0).unwrap();
        assert_eq!(walk.walk(0, t0), Err(WalkRefused::Busy(0)));
        assert_eq!(walk.stage(t0 + SECOND), Stage::Waiting(1));
        walk.walk(1, t0 + SECOND * 3).unwrap();
        assert_eq!(
            walk.stage(t0 + SECOND * 4 - SECOND / 2),
            Stage::Processing(1)
        );
        assert_eq!(walk.stage(t0 + SECOND * 4), Stage::Done);
    }

    #[test]
    fn a_failing_domain_stops_the_walk() {
        let t0 = Instant::now();
        let mut walk = Walk::new(3, 0, false, pace(Some(1)), t0);
        assert_eq!(walk.stage(t0 + SECOND), Stage::Processing(1));
        assert_eq!(walk.stage(t0 + SECOND * 2), Stage::Failed(1));
        assert_eq!(walk.stage(t0 + SECOND * 60), Stage::Failed(1));
        assert_eq!(walk.done(t0 + SECOND * 60), 1);
    }

    #[test]
    fn a_held_walk_does_not_move_alone() {
        let t0 = Instant::now();
        let mut auto = Walk::held(3, 2, t0);
        assert_eq!(auto.stage(t0 + SECOND * 3600), Stage::Processing(2));
    }
}
