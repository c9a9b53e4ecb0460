//! Which of the job's messages a reading adds to those already shown. A job log has no ids and
//! its `when` may repeat or be missing, so messages are counted by what they say.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::model::{Job, JobMessage, MAX_MESSAGES};

/// The job's messages as last read.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// How often each message (by when, code and text) appeared in the last reading: a message
    /// is new when it appears more often than that, whatever its `when`.
    counts: HashMap<u64, usize>,
    /// Messages dropped from the readings so far, as last said.
    dropped_said: usize,
}

impl Seen {
    /// Remembers `job`'s messages; the lines to show for those beyond the last reading's, in
    /// the server's order (none at the first look, which only learns what is there).
    pub fn events(&mut self, job: &Job, first_look: bool) -> Vec<String> {
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for message in &job.messages {
            *counts.entry(key(message)).or_default() += 1;
        }
        let mut events = Vec::new();
        if !first_look {
            // The messages beyond those seen before, in the server's order.
            let mut new: HashMap<u64, usize> = counts
                .iter()
                .map(|(k, n)| {
                    (
                        *k,
                        n.saturating_sub(self.counts.get(k).copied().unwrap_or(0)),
                    )
                })
                .collect();
            // A message repeated is new in its last occurrences: a log is appended to.
            let mut fresh: Vec<&JobMessage> = Vec::new();
            for message in job.messages.iter().rev() {
                if let Some(n) = new.get_mut(&key(message)).filter(|n| **n > 0) {
                    *n -= 1;
                    fresh.push(message);
                }
            }
            fresh.reverse();
            if job.dropped > self.dropped_said {
                events.push(format!(
                    "({} older job messages not kept; the last {MAX_MESSAGES} are)",
                    job.dropped
                ));
            }
            events.extend(fresh.iter().map(|m| format!("[{}] {}", m.stamp, m.text)));
        }
        self.counts = counts;
        self.dropped_said = self.dropped_said.max(job.dropped);
        events
    }
}

/// A message's identity for counting: a hash of all it says.
fn key(message: &JobMessage) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    message.hash(&mut hasher);
    hasher.finish()
}
