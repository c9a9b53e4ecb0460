//! The bearer token a client sends, where it comes from, and when it stops being good: a token
//! given by the user is used as it is; one fetched from a token service (ArcGIS generateToken)
//! is renewed a margin before it expires and when the server refuses it, so that a job that
//! outlives one token keeps going. The platform says how to fetch ([`FetchToken`]); the HTTP
//! client decides when.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use super::{HttpClient, Request};
use crate::error::Error;
use crate::secret::Secret;

/// A token from a token service, and when it expires.
pub type Fetched = Result<(Secret, SystemTime), Error>;

/// A platform's token service.
pub trait FetchToken: Send + Sync {
    /// Asks for a new token with `http` (its request goes without a token).
    fn fetch<'a>(
        &'a self,
        http: &'a HttpClient,
    ) -> Pin<Box<dyn Future<Output = Fetched> + Send + 'a>>;
}

/// Where a client's bearer token comes from.
pub enum TokenSource {
    /// None: the client sends no token.
    None,
    /// Given by the user (environment, stdin, a file), used as it is.
    Given(Secret),
    /// Fetched from the platform's token service when needed.
    Fetched(Box<dyn FetchToken>),
}

impl From<Option<Secret>> for TokenSource {
    fn from(token: Option<Secret>) -> Self {
        token.map_or(Self::None, Self::Given)
    }
}

/// Renew a fetched token this long before it expires.
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

/// The token of one client, and the service it renews it from.
pub(super) struct Tokens {
    cache: std::sync::Mutex<TokenCache>,
    fetch: Option<Box<dyn FetchToken>>,
    /// One fetch at a time: a request that waited for it uses the token it brought.
    renewing: tokio::sync::Mutex<()>,
}

impl Tokens {
    pub(super) fn new(source: TokenSource) -> Self {
        let (cache, fetch) = match source {
            TokenSource::None => (TokenCache::fixed(None), None),
            TokenSource::Given(token) => (TokenCache::fixed(Some(token)), None),
            TokenSource::Fetched(fetch) => (TokenCache::default(), Some(fetch)),
        };
        Self {
            cache: std::sync::Mutex::new(cache),
            fetch,
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn current(&self) -> Option<Secret> {
        self.cache().current()
    }
}

impl HttpClient {
    /// Whether a refused token can be replaced by a new one (it comes from a token service).
    pub fn renews_tokens(&self) -> bool {
        self.tokens.fetch.is_some()
    }

    /// Fetches a token before `request` goes when it needs one: none yet, or the one held
    /// expires within [`REFRESH_MARGIN`].
    pub(super) async fn token_before(&self, request: &Request) -> Result<(), Error> {
        if request.with_token && self.tokens.fetch.is_some() {
            self.renew(|cache| cache.due(SystemTime::now())).await?;
        }
        Ok(())
    }

    /// Replaces the token the server refused with a new one from the token service; a token
    /// given by the user cannot be replaced (nothing happens).
    pub async fn renew_token(&self) -> Result<(), Error> {
        let refused = self.tokens.current();
        // Another request may have renewed it while this one was refused.
        self.renew(|cache| {
            cache.current().map(|t| t.expose().to_owned())
                == refused.as_ref().map(|t| t.expose().to_owned())
        })
        .await
    }

    async fn renew(&self, needed: impl Fn(&TokenCache) -> bool) -> Result<(), Error> {
        let Some(fetch) = &self.tokens.fetch else {
            return Ok(());
        };
        let _one_at_a_time = self.tokens.renewing.lock().await;
        if !needed(&self.tokens.cache()) {
            return Ok(());
        }
        let (token, expires_at) = fetch.fetch(self).await?;
        self.tokens.cache().store(token, expires_at);
        Ok(())
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

    /// A token service that hands out `t1`, `t2`, … each living `life` seconds.
    struct Counter {
        fetched: std::sync::Arc<std::sync::atomic::AtomicU32>,
        life: u64,
    }

    impl FetchToken for Counter {
        fn fetch<'a>(
            &'a self,
            _: &'a HttpClient,
        ) -> Pin<Box<dyn Future<Output = Fetched> + Send + 'a>> {
            let n = self
                .fetched
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            let expires = SystemTime::now() + Duration::from_secs(self.life);
            Box::pin(async move { Ok((Secret::new(format!("t{n}")), expires)) })
        }
    }

    fn client(token: TokenSource) -> HttpClient {
        HttpClient::new(super::super::ClientOptions {
            base: reqwest::Url::parse("https://gis.invalid/arcgis").unwrap(),
            tls: Default::default(),
            token,
            token_placement: super::super::TokenPlacement::AUTHORIZATION,
            redirect_domains: &[],
            request_timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    fn sent(http: &HttpClient) -> Option<String> {
        let url = reqwest::Url::parse("https://gis.invalid/arcgis/x").unwrap();
        http.token_for(&url).map(|t| t.expose().to_owned())
    }

    #[tokio::test]
    async fn a_fetched_token_is_fetched_when_needed_renewed_near_expiry_and_when_refused() {
        let fetched = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let count = || fetched.load(std::sync::atomic::Ordering::SeqCst);
        let request = |with_token: bool| {
            let r = Request::new(
                reqwest::Method::GET,
                reqwest::Url::parse("https://gis.invalid/arcgis/x").unwrap(),
            );
            if with_token { r } else { r.without_token() }
        };
        // Long-lived: fetched once, before the first request that needs it, then kept.
        let http = client(TokenSource::Fetched(Box::new(Counter {
            fetched: fetched.clone(),
            life: 3600,
        })));
        assert!(http.renews_tokens());
        http.token_before(&request(false)).await.unwrap();
        assert_eq!(
            (count(), sent(&http)),
            (0, None),
            "a token request needs none"
        );
        http.token_before(&request(true)).await.unwrap();
        http.token_before(&request(true)).await.unwrap();
        assert_eq!((count(), sent(&http).as_deref()), (1, Some("t1")));
        // Refused by the server: replaced once.
        http.renew_token().await.unwrap();
        assert_eq!((count(), sent(&http).as_deref()), (2, Some("t2")));

        // Living less than the margin: due again before every request.
        fetched.store(0, std::sync::atomic::Ordering::SeqCst);
        let http = client(TokenSource::Fetched(Box::new(Counter {
            fetched: fetched.clone(),
            life: REFRESH_MARGIN.as_secs() - 1,
        })));
        http.token_before(&request(true)).await.unwrap();
        http.token_before(&request(true)).await.unwrap();
        assert_eq!((count(), sent(&http).as_deref()), (2, Some("t2")));
    }

    #[tokio::test]
    async fn a_given_token_is_never_replaced() {
        let http = client(TokenSource::Given(Secret::new("given")));
        assert!(!http.renews_tokens());
        http.renew_token().await.unwrap();
        assert_eq!(sent(&http).as_deref(), Some("given"));
    }

    #[test]
    fn a_given_token_is_never_due() {
        let cache = TokenCache::fixed(Some(Secret::new("given-token")));
        assert!(!cache.due(SystemTime::now() + Duration::from_secs(10 * 365 * 86400)));
        assert!(TokenCache::fixed(None).due(SystemTime::now()));
    }
}
