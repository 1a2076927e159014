//! A `GET` whose answer is text: a job's trace
//! (`/projects/:id/jobs/:job_id/trace`). Only the end of the body is kept
//! ([`crate::providers::log_tail`]). No retries: a failed fetch is tried
//! again on the next pass.

use std::sync::atomic::Ordering;

use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, USER_AGENT};
use url::Url;

use super::super::answer::ApiError;
use super::super::rate::reading;
use super::GitLabClient;
use crate::config::GitLabTokenType;
use crate::providers::log_tail::{LogTail, read_tail};

impl GitLabClient {
    /// `GET url`, keeping the last `cap` bytes of the answer.
    ///
    /// Errors: 401 → `Unauthorized`, 403 → `Forbidden`, 404 → `NotFound`,
    /// another non-2xx → `Status`, transport errors.
    pub async fn get_tail(&self, url: &Url, cap: usize) -> Result<LogTail, ApiError> {
        let shown = url.as_str().to_owned();
        let pause = self.gate.pause_at(Utc::now().timestamp());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
            self.gate.window_passed();
        }
        let mut request = self
            .http
            .get(url.clone())
            .header(USER_AGENT, concat!("cicd-dashboard/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = &self.token {
            request = match self.token_type {
                GitLabTokenType::Private => request.header("PRIVATE-TOKEN", token.expose()),
                GitLabTokenType::Oauth => request.header(AUTHORIZATION, format!("Bearer {}", token.expose())),
            };
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let transport =
            |err: reqwest::Error| ApiError::Transport { url: shown.clone(), message: err.to_string() };
        let response = request.send().await.map_err(transport)?;
        self.gate.observe(reading(response.headers()));
        match response.status() {
            s if s.is_success() => read_tail(response, cap).await.map_err(transport),
            StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized(shown)),
            StatusCode::FORBIDDEN => Err(ApiError::Forbidden(shown)),
            StatusCode::NOT_FOUND => Err(ApiError::NotFound(shown)),
            s => Err(ApiError::Status {
                url: shown,
                status: s.as_u16(),
                message: s.canonical_reason().unwrap_or("error").to_owned(),
            }),
        }
    }
}
