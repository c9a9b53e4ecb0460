//! The admin API client of one deployment: its requests (form posts with `f=json`), tokens from
//! generateToken (refreshed before they expire, and once when refused), and ArcGIS's error
//! envelopes, which arrive with HTTP 200.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::{TokenAnswer, Upgrades, text};
use crate::error::{Error, Problem, excerpt};
use crate::http::{
    Body, Delivery, FetchToken, Fetched, Field, HttpClient, Request, Response, Secret,
};

/// A built-in account whose password the tool exchanges for tokens.
pub struct Login {
    pub username: String,
    pub password: Secret,
}

/// generateToken: the token service the HTTP client renews its token from when the user gave
/// a username and password.
pub struct GenerateToken {
    url: String,
    login: Login,
    /// Token lifetime to ask for, in minutes.
    minutes: u64,
}

impl GenerateToken {
    /// `wait` is the run's `--timeout`: a generated token should outlive it.
    pub fn new(url: &Url, login: Login, wait: Duration) -> Self {
        let minutes = wait
            .saturating_add(Duration::from_secs(15 * 60))
            .as_secs()
            .div_ceil(60);
        Self {
            url: base(url),
            login,
            minutes,
        }
    }

    async fn generate(&self, http: &HttpClient) -> Result<(Secret, SystemTime), Error> {
        let referer = referer(&self.url);
        let request = form(
            &self.url,
            Some(&referer),
            "/sharing/rest/generateToken",
            vec![
                ("username", Field::Plain(self.login.username.clone())),
                ("password", Field::Secret(self.login.password.clone())),
                ("client", Field::Plain("referer".into())),
                ("referer", Field::Plain(referer.clone())),
                ("expiration", Field::Plain(self.minutes.to_string())),
            ],
        )
        .without_token();
        let response = http.read(&request).await?;
        let (token, expires_at) = token_answer(&response).map_err(|e| match e {
            Error::Platform(p) | Error::Auth(p) => Error::Auth(Problem {
                message: format!(
                    "generateToken refused the credentials of {}: {}",
                    self.login.username, p.message
                ),
                ..p
            }),
            other => other,
        })?;
        tracing::info!(
            "generated a token for {} ({} minutes asked)",
            self.login.username,
            self.minutes
        );
        Ok((Secret::new(token), expires_at))
    }
}

impl FetchToken for GenerateToken {
    fn fetch<'a>(
        &'a self,
        http: &'a HttpClient,
    ) -> Pin<Box<dyn Future<Output = Fetched> + Send + 'a>> {
        Box::pin(self.generate(http))
    }
}

