//! The GitLab REST client of one instance: `GET` under `/api/v4` with the
//! token as `PRIVATE-TOKEN` (personal, project and group access tokens) or
//! `Authorization: Bearer` (OAuth), pagination (`Link: rel="next"`, else
//! `X-Next-Page`), rate-limit pauses and retries.
//!
//! Retry policy: a 429 waits as told (`Retry-After`, else until
//! `RateLimit-Reset`, else exponential backoff); 5xx and transport errors
//! back off from `base`; 401, 403 and 404 never retry. Before each request
//! the shared [`RateGate`] pauses until the reset once `RateLimit-Remaining`
//! is down to the part left to others. Owns HTTP to GitLab; knows nothing
//! of the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, USER_AGENT};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::answer::{ApiError, Page};
use super::rate::{reading, retry_after};
use crate::config::{GitLabInstance, GitLabTokenType};
use crate::providers::rate_gate::RateGate;
use crate::secret::Secret;
use crate::store::RateReading;

mod text;

/// How failed requests are retried. Production defaults: 1 s, 5 retries,
/// 30 s request timeout.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff after a 5xx, transport error or a 429 without a hint;
    /// doubles per retry.
    pub base: Duration,
    pub max_retries: u32,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(1), max_retries: 5, timeout: Duration::from_secs(30) }
    }
}

/// A REST client for one GitLab instance and credential; cheap to clone.
#[derive(Clone)]
pub struct GitLabClient {
    http: reqwest::Client,
    instance: String,
    api: Url,
    token: Option<Secret>,
    token_type: GitLabTokenType,
    gate: Arc<RateGate>,
    retry: RetryPolicy,
    requests: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<serde_json::Value>,
    error: Option<String>,
}

