//! The GitHub REST client: one `GET` (or the app's token `POST`) with the
//! headers GitHub asks for (`Accept: application/vnd.github+json`,
//! `X-GitHub-Api-Version`, `User-Agent`), conditional requests
//! (`If-None-Match` → 304), `Link` pagination, rate-limit pauses and retries.
//!
//! Retry policy (<https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api>):
//! 403/429 wait as told (`retry-after`, or until `x-ratelimit-reset` when
//! `remaining` is 0) or, without a hint, back off exponentially with jitter
//! from `secondary_wait`; 5xx and transport errors back off from `base`;
//! 401, 404, 410 and 422 never retry. Owns HTTP to GitHub; knows nothing of
//! the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, ETAG, HeaderMap, IF_NONE_MATCH, LINK, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::answer::{Answer, ApiError};
use super::auth::{Credentials, InstallationToken, still_valid};
use super::rate::{RateGate, reading, retry_after};
use crate::secret::Secret;
use crate::store::RateReading;

mod text;

/// `X-GitHub-Api-Version` sent with every request.
pub const API_VERSION: &str = "2022-11-28";

/// How failed requests are retried. Production defaults: 1 s, 5 retries,
/// 60 s for a secondary limit without a hint, 30 s request timeout.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff after a 5xx or transport error; doubles per retry.
    pub base: Duration,
    pub max_retries: u32,
    /// First wait after a 403/429 that gives no `retry-after` or reset.
    pub secondary_wait: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_retries: 5,
            secondary_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A GitHub REST client for one credential; cheap to clone.
#[derive(Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    base: Url,
    credentials: Arc<Credentials>,
    gate: Arc<RateGate>,
    retry: RetryPolicy,
    requests: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct Installation {
    id: i64,
}

impl GitHubClient {
    /// `api_url`: `https://api.github.com`, or `https://HOST/api/v3` for
    /// GitHub Enterprise Server. `rate_share`: the part of the hourly budget
    /// this dashboard may use, in (0, 1].
    ///
    /// Errors: the HTTP client cannot be built (TLS set-up).
    pub fn new(
        api_url: Url,
        credentials: Credentials,
        rate_share: f64,
        retry: RetryPolicy,
    ) -> Result<GitHubClient, ApiError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| ApiError::Credentials(format!("could not build the HTTP client: {err}")))?;
        Ok(GitHubClient {
            http,
            base: api_url,
            credentials: Arc::new(credentials),
            gate: Arc::new(RateGate::new(rate_share)),
            retry,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The URL of `path` (e.g. `/repos/o/r/actions/runs`) under the API base,
    /// with `query`.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// The latest rate-limit reading.
    pub fn rate(&self) -> RateReading {
        self.gate.last()
    }

    /// Requests sent so far (retries included).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// `GET url` with `If-None-Match: etag` when given; decodes a 2xx body.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &Url,
        etag: Option<&str>,
    ) -> Result<Answer<T>, ApiError> {
        let authorization = self.authorization().await?;
        self.send(Method::GET, url, etag, authorization.as_ref()).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        etag: Option<&str>,
        authorization: Option<&Secret>,
    ) -> Result<Answer<T>, ApiError> {
        let shown = url.as_str().to_owned();
        let mut retries = 0u32;
        loop {
            let pause = self.gate.pause_at(Utc::now().timestamp());
            if !pause.is_zero() {
                tracing::info!(
                    seconds = pause.as_secs(),
                    "GitHub rate-limit budget spent; pausing until the reset"
                );
                tokio::time::sleep(pause).await;
                self.gate.window_passed();
            }
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION)
                .header(USER_AGENT, concat!("cicd-dashboard/", env!("CARGO_PKG_VERSION")));
            if let Some(secret) = authorization {
                request = request.header(AUTHORIZATION, format!("Bearer {}", secret.expose()));
            }
            if let Some(etag) = etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = match request.send().await {
                Ok(response) => response,
                Err(err) => {
                    metrics::counter!("github_api_requests_total", "status" => "error").increment(1);
                    if retries >= self.retry.max_retries {
                        return Err(ApiError::Transport { url: shown, message: err.to_string() });
                    }
                    tokio::time::sleep(backoff(self.retry.base, retries)).await;
                    retries += 1;
                    continue;
                }
            };
            let status = response.status();
            metrics::counter!("github_api_requests_total", "status" => status_class(status)).increment(1);
            let headers = response.headers().clone();
            let rate = reading(&headers);
            self.gate.observe(rate);
            if let Some(remaining) = rate.remaining {
                metrics::gauge!("github_rate_limit_remaining").set(remaining as f64);
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Answer::NotModified);
            }
            if status.is_success() {
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|err| ApiError::Transport { url: shown.clone(), message: err.to_string() })?;
                let value = serde_json::from_slice(&bytes)
                    .map_err(|err| ApiError::Decode { url: shown.clone(), message: err.to_string() })?;
                return Ok(Answer::Fresh {
                    value,
                    etag: header_text(&headers, ETAG),
                    next: next_page(&headers),
                });
            }
            let message = response
                .json::<ErrorBody>()
                .await
                .ok()
                .and_then(|body| body.message)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
            let wait = match status {
                StatusCode::UNAUTHORIZED => return Err(ApiError::Unauthorized(shown)),
                StatusCode::NOT_FOUND => return Err(ApiError::NotFound(shown)),
                StatusCode::GONE => return Err(ApiError::Gone(shown)),
                StatusCode::UNPROCESSABLE_ENTITY => {
                    return Err(ApiError::Unprocessable { url: shown, message });
                }
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                    limit_wait(&headers, rate, &message, self.retry.secondary_wait, retries)
                }
                s if s.is_server_error() => Some(backoff(self.retry.base, retries)),
                _ => None,
            };
            match wait {
                Some(wait) if retries < self.retry.max_retries => {
                    tracing::warn!(status = status.as_u16(), wait_ms = wait.as_millis() as u64, %message,
                        "GitHub asked us to slow down or failed; retrying");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                _ => return Err(ApiError::Status { url: shown, status: status.as_u16(), message }),
            }
        }
    }

    /// The `Authorization` bearer for the next request: the token, or a
    /// current installation token of the app (minted when missing or
    /// expiring within five minutes).
    async fn authorization(&self) -> Result<Option<Secret>, ApiError> {
        let app = match &*self.credentials {
            Credentials::Anonymous => return Ok(None),
            Credentials::Token(token) => return Ok(Some(token.clone())),
            Credentials::App(app) => app,
        };
        let mut cached = app.cached.lock().await;
        let now = Utc::now();
        if let Some(token) = cached.as_ref().filter(|t| still_valid(t, now)) {
            return Ok(Some(token.token.clone()));
        }
        let jwt = app.app_jwt(now).map_err(ApiError::Credentials)?;
        let installation = match app.installation_id {
            Some(id) => id,
            None => {
                let url = self.url("/app/installations", &[]);
                match self.send::<Vec<Installation>>(Method::GET, &url, None, Some(&jwt)).await? {
                    Answer::Fresh { value, .. } => value
                        .first()
                        .map(|i| i.id)
                        .ok_or_else(|| ApiError::Credentials("the GitHub App has no installation".into()))?,
                    Answer::NotModified => return Err(ApiError::Credentials("unexpected 304".into())),
                }
            }
        };
        let url = self.url(&format!("/app/installations/{installation}/access_tokens"), &[]);
        let token = match self.send::<AccessToken>(Method::POST, &url, None, Some(&jwt)).await? {
            Answer::Fresh { value, .. } => value,
            Answer::NotModified => return Err(ApiError::Credentials("unexpected 304".into())),
        };
        let expires_at = DateTime::parse_from_rfc3339(&token.expires_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| now + chrono::Duration::minutes(55));
        let fresh = InstallationToken { token: Secret::from(token.token.as_str()), expires_at };
        *cached = Some(fresh.clone());
        Ok(Some(fresh.token))
    }
}

