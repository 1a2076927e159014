//! The request deadline: how long one request may take from its arrival
//! to its answer's headers (a streamed body, such as `/api/events`, is not
//! bounded once its headers are sent). Owns the choice of deadline per
//! route and the 408 problem answered when it passes; knows nothing of
//! what the routes do. A request cut off this way drops its work: an open
//! transaction rolls back, and every write route may be sent again.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::problem::Problem;

/// The deadlines of the server's requests.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// Every request but test-result uploads (`--request-timeout`).
    pub request: Duration,
    /// `POST /api/test-results` (`--upload-timeout`): a large report is
    /// sent, parsed and stored in one request.
    pub upload: Duration,
}

impl Deadlines {
    /// The deadline of a request to `path` with `method`.
    fn of(&self, method: &Method, path: &str) -> Duration {
        match (method, path.trim_end_matches('/')) {
            (&Method::POST, "/api/test-results") => self.upload,
            _ => self.request,
        }
    }
}

/// Answers 408 (problem JSON) when the request's deadline passes before
/// the inner service has answered.
pub async fn enforce(State(deadlines): State<Deadlines>, request: Request, next: Next) -> Response {
    let limit = deadlines.of(request.method(), request.uri().path());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            "Request timeout",
            format!(
                "the request was not answered within {} s, so nothing it had not yet committed was kept; \
                 send it again (uploads and events are idempotent), later if the server is busy",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_have_their_own_deadline() {
        let d = Deadlines { request: Duration::from_secs(30), upload: Duration::from_secs(300) };
        assert_eq!(d.of(&Method::POST, "/api/test-results"), Duration::from_secs(300));
        assert_eq!(d.of(&Method::POST, "/api/test-results/"), Duration::from_secs(300));
        assert_eq!(d.of(&Method::GET, "/api/test-results"), Duration::from_secs(30));
        assert_eq!(d.of(&Method::POST, "/api/builds/events"), Duration::from_secs(30));
        assert_eq!(d.of(&Method::GET, "/api/insights/tests"), Duration::from_secs(30));
    }
}
