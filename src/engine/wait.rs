//! The one poll loop, and the bounds every run keeps: `--timeout`, Ctrl-C, SIGTERM and SIGHUP.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Signal};

/// What one poll found.
pub enum Step<T> {
    /// A terminal state: stop waiting.
    Done(T),
    /// Still moving: poll again after the interval, or after the server's `Retry-After`.
    Continue { retry_after: Option<Duration> },
}

/// Polls until `read` reports a terminal state. Progress is reported by `read` itself; the
/// deadline and Ctrl-C are enforced around the whole run by [`bounded`].
pub async fn poll<T>(
    interval: Duration,
    mut read: impl AsyncFnMut() -> Result<Step<T>, Error>,
) -> Result<T, Error> {
    loop {
        match read().await? {
            Step::Done(value) => return Ok(value),
            // A zero `Retry-After` asks for nothing: the interval still applies.
            Step::Continue { retry_after } => {
                let wait = retry_after.filter(|d| !d.is_zero()).unwrap_or(interval);
                tokio::time::sleep(wait).await
            }
        }
    }
}

/// Why a run was cut short from outside.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    TimedOut,
    Signal(Signal),
}

/// Runs `work` until it ends, the deadline passes, or a signal arrives: Ctrl-C (SIGINT), SIGTERM
/// (how CI runners cancel a job) or SIGHUP (the terminal went away). Dropping `work` abandons
/// any request in flight; the platform operation itself is not touched.
pub async fn bounded<T>(deadline: Instant, work: impl Future<Output = T>) -> Result<T, Stop> {
    // Listening starts here, before `work` first runs: from now on these signals no longer
    // kill the process, they end the run with its result document.
    let mut signals = Signals::listen();
    tokio::select! {
        // `work` first: when it has ended on its own, that end is what happened (a Ctrl-C
        // typed at the prompt ends the prompt and raises SIGINT as well).
        biased;
        value = work => Ok(value),
        signal = signals.next() => Err(Stop::Signal(signal)),
        () = tokio::time::sleep_until(deadline) => Err(Stop::TimedOut),
    }
}

/// The signal listeners of a run.
pub struct Signals {
    #[cfg(unix)]
    listeners: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Listens from now on: these signals no longer kill the process.
    #[cfg(unix)]
    pub fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let listeners = [
            (Signal::Interrupt, SignalKind::interrupt()),
            (Signal::Terminate, SignalKind::terminate()),
            (Signal::Hangup, SignalKind::hangup()),
        ]
        .into_iter()
        .filter_map(|(which, kind)| match signal(kind) {
            Ok(listener) => Some((which, listener)),
            Err(e) => {
                tracing::debug!("cannot listen for {which:?}: {e}");
                None
            }
        })
        .collect();
        Self { listeners }
    }

    #[cfg(not(unix))]
    pub fn listen() -> Self {
        Self {}
    }

    /// The next signal that arrives.
    #[cfg(unix)]
    pub async fn next(&mut self) -> Signal {
        std::future::poll_fn(|cx| {
            for (which, listener) in &mut self.listeners {
                if let std::task::Poll::Ready(Some(())) = listener.poll_recv(cx) {
                    return std::task::Poll::Ready(*which);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    #[cfg(not(unix))]
    pub async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn polls_until_done_honouring_retry_after() {
        let calls = Cell::new(0);
        let started = Instant::now();
        let value = poll(Duration::from_secs(5), async || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            Ok(match n {
                1 => Step::Continue { retry_after: None },
                2 => Step::Continue {
                    retry_after: Some(Duration::from_secs(1)),
                },
                _ => Step::Done(n),
            })
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
        assert_eq!(started.elapsed(), Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_retry_after_waits_the_interval() {
        let calls = Cell::new(0);
        let started = Instant::now();
        poll(Duration::from_secs(5), async || {
            calls.set(calls.get() + 1);
            Ok(if calls.get() < 3 {
                Step::Continue {
                    retry_after: Some(Duration::ZERO),
                }
            } else {
                Step::Done(())
            })
        })
        .await
        .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_stops_the_work() {
        let deadline = Instant::now() + Duration::from_secs(2);
        let result = bounded(deadline, std::future::pending::<()>()).await;
        assert_eq!(result, Err(Stop::TimedOut));
    }

    #[tokio::test]
    async fn poll_errors_end_the_wait() {
        let result: Result<(), Error> = poll(Duration::from_millis(1), async || {
            Err(Error::unexpected("bad"))
        })
        .await;
        assert_eq!(result.unwrap_err().exit_code(), 1);
    }
}