impl GitLabClient {
    /// `rate_share`: the part of the instance's rate limit this dashboard
    /// may use, in (0, 1].
    ///
    /// Errors: a URL that cannot be a base, or no HTTP client (TLS set-up).
    pub fn new(
        instance: &GitLabInstance,
        token_type: GitLabTokenType,
        rate_share: f64,
        retry: RetryPolicy,
    ) -> Result<GitLabClient, ApiError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| ApiError::Setup(format!("could not build the HTTP client: {err}")))?;
        let api = Url::parse(&format!("{}/api/v4", instance.url.trim_end_matches('/')))
            .map_err(|err| ApiError::Setup(format!("{}: {err}", instance.url)))?;
        if api.cannot_be_a_base() {
            return Err(ApiError::Setup(format!("{} cannot be an API base", instance.url)));
        }
        Ok(GitLabClient {
            http,
            instance: instance.url.clone(),
            api,
            token: Secret::present(&instance.token),
            token_type,
            gate: Arc::new(RateGate::new(rate_share)),
            retry,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The instance's base URL (e.g. `https://gitlab.com`).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether a token is configured for this instance.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The URL of the path `segments` under `/api/v4`, each segment
    /// percent-encoded as one (so a project path `group/app` becomes
    /// `group%2Fapp`), with `query`.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
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

    /// `GET url`; decodes a 2xx body.
    pub async fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<Page<T>, ApiError> {
        let shown = url.as_str().to_owned();
        let mut retries = 0u32;
        loop {
            let pause = self.gate.pause_at(Utc::now().timestamp());
            if !pause.is_zero() {
                tracing::info!(seconds = pause.as_secs(), instance = %self.instance,
                    "GitLab rate-limit budget spent; pausing until the reset");
                tokio::time::sleep(pause).await;
                self.gate.window_passed();
            }
            let mut request = self
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, concat!("cicd-dashboard/", env!("CARGO_PKG_VERSION")));
            if let Some(token) = &self.token {
                request = match self.token_type {
                    GitLabTokenType::Private => request.header("PRIVATE-TOKEN", token.expose()),
                    GitLabTokenType::Oauth => {
                        request.header(AUTHORIZATION, format!("Bearer {}", token.expose()))
                    }
                };
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = match request.send().await {
                Ok(response) => response,
                Err(err) => {
                    metrics::counter!("gitlab_api_requests_total", "status" => "error").increment(1);
                    if retries >= self.retry.max_retries {
                        return Err(ApiError::Transport { url: shown, message: err.to_string() });
                    }
                    tokio::time::sleep(backoff(self.retry.base, retries)).await;
                    retries += 1;
                    continue;
                }
            };
            let status = response.status();
            metrics::counter!("gitlab_api_requests_total", "status" => status_class(status)).increment(1);
            let headers = response.headers().clone();
            let rate = reading(&headers);
            self.gate.observe(rate);
            if status.is_success() {
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|err| ApiError::Transport { url: shown.clone(), message: err.to_string() })?;
                let value = serde_json::from_slice(&bytes)
                    .map_err(|err| ApiError::Decode { url: shown.clone(), message: err.to_string() })?;
                return Ok(Page { value, next: next_page(url, &headers) });
            }
            let message = response
                .json::<ErrorBody>()
                .await
                .ok()
                .and_then(|body| {
                    body.error.or_else(|| {
                        body.message.map(|m| m.as_str().map(str::to_owned).unwrap_or_else(|| m.to_string()))
                    })
                })
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
            let wait = match status {
                StatusCode::UNAUTHORIZED => return Err(ApiError::Unauthorized(shown)),
                StatusCode::FORBIDDEN => return Err(ApiError::Forbidden(shown)),
                StatusCode::NOT_FOUND => return Err(ApiError::NotFound(shown)),
                StatusCode::TOO_MANY_REQUESTS => Some(limit_wait(&headers, rate, self.retry.base, retries)),
                s if s.is_server_error() => Some(backoff(self.retry.base, retries)),
                _ => None,
            };
            match wait {
                Some(wait) if retries < self.retry.max_retries => {
                    tracing::warn!(status = status.as_u16(), wait_ms = wait.as_millis() as u64, %message,
                        "GitLab asked us to slow down or failed; retrying");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                _ => return Err(ApiError::Status { url: shown, status: status.as_u16(), message }),
            }
        }
    }
}

/// How long to wait after a 429: `Retry-After`; else until the reset when
/// the budget is spent; else exponential backoff.
fn limit_wait(headers: &HeaderMap, rate: RateReading, base: Duration, retries: u32) -> Duration {
    if let Some(wait) = retry_after(headers) {
        return wait;
    }
    match (rate.remaining, rate.reset_at) {
        (Some(0), Some(reset)) => Duration::from_secs((reset - Utc::now().timestamp() + 1).max(1) as u64),
        _ => backoff(base, retries),
    }
}

/// `base · 2^retries` plus up to `base` of jitter, at most 15 minutes.
fn backoff(base: Duration, retries: u32) -> Duration {
    let jitter = base.mul_f64(f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0);
    (base * 2u32.saturating_pow(retries.min(16)) + jitter).min(Duration::from_secs(900))
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        401 => "401",
        403 => "403",
        404 => "404",
        429 => "429",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The next page: the `Link` header's `rel="next"` (offset and keyset
/// pagination), else the request URL with `page` set to `X-Next-Page`
/// (empty on the last page).
fn next_page(current: &Url, headers: &HeaderMap) -> Option<Url> {
    let linked = headers
        .get(LINK)
        .and_then(|link| link.to_str().ok())
        .and_then(|link| parse_link_header::parse_with_rel(link).ok())
        .and_then(|links| links.get("next").and_then(|next| Url::parse(&next.raw_uri).ok()));
    if linked.is_some() {
        return linked;
    }
    let page = headers.get("x-next-page")?.to_str().ok()?.trim();
    if page.is_empty() || page.parse::<u64>().is_err() {
        return None;
    }
    let mut next = current.clone();
    let kept: Vec<(String, String)> = current
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", page);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> GitLabClient {
        let instance = GitLabInstance { url: url.into(), token: None };
        GitLabClient::new(&instance, GitLabTokenType::Private, 1.0, RetryPolicy::default()).expect("client")
    }

    #[test]
    fn a_project_path_is_one_encoded_segment_under_api_v4() {
        let url = client("https://git.example.com/gitlab")
            .url(&["projects", "group/sub/app", "pipelines"], &[("per_page", "100")]);
        assert_eq!(
            url.as_str(),
            "https://git.example.com/gitlab/api/v4/projects/group%2Fsub%2Fapp/pipelines?per_page=100"
        );
    }

    #[test]
    fn next_page_from_link_or_x_next_page() {
        let current =
            Url::parse("https://gitlab.com/api/v4/projects/1/pipelines?per_page=2&page=1").expect("url");
        let mut headers = HeaderMap::new();
        headers.insert("x-next-page", "2".parse().expect("test value"));
        assert_eq!(
            next_page(&current, &headers).expect("next").as_str(),
            "https://gitlab.com/api/v4/projects/1/pipelines?per_page=2&page=2"
        );
        headers.insert("x-next-page", "".parse().expect("test value"));
        assert_eq!(next_page(&current, &headers), None);
        headers.insert(
            LINK,
            "<https://gitlab.com/api/v4/projects/1/pipelines?page=3>; rel=\"next\", \
             <https://gitlab.com/api/v4/projects/1/pipelines?page=1>; rel=\"first\""
                .parse()
                .expect("test value"),
        );
        assert_eq!(
            next_page(&current, &headers).expect("next").as_str(),
            "https://gitlab.com/api/v4/projects/1/pipelines?page=3"
        );
    }
}
