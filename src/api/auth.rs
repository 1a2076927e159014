//! Authentication of API calls: `Authorization: Bearer <token>` checked
//! against the stored token hashes, and the role each route needs (see
//! `auth` for the roles). Reads are public when `--public-read` is on (the
//! default for a loopback bind); everything else always needs a token.
//! No cookies are used, so there is no CSRF surface.
//!
//! Answers: no or unknown/revoked token → 401 problem (`WWW-Authenticate:
//! Bearer`); a malformed header → 401 saying what is wrong; a token whose
//! role is too small → 403. The caller is put in the request's extensions
//! as [`Caller`] for handlers and the audit log.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::AppState;
use super::problem::Problem;
use crate::auth::{Caller, Role, token_hash};

/// What the `Authorization` header holds.
pub enum Bearer<'h> {
    Absent,
    Malformed,
    Token(&'h str),
}

/// Reads `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Bearer::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Bearer::Malformed;
    };
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            let token = token.trim();
            if token.len() > 200 || !token.chars().all(|c| c.is_ascii_graphic()) {
                Bearer::Malformed
            } else {
                Bearer::Token(token)
            }
        }
        _ => Bearer::Malformed,
    }
}

/// Checks the caller of a route that needs `needed`.
///
/// Errors: 401/403 problems as described in the module doc; 503 when the
/// database is down.
pub async fn authorize(state: &AppState, headers: &HeaderMap, needed: Role) -> Result<Caller, Problem> {
    match bearer(headers) {
        Bearer::Absent if needed == Role::Read && state.public_read => {
            Ok(Caller { name: "anonymous".into(), role: None })
        }
        Bearer::Absent => Err(Problem::unauthorized(format!(
            "this route needs a token with the {} role: send Authorization: Bearer <token> \
             (create one with `cicd-dashboard token create`)",
            needed.as_str()
        ))),
        Bearer::Malformed => Err(Problem::unauthorized(
            "the Authorization header must be `Bearer <token>` with a visible-ASCII token",
        )),
        Bearer::Token(token) => {
            let Some(record) = state.store.tokens().live_token_by_hash(&token_hash(token)).await? else {
                if is_ingest_token(state, token) {
                    return Err(Problem::forbidden(format!(
                        "the ingest token (CICD_INGEST_TOKEN) is accepted by the webhook endpoints, \
                         POST /api/builds/events and POST /api/test-results only; this route needs a token \
                         with the {} role (create one with `cicd-dashboard token create --role {}`)",
                        needed.as_str(),
                        needed.as_str()
                    )));
                }
                return Err(Problem::unauthorized("the token is unknown or revoked"));
            };
            let role = Role::parse(&record.role).unwrap_or(Role::Read);
            if !role.allows(needed) {
                return Err(Problem::forbidden(format!(
                    "token {:?} has the {} role; this route needs {}",
                    record.name,
                    role.as_str(),
                    needed.as_str()
                )));
            }
            let store = state.store.clone();
            tokio::spawn(async move {
                let _ = store.tokens().touch_token(record.id, Utc::now()).await;
            });
            Ok(Caller { name: record.name, role: Some(role) })
        }
    }
}

async fn require(
    state: AppState,
    needed: Role,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let caller = match stream_ticket(&request) {
        Some(ticket) if needed == Role::Read => ticket_caller(&state, &ticket).await?,
        _ => authorize(&state, request.headers(), needed).await?,
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// A `ticket` query parameter on `GET /api/events` without an
/// `Authorization` header (see `tickets`).
fn stream_ticket(request: &Request) -> Option<String> {
    if request.uri().path() != "/api/events"
        || request.headers().contains_key(axum::http::header::AUTHORIZATION)
    {
        return None;
    }
    url::form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
}

/// The caller a ticket stands for. Errors: 401 for an unknown or expired
/// ticket.
async fn ticket_caller(state: &AppState, ticket: &str) -> Result<Caller, Problem> {
    match state.store.tokens().stream_ticket(&token_hash(ticket), Utc::now().timestamp()).await? {
        Some((name, role)) => Ok(Caller { name, role: Role::parse(&role) }),
        None => Err(Problem::unauthorized(
            "the stream ticket is unknown or expired: get a new one from POST /api/events/ticket",
        )),
    }
}

/// Layer body for routes that need `read`.
pub async fn require_read(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Problem> {
    require(state, Role::Read, request, next).await
}

/// Layer body for routes that need `write`.
pub async fn require_write(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Problem> {
    require(state, Role::Write, request, next).await
}

/// Constant-time-enough comparison of bearer tokens: compares SHA-256
/// digests, so timing reveals nothing about the token's characters.
pub(super) fn same_token(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// Whether `token` is the server's ingest token.
fn is_ingest_token(state: &AppState, token: &str) -> bool {
    state.ingest_auth.ingest_token.as_ref().is_some_and(|expected| same_token(token, expected.expose()))
}

/// Layer body for the routes CI senders post to (`POST /api/builds/events`,
/// `POST /api/test-results`): the ingest token, else a token with the
/// `write` role; checked before the body is read.
pub async fn require_sender(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let caller = match bearer(request.headers()) {
        Bearer::Token(token) if is_ingest_token(&state, token) => {
            Caller { name: "ingest token".into(), role: None }
        }
        Bearer::Absent => {
            return Err(Problem::unauthorized(
                "send Authorization: Bearer <token> with the ingest token (--ingest-token, CICD_INGEST_TOKEN) \
                 or a token with the write role (`cicd-dashboard token create --role write`)",
            ));
        }
        Bearer::Malformed => authorize(&state, request.headers(), Role::Write).await?,
        Bearer::Token(_) => match authorize(&state, request.headers(), Role::Write).await {
            Err(problem)
                if problem.status == StatusCode::UNAUTHORIZED && state.ingest_auth.ingest_token.is_none() =>
            {
                return Err(Problem::unauthorized(
                    "the token is unknown or revoked, and this server has no ingest token: to use one, restart \
                     it with --ingest-token (CICD_INGEST_TOKEN); or create a write token with \
                     `cicd-dashboard token create --role write`",
                ));
            }
            other => other?,
        },
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Layer body for routes that need `admin`.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, Problem> {
    require(state, Role::Admin, request, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::AUTHORIZATION, value.parse().expect("header"));
        headers
    }

    #[test]
    fn reads_bearer_tokens_and_refuses_other_shapes() {
        assert!(matches!(bearer(&HeaderMap::new()), Bearer::Absent));
        assert!(matches!(bearer(&headers("Bearer cicd_abc")), Bearer::Token("cicd_abc")));
        assert!(matches!(bearer(&headers("bearer  cicd_abc ")), Bearer::Token("cicd_abc")));
        assert!(matches!(bearer(&headers("Basic dXNlcjpwYXNz")), Bearer::Malformed));
        assert!(matches!(bearer(&headers("Bearer")), Bearer::Malformed));
        assert!(matches!(bearer(&headers("Bearer a b")), Bearer::Malformed));
    }
}
