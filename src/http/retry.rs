//! When to try a request again and how long to wait first.

use std::time::{Duration, SystemTime};

/// Statuses worth repeating a read for.
pub const READ_RETRY_STATUSES: &[u16] = &[408, 429, 500, 502, 503, 504];
/// Statuses that prove a mutating request was not acted on (docs/security.md, "At most one rollback": 429 and 503 only).
pub const SEND_RETRY_STATUSES: &[u16] = &[429, 503];
/// Retries after the first attempt.
pub const MAX_RETRIES: u32 = 3;
/// The longest `Retry-After` we honour; the run's `--timeout` bounds it further.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Jittered exponential backoff: 250 ms, 500 ms, 1 s, … capped at 8 s, each delay drawn from
/// its upper half so that concurrent clients spread out.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(250)
        .saturating_mul(1 << attempt.min(5))
        .min(Duration::from_secs(8));
    let half = ceiling / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Parses `Retry-After`: delay-seconds or an HTTP date. Zero, or a date already past, asks
/// for no particular wait: `None`, so that the caller's own interval or backoff applies and a
/// server cannot make a tight loop of us.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER)).filter(|delay| !delay.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..10 {
            let d = backoff(attempt);
            let ceiling =
                Duration::from_millis(250 * (1 << attempt.min(5))).min(Duration::from_secs(8));
            assert!(d >= ceiling / 2 && d <= ceiling, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), None);
        assert_eq!(parse_retry_after(&httpdate::fmt_http_date(now), now), None);
        assert_eq!(parse_retry_after("0", now), None);
        assert_eq!(parse_retry_after("99999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
