//! A run's latest reading, shared with a printer of many runs at once (the fleet's live table),
//! which reads it while the run goes on.

use std::cell::RefCell;
use std::rc::Rc;

use crate::platforms::{Phase, Progress};

/// Where a run stood at its latest reading.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// Its phase; `None` before the first reading.
    pub phase: Option<Phase>,
    /// Its upgrade domains, where the platform has them.
    pub domains: Option<Progress>,
}

/// A [`Latest`] the run's printer writes and another reads (one thread: a fleet's targets run
/// on one task).
pub type Watch = Rc<RefCell<Latest>>;
