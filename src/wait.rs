//! The one poll loop, and the bounds every run keeps: `--timeout` and Ctrl-C.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

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
    Interrupted,
}

/// Runs `work` until it ends, the deadline passes, or the user presses Ctrl-C. Dropping `work`
/// abandons any request in flight; the platform operation itself is not touched.
pub async fn bounded<T>(deadline: Instant, work: impl Future<Output = T>) -> Result<T, Stop> {
    tokio::select! {
        value = work => Ok(value),
        () = tokio::time::sleep_until(deadline) => Err(Stop::TimedOut),
        _ = tokio::signal::ctrl_c() => Err(Stop::Interrupted),
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
