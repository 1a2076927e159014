//! What a GitLab REST call answers: one page of data and the next page's
//! address, or why not ([`ApiError`]).

use url::Url;

/// Why a request failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error(
        "GitLab answered 401 Unauthorized for {0}: check the token (scope read_api) and --gitlab-token-type"
    )]
    Unauthorized(String),
    #[error("GitLab answered 403 Forbidden for {0}: the token may not read this project's pipelines")]
    Forbidden(String),
    #[error("GitLab answered 404 Not Found for {0}")]
    NotFound(String),
    #[error("GitLab answered {status} for {url}: {message}")]
    Status { url: String, status: u16, message: String },
    #[error("could not reach GitLab at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("GitLab's answer for {url} was not the expected JSON: {message}")]
    Decode { url: String, message: String },
    #[error("GitLab client: {0}")]
    Setup(String),
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub struct Page<T> {
    pub value: T,
    /// The next page (`Link: rel="next"`, else `X-Next-Page`), if any.
    pub next: Option<Url>,
}
