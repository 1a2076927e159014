//! What a REST call answers: a page of data (or "not modified"), or why
//! not ([`ApiError`]).

use url::Url;

/// Why a request failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("GitHub answered 401 Unauthorized for {0}: check the token or app credentials")]
    Unauthorized(String),
    #[error("GitHub answered 404 Not Found for {0}")]
    NotFound(String),
    #[error("GitHub answered 410 Gone for {0}")]
    Gone(String),
    #[error("GitHub answered 422 for {url}: {message}")]
    Unprocessable { url: String, message: String },
    #[error("GitHub answered {status} for {url}: {message}")]
    Status { url: String, status: u16, message: String },
    #[error("could not reach GitHub at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("GitHub's answer for {url} was not the expected JSON: {message}")]
    Decode { url: String, message: String },
    #[error("GitHub credentials: {0}")]
    Credentials(String),
}

/// A successful answer.
#[derive(Debug)]
pub enum Answer<T> {
    /// 2xx: the body, its `ETag` and the `Link` `rel="next"` page, if any.
    Fresh { value: T, etag: Option<String>, next: Option<Url> },
    /// 304: unchanged since the `ETag` sent.
    NotModified,
}
