//! `POST /api/incidents` (write role): open or resolve a production
//! incident, idempotent by the caller's id. The DORA figures read
//! incidents as failure signals (change failure rate) and outages (time
//! to restore).
//!
//! Body: `{"id", "repository"?, "environment"?, "title"?, "url"?,
//! "opened_at"?, "resolved_at"?, "status"?}` — `status` `open` or
//! `resolved` (`resolved` without `resolved_at` resolves it now, and leaves
//! an incident already resolved as it is);
//! `opened_at` defaults to now (or to `resolved_at` if that is earlier). Repeats merge: the earliest opening and
//! the latest resolution are kept. Answers 201 when created, 200 when an
//! existing incident was updated or unchanged; 400 for a body that is not
//! a JSON object; 422 listing every invalid field.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::incident_list::IncidentItem;
use super::problem::{FieldProblem, Problem};
use super::responses::BodyProblems;
use crate::auth::Role;
use crate::domain::deployment::Incident;
use crate::domain::limits;
use crate::domain::time::parse_timestamp;
use crate::domain::time_bounds;
use crate::store::deployments::IncidentWrite;

const FIELDS: &[&str] =
    &["id", "repository", "environment", "title", "url", "opened_at", "resolved_at", "status"];

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(post_incident)), Role::Write, state)
}

/// An incident as stored, and what the request did to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentJson {
    #[serde(flatten)]
    pub incident: IncidentItem,
    /// `created`, `changed` or `unchanged`.
    pub outcome: &'static str,
}

struct Fields<'a> {
    object: &'a serde_json::Map<String, Value>,
    errors: Vec<FieldProblem>,
}

impl Fields<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldProblem { field: field.to_owned(), message: message.into() });
    }

    fn text(&mut self, field: &str, limit: &str) -> Option<String> {
        self.checked_text(field, limit, "must not be empty (leave it out instead)")
    }

    /// A string when present; `empty` is the message for one of only
    /// white space (the required `id`'s may not say to leave it out).
    fn checked_text(&mut self, field: &str, limit: &str, empty: &str) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => {
                self.fail(field, empty);
                None
            }
            Some(Value::String(text)) => match limits::check(limit, text) {
                Ok(()) => Some(text.clone()),
                Err(message) => {
                    self.fail(field, message);
                    None
                }
            },
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    fn time(&mut self, field: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let text = self.text(field, field)?;
        let at = parse_timestamp(&text)
            .map_err(|_| self.fail(field, format!("must be an RFC 3339 timestamp, got {text:?}")))
            .ok()?;
        match time_bounds::check(at, now) {
            Ok(()) => Some(at),
            Err(range) => {
                self.fail(field, format!("{range}, got {text:?}"));
                None
            }
        }
    }
}

/// Reads the body into an incident (see the module doc).
fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Incident, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| Problem::bad_request("invalid-json", format!("the body is not JSON: {err}")))?;
    let Some(object) = value.as_object() else {
        return Err(Problem::bad_request("invalid-json", "the body must be a JSON object"));
    };
    let mut f = Fields { object, errors: Vec::new() };
    for key in object.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        f.fail(key, format!("unknown field; known fields: {}", FIELDS.join(", ")));
    }
    let id = match object.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
        None | Some(Value::Null) => {
            f.fail("id", "is required (your incident's id: repeats update it)");
            None
        }
        _ => f.checked_text("id", "incident id", "must not be empty (your incident's id: repeats update it)"),
    };
    if let Some(id) = &id
        && !id.bytes().all(|b| b.is_ascii_graphic())
    {
        f.fail("id", "must be visible ASCII characters");
    }
    let repo = f.text("repository", "repository");
    let environment = f.text("environment", "environment");
    let title = f.text("title", "title");
    let url = f.text("url", "url");
    if let Some(text) = &url
        && !url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        f.fail("url", "must be an absolute http(s) URL");
    }
    let opened_at = f.time("opened_at", now);
    let mut resolved_at = f.time("resolved_at", now);
    let mut resolved_now = false;
    match f.text("status", "status").as_deref() {
        None => {}
        Some("open") if resolved_at.is_some() || object.get("resolved_at").is_some_and(|v| !v.is_null()) => {
            f.fail("status", "is \"open\" but resolved_at is given: leave out one of them")
        }
        Some("open") => {}
        Some("resolved") => {
            resolved_now = resolved_at.is_none();
            resolved_at = resolved_at.or(Some(now));
        }
        Some(other) => f.fail("status", format!("must be \"open\" or \"resolved\", got {other:?}")),
    }
    if let (Some(opened), Some(resolved)) = (opened_at, resolved_at)
        && resolved < opened
    {
        f.fail("resolved_at", "must not be before opened_at");
    }
    // Without `opened_at` (e.g. a resolve), the opening is now or the
    // resolution if earlier; a stored incident keeps its earlier opening.
    let opened_at = opened_at.unwrap_or_else(|| resolved_at.map_or(now, |r| r.min(now)));
    match (f.errors.is_empty(), id) {
        (true, Some(incident_id)) => {
            Ok(Incident { incident_id, repo, environment, title, url, opened_at, resolved_at, resolved_now })
        }
        _ => Err(Problem::invalid_fields(format!("{} invalid field(s)", f.errors.len()), f.errors)),
    }
}

/// Opens, updates or resolves an incident by the caller's id.
#[utoipa::path(post, path = "/api/incidents", tag = "delivery",
    description = "Open or resolve a production incident (idempotent by your `id`; repeats keep the earliest \
        opening and the latest resolution). Body: id, repository?, environment?, title?, url?, opened_at?, \
        resolved_at?, status? (open|resolved). Incidents are failure signals for the change failure rate \
        and outages for time to restore. Needs a write-role token.",
    request_body(content = Object, content_type = "application/json", description = "The incident"),
    responses((status = 201, body = IncidentJson, description = "Created"), (status = 200, body = IncidentJson),
        BodyProblems),
    security(("token" = [])))]
pub async fn post_incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IncidentJson>), Problem> {
    super::json_body::require_json(&headers)?;
    let body = body.map_err(|rejection| {
        Problem::new(rejection.status(), "invalid-body", "Bad request body", rejection.to_string())
    })?;
    let now = Utc::now();
    let incident = parse(&body, now)?;
    let (stored, outcome) = state.store.deployments().record_incident(&incident, now.timestamp()).await?;
    let (status, outcome) = match outcome {
        IncidentWrite::Created => (StatusCode::CREATED, "created"),
        IncidentWrite::Changed => (StatusCode::OK, "changed"),
        IncidentWrite::Unchanged => (StatusCode::OK, "unchanged"),
    };
    Ok((status, Json(IncidentJson { incident: IncidentItem::new(stored, now), outcome })))
}
