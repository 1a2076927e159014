//! `GET /api/builds/export?format=csv|json&<filters of /api/builds>`: every
//! attempt the filter matches (up to [`MAX_ROWS`]), in the list's order, as
//! a download. CSV cells that a spreadsheet would run as a formula (text
//! starting with `=`, `+`, `-`, `@`, tab or carriage return) get a leading
//! `'`; the JSON export keeps values as they are.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::builds::filter_and_sort;
use super::dto::BuildJson;
use super::params::Params;
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;

/// `GET /api/builds/export` (read role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(OpenApiRouter::new().routes(routes!(export)), Role::Read, state)
}

/// Most attempts one export holds; a larger match answers the first ones
/// with `X-Export-Truncated: true`.
pub const MAX_ROWS: i64 = 100_000;

/// The CSV columns: the Build fields, in the API's order (`flaky` last).
const COLUMNS: [&str; 22] = [
    "id",
    "provider_kind",
    "external_id",
    "repo",
    "workflow",
    "workflow_id",
    "run_number",
    "run_attempt",
    "event",
    "branch",
    "commit_sha",
    "triggered_by",
    "url",
    "status",
    "provider_status",
    "conclusion",
    "created_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "queue_seconds",
    "flaky",
];

#[derive(Serialize)]
struct ExportJson {
    builds: Vec<BuildJson>,
    truncated: bool,
}

/// The export (see the module doc); 422 on a bad `format` or filter.
#[utoipa::path(get, path = "/api/builds/export", tag = "builds",
    description = "The builds the filter selects, as a CSV or JSON download (at most 100 000 rows).",
    params(
        ("format" = Option<String>, Query, description = "`csv` (default) or `json`", pattern = "^(csv|json)?$"),
        super::builds::FilterParams,
    ),
    responses((status = 200, description = "CSV (the default) or, with format=json, `{builds: [Build], truncated}`", content((String = "text/csv"), (Object = "application/json"))), QueryProblems),
    security((), ("token" = [])))]
pub async fn export(State(state): State<AppState>, params: Params) -> Result<Response, Problem> {
    let format = params.text("format").unwrap_or_else(|| "csv".to_owned());
    if format != "csv" && format != "json" {
        return Err(Problem::invalid_parameter(format!(
            "format must be \"csv\" or \"json\", got {format:?}"
        )));
    }
    let (filter, sort) = filter_and_sort(&params)?;
    let (records, truncated) = state.store.builds().export_builds(&filter, sort, MAX_ROWS).await?;
    let ids: Vec<i64> = records.iter().map(|b| b.id).collect();
    let flaky = state.store.flaky().flaky_builds(&ids).await?;
    let builds: Vec<BuildJson> = records
        .iter()
        .map(|b| BuildJson { flaky: Some(flaky.contains(&b.id)), ..BuildJson::from(b) })
        .collect();
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut headers = HeaderMap::new();
    let disposition = format!("attachment; filename=\"builds-{stamp}.{format}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert("x-export-truncated", HeaderValue::from_static(if truncated { "true" } else { "false" }));
    if format == "json" {
        return Ok((headers, Json(ExportJson { builds, truncated })).into_response());
    }
    let body = to_csv(&builds).map_err(|err| {
        tracing::error!(error = %err, "CSV export failed");
        Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server failed; the cause is in its log",
        )
    })?;
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok((headers, body).into_response())
}

fn to_csv(builds: &[BuildJson]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for b in builds {
        let text = |v: &Option<String>| v.as_deref().map(defuse).unwrap_or_default();
        let int = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        writer.write_record([
            b.id.to_string(),
            b.provider_kind.to_owned(),
            defuse(&b.external_id),
            defuse(&b.repo),
            text(&b.workflow),
            int(b.workflow_id),
            int(b.run_number),
            b.run_attempt.to_string(),
            text(&b.event),
            text(&b.branch),
            text(&b.commit_sha),
            text(&b.triggered_by),
            text(&b.url),
            b.status.as_str().to_owned(),
            defuse(&b.provider_status),
            text(&b.conclusion),
            text(&b.created_at),
            text(&b.started_at),
            text(&b.finished_at),
            int(b.duration_seconds),
            int(b.queue_seconds),
            b.flaky.unwrap_or(false).to_string(),
        ])?;
    }
    writer.into_inner().map_err(|err| csv::Error::from(err.into_error()))
}

/// Prefixes `'` to text a spreadsheet would treat as a formula.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::defuse;

    #[test]
    fn formula_like_text_is_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("-1+2"), "'-1+2");
        assert_eq!(defuse("main"), "main");
    }
}