/// `URL` without its trailing `/`.
fn base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// The referer a generated token is bound to: the origin of `URL`.
fn referer(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A form POST to `url` + `path`, with `f=json` and the referer a generated token is bound to.
fn form(
    url: &str,
    referer: Option<&str>,
    path: &str,
    mut fields: Vec<(&'static str, Field)>,
) -> Request {
    fields.push(("f", Field::Plain("json".into())));
    // The URL was validated and every path here is fixed, so it parses.
    let url = Url::parse(&format!("{url}{path}")).expect("a valid ArcGIS URL");
    let request = Request::new(Method::POST, url).body(Body::Form(fields));
    match referer {
        Some(referer) => request.header("Referer", referer),
        None => request,
    }
}

/// The client for one deployment: `URL` is `https://HOST/CONTEXT`.
pub struct ArcgisClient {
    pub http: HttpClient,
    url: String,
    /// The referer a generated token is bound to (none for a token given by the user, which
    /// may be bound to another).
    referer: Option<String>,
}

impl ArcgisClient {
    pub fn new(http: HttpClient, url: &Url) -> Self {
        let url = base(url);
        let referer = http.renews_tokens().then(|| referer(&url));
        Self { http, url, referer }
    }

    /// A form POST to `URL` + `path`, with `f=json` and our referer.
    pub(super) fn request(&self, path: &str, fields: Vec<(&'static str, Field)>) -> Request {
        form(&self.url, self.referer.as_deref(), path, fields)
    }

    /// One admin call, its answer read as `T`; a token refused as expired or invalid is
    /// replaced once when it came from generateToken.
    pub async fn call<T: Answer>(
        &mut self,
        path: &str,
        fields: Vec<(&'static str, Field)>,
    ) -> Result<T, Error> {
        let response = self.http.read(&self.request(path, fields.clone())).await?;
        match answer(&response) {
            Err(Error::Auth(p)) if self.http.renews_tokens() && is_token_code(&p) => {
                tracing::info!(
                    "the token was refused ({}); generating a new one",
                    p.message
                );
                self.http.renew_token().await?;
                answer(&self.http.read(&self.request(path, fields)).await?)
            }
            other => other,
        }
    }

    /// An admin operation that leaves something behind (a health check run leaves a report),
    /// sent once: a failure is not retried here, the caller reads again later. A token refused
    /// (nothing was done) is replaced once, as in [`Self::call`].
    pub async fn call_once<T: Answer>(
        &mut self,
        path: &str,
        fields: Vec<(&'static str, Field)>,
    ) -> Result<T, Error> {
        let response = self.once(&self.request(path, fields.clone())).await?;
        match answer(&response) {
            Err(Error::Auth(p)) if self.http.renews_tokens() && is_token_code(&p) => {
                tracing::info!(
                    "the token was refused ({}); generating a new one",
                    p.message
                );
                self.http.renew_token().await?;
                answer(&self.once(&self.request(path, fields)).await?)
            }
            other => other,
        }
    }

    async fn once(&self, request: &Request) -> Result<Response, Error> {
        match self.http.send_once(request).await {
            Delivery::Answered(response) => Ok(response),
            Delivery::NotSent { error, .. } | Delivery::Ambiguous(error) => Err(error),
        }
    }

    /// `https://HOST/CONTEXT`, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The token of a generateToken answer and when it expires: `expires` (or `expiration`) in
/// epoch milliseconds, else an hour from now when it is missing or no time (negative, 1e300).
pub(super) fn token_answer(response: &Response) -> Result<(String, SystemTime), Error> {
    let answer = TokenAnswer::read(&envelope(response)?);
    let Some(token) = answer.token() else {
        return Err(Error::unexpected(format!(
            "generateToken answered without a token: {}",
            excerpt(&response.body, 200)
        )));
    };
    // It goes into a header: nothing is sent with a token that cannot be one.
    crate::input::plain_secret(token, "the token generateToken answered")
        .map_err(|e| Error::unexpected(e.to_string()))?;
    let now = SystemTime::now();
    let expires_at = answer
        .expires_at()
        .unwrap_or_else(|| now.checked_add(Duration::from_secs(3600)).unwrap_or(now));
    Ok((token.to_string(), expires_at))
}

/// Whether ArcGIS refused the token itself (invalid or expired, or none sent).
pub(super) fn is_token_code(problem: &Problem) -> bool {
    matches!(problem.platform_code.as_deref(), Some("498" | "499"))
}

/// A document an answer is read into, with the JSON the error envelopes are looked for in.
pub trait Answer: DeserializeOwned {
    /// The answer's JSON document.
    fn json(&self) -> &Value;
}

impl Answer for Value {
    fn json(&self) -> &Value {
        self
    }
}

impl Answer for Upgrades {
    fn json(&self) -> &Value {
        &self.detail
    }
}

/// The JSON of an answer, or the error it holds: HTTP status, then both error envelopes.
pub fn envelope(response: &Response) -> Result<Value, Error> {
    answer(response)
}

/// An answer read as `T` in one pass, or the error it holds: HTTP status, then both error
/// envelopes. The envelopes are looked for in the parsed JSON rather than read as a model of
/// their own: any answer may be one, and a second parse of each (the job's too) would cost
/// more than walking their few fields.
fn answer<T: Answer>(response: &Response) -> Result<T, Error> {
    let path = response.url.path();
    let parsed: Option<T> = serde_json::from_slice(&response.body).ok();
    let (code, message) = match parsed.as_ref().map(Answer::json) {
        Some(Value::Object(map)) if map.get("error").is_some_and(Value::is_object) => {
            let error = &map["error"];
            let mut message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string();
            let details: Vec<&str> = error
                .get("details")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !details.is_empty() {
                message.push_str(&format!(" ({})", details.join("; ")));
            }
            (error.get("code").and_then(text), Some(message))
        }
        Some(Value::Object(map)) if map.get("status").and_then(Value::as_str) == Some("error") => {
            let messages: Vec<String> = map
                .get("messages")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let message = if messages.is_empty() {
                "no message".to_string()
            } else {
                messages.join("; ")
            };
            (map.get("code").and_then(text), Some(message))
        }
        _ => (None, None),
    };
    let status = response.status;
    if let Some(message) = message {
        let text = match &code {
            Some(code) => format!("{path} answered error {code}: {message}"),
            None => format!("{path} answered an error: {message}"),
        };
        let problem = Problem::new(text).with_code(code.clone());
        let problem = if (200..300).contains(&status) {
            problem
        } else {
            problem.with_status(status)
        };
        return Err(match code.as_deref() {
            Some("498" | "499" | "401" | "403") => Error::Auth(problem),
            _ if matches!(status, 401 | 403) => Error::Auth(problem),
            _ if (200..300).contains(&status) => Error::Platform(problem),
            _ => Error::from_http_status(status, problem),
        });
    }
    if !(200..300).contains(&status) {
        let text = format!(
            "{path} answered HTTP {status}: {}",
            excerpt(&response.body, 200)
        );
        return Err(Error::from_http_status(status, Problem::new(text)));
    }
    parsed.ok_or_else(|| {
        Error::unexpected(format!(
            "{path} answered something that is not JSON (a login or proxy page?): {}",
            excerpt(&response.body, 200)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::response;

    #[test]
    fn token_expiry_is_read_fallibly() {
        let at = |body: &str| token_answer(&response(200, body.as_bytes())).unwrap().1;
        let later = SystemTime::now() + Duration::from_secs(3000);
        assert_eq!(
            at(r#"{"token":"t","expires":4102444800000}"#),
            SystemTime::UNIX_EPOCH + Duration::from_millis(4_102_444_800_000)
        );
        for odd in ["1e300", "-5", "2.5", "\"soon\"", "18446744073709551616"] {
            let expires = at(&format!(r#"{{"token":"t","expires":{odd}}}"#));
            assert!(expires > later, "{odd}: an hour from now");
        }
    }

    #[test]
    fn envelopes_are_errors_even_with_200() {
        let e = envelope(&response(
            200,
            br#"{"error":{"code":498,"message":"Invalid token.","details":[]}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let e = envelope(&response(
            200,
            br#"{"status":"error","messages":["Token Expired."],"code":498}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let e = envelope(&response(200, br#"{"status":"error","messages":["nope"]}"#)).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        let e = envelope(&response(
            200,
            br#"{"error":{"code":404,"message":"Not found"}}"#,
        ))
        .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(envelope(&response(200, br#"{"status":"success"}"#)).is_ok());
        assert_eq!(
            envelope(&response(502, b"<html>")).unwrap_err().exit_code(),
            6
        );
    }
}
