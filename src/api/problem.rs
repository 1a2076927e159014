//! RFC 9457 problem details: every error answer of the API is one of these,
//! `Content-Type: application/problem+json` with `type`, `title`, `status`,
//! `detail`. 5xx answers say nothing internal; the cause is logged here once.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ingest::service::IngestError;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    /// Short slug, answered as `type` = `urn:cicd-dashboard:problem:<slug>`.
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Field-level errors (an RFC 9457 extension member), answered as
    /// `"errors": [{"field", "message"}]` when not empty.
    pub errors: Vec<FieldProblem>,
    /// `Retry-After` in whole seconds (503 answers default to 5).
    pub retry_after: Option<u64>,
    /// The cause was logged where it arose ([`Problem::logged`]): the HTTP
    /// trace does not log this 5xx answer again as a failure.
    pub logged: bool,
}

/// A response extension on a 5xx answer whose cause was logged where it
/// arose (once, or as a warning): the HTTP trace (`startup`) leaves it out
/// of its failure log, so a known state such as "no webhook secret is
/// configured" does not print an ERROR line per request.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyLogged;

/// One invalid field of a request body: its JSON path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldProblem]>::is_empty")]
    errors: &'a [FieldProblem],
}

/// The RFC 9457 problem document every error answer carries
/// (`application/problem+json`), as the OpenAPI document shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// `urn:cicd-dashboard:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong and what to do.
    pub detail: String,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            logged: false,
        }
    }

    /// Marks the answer's cause as logged already (see [`AlreadyLogged`]).
    pub fn logged(self) -> Self {
        Problem { logged: true, ..self }
    }

    /// 422: a request body has invalid fields, each listed in `errors`.
    pub fn invalid_fields(detail: impl Into<String>, errors: Vec<FieldProblem>) -> Self {
        Problem {
            errors,
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-fields", "Invalid fields", detail)
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(slug: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    /// 404: nothing at this id or path.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 422: a parameter is out of range or not understood.
    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-parameter", "Invalid parameter", detail)
    }

    /// 401: authentication is missing or wrong.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    /// 403: authenticated, but the role does not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: format!("urn:cicd-dashboard:problem:{}", self.slug),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.logged {
            response.extensions_mut().insert(AlreadyLogged);
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            tracing::warn!(error = %err, "database unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unavailable",
                "Service unavailable",
                "the database is not answering; try again shortly",
            )
            .logged()
        } else {
            tracing::error!(error = %err, "database error");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "the server failed; the cause is in its log",
            )
            .logged()
        }
    }
}

impl From<IngestError> for Problem {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::Payload(err) => Problem::bad_request("invalid-payload", err.0),
            IngestError::Store(err) => err.into(),
        }
    }
}

/// Answer for any path no route matches.
pub async fn not_found_fallback(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("no resource at {}", uri.path()))
}

/// Answer for a known path called with the wrong method.
pub async fn method_not_allowed_fallback(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
