//! The bearer token a client sends, and when it stops being good: a token given by the user is
//! used as it is; a generated one (ArcGIS generateToken) is due for renewal a margin before it
//! expires, so that a job that outlives one token keeps going.

use std::time::{Duration, SystemTime};

use crate::secret::Secret;

/// Renew a generated token this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The token of one client.
#[derive(Debug, Default)]
pub struct TokenCache {
    token: Option<Secret>,
    /// When a generated token expires; `None` for a token given as it is.
    expires_at: Option<SystemTime>,
}

impl TokenCache {
    /// A token given by the user (or none): never due for renewal.
    pub fn fixed(token: Option<Secret>) -> Self {
        Self {
            token,
            expires_at: None,
        }
    }

    pub fn current(&self) -> Option<Secret> {
        self.token.clone()
    }

    /// Keeps a generated token until `expires_at`.
    pub fn store(&mut self, token: Secret, expires_at: SystemTime) {
        self.token = Some(token);
        self.expires_at = Some(expires_at);
    }

    /// Whether a token must be generated before the next request: there is none, or the one
    /// there expires within [`REFRESH_MARGIN`] of `now`.
    pub fn due(&self, now: SystemTime) -> bool {
        match (&self.token, self.expires_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(at)) => at.checked_sub(REFRESH_MARGIN).is_none_or(|at| now >= at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_renewed_a_margin_before_it_expires() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut cache = TokenCache::default();
        assert!(cache.due(now), "no token yet");
        cache.store(Secret::new("generated-1"), now + Duration::from_secs(3600));
        assert!(!cache.due(now));
        assert!(
            !cache.due(now + Duration::from_secs(3600) - REFRESH_MARGIN - Duration::from_secs(1))
        );
        assert!(cache.due(now + Duration::from_secs(3600) - REFRESH_MARGIN));
        // An expiry before the margin can be subtracted (the epoch) is due at once.
        cache.store(Secret::new("generated-2"), SystemTime::UNIX_EPOCH);
        assert!(cache.due(now));
        assert_eq!(cache.current().unwrap().expose(), "generated-2");
    }

    #[test]
    fn a_given_token_is_never_due() {
        let cache = TokenCache::fixed(Some(Secret::new("given-token")));
        assert!(!cache.due(SystemTime::now() + Duration::from_secs(10 * 365 * 86400)));
        assert!(TokenCache::fixed(None).due(SystemTime::now()));
    }
}
