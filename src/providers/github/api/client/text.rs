//! A `GET` whose answer is text, not JSON: a job's log
//! (`/repos/{o}/{r}/actions/jobs/{id}/logs` answers a redirect to a
//! short-lived download URL, which is followed; the token is not sent to
//! another host). Only the end of the body is kept
//! ([`crate::providers::log_tail`]). No retries: a failed fetch is tried
//! again on the next pass.

use std::sync::atomic::Ordering;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use url::Url;

use super::super::answer::ApiError;
use super::super::rate::reading;
use super::{API_VERSION, GitHubClient};
use crate::providers::log_tail::{LogTail, read_tail};

impl GitHubClient {
    /// `GET url` (redirects followed), keeping the last `cap` bytes.
    ///
    /// Errors: 404 → `NotFound`, 410 (an expired log) → `Gone`, 401 →
    /// `Unauthorized`, another non-2xx → `Status`, transport errors.
    pub async fn get_tail(&self, url: &Url, cap: usize) -> Result<LogTail, ApiError> {
        let shown = url.as_str().to_owned();
        let pause = self.gate.pause_at(Utc::now().timestamp());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
            self.gate.window_passed();
        }
        let authorization = self.authorization().await?;
        let mut request = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(USER_AGENT, concat!("cicd-dashboard/", env!("CARGO_PKG_VERSION")));
        if let Some(secret) = authorization {
            request = request.header(AUTHORIZATION, format!("Bearer {}", secret.expose()));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let transport =
            |err: reqwest::Error| ApiError::Transport { url: shown.clone(), message: err.to_string() };
        let response = request.send().await.map_err(transport)?;
        self.gate.observe(reading(response.headers()));
        let status = response.status();
        match status {
            s if s.is_success() => read_tail(response, cap).await.map_err(transport),
            StatusCode::NOT_FOUND => Err(ApiError::NotFound(shown)),
            StatusCode::GONE => Err(ApiError::Gone(shown)),
            StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized(shown)),
            s => Err(ApiError::Status {
                url: shown,
                status: s.as_u16(),
                message: s.canonical_reason().unwrap_or("error").to_owned(),
            }),
        }
    }
}