/// How long to wait after a 403/429: `retry-after`; or until the reset when
/// the primary budget is spent; or exponential backoff from
/// `secondary_wait` when the message names a rate limit. `None`: a plain
/// 403 (no permission), not a limit.
fn limit_wait(
    headers: &HeaderMap,
    rate: RateReading,
    message: &str,
    secondary_wait: Duration,
    retries: u32,
) -> Option<Duration> {
    if let Some(wait) = retry_after(headers) {
        return Some(wait);
    }
    if rate.remaining == Some(0) {
        let now = Utc::now().timestamp();
        return Some(Duration::from_secs(rate.reset_at.map_or(60, |reset| (reset - now + 1).max(1)) as u64));
    }
    // Secondary limits come without a hint at times; GitHub's message names them.
    let lower = message.to_ascii_lowercase();
    (lower.contains("rate limit") || lower.contains("abuse")).then(|| backoff(secondary_wait, retries))
}

/// `base · 2^retries` plus up to `base` of jitter, at most 15 minutes.
fn backoff(base: Duration, retries: u32) -> Duration {
    let jitter = base.mul_f64(f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0);
    (base * 2u32.saturating_pow(retries.min(16)) + jitter).min(Duration::from_secs(900))
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        304 => "304",
        403 => "403",
        404 => "404",
        429 => "429",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

fn header_text(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The `rel="next"` URL of a `Link` header.
fn next_page(headers: &HeaderMap) -> Option<Url> {
    let link = headers.get(LINK)?.to_str().ok()?;
    let links = parse_link_header::parse_with_rel(link).ok()?;
    Url::parse(&links.get("next")?.raw_uri).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_next_link_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            "<https://api.github.com/repos/o/r/actions/runs?page=2>; rel=\"next\", \
             <https://api.github.com/repos/o/r/actions/runs?page=5>; rel=\"last\""
                .parse()
                .expect("test value"),
        );
        assert_eq!(
            next_page(&headers).expect("test value").as_str(),
            "https://api.github.com/repos/o/r/actions/runs?page=2"
        );
        headers.insert(LINK, "<https://api.github.com/x?page=1>; rel=\"prev\"".parse().expect("test value"));
        assert_eq!(next_page(&headers), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        let first = backoff(base, 0);
        assert!(first >= base && first <= base * 2);
        let third = backoff(base, 2);
        assert!(third >= base * 4 && third <= base * 5);
        assert_eq!(backoff(Duration::from_secs(60), 30), Duration::from_secs(900));
    }

    #[test]
    fn joins_paths_under_an_enterprise_base() {
        let client = GitHubClient::new(
            Url::parse("https://ghe.example.com/api/v3/").expect("test value"),
            Credentials::Anonymous,
            1.0,
            RetryPolicy::default(),
        )
        .expect("test value");
        let url = client.url("/repos/o/r/actions/runs", &[("per_page", "100")]);
        assert_eq!(url.as_str(), "https://ghe.example.com/api/v3/repos/o/r/actions/runs?per_page=100");
    }
}
