//! `GET /api/dora` (the four keys of a window, their levels, and the
//! window before) and `GET /api/dora/timeseries` (the keys per local day
//! or ISO week in the viewer's time zone). Read role. Definitions in
//! `crate::metrics::dora` and the README. Both sum the stored facts in
//! SQL (`dora_sums`) unless a deployment rule is in scope (then the
//! streams are walked: `dora_inputs`).

use std::str::FromStr;

use crate::store::StoreError;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::dora_inputs::{Scope, load_walked, rule_runs_in_scope};
use super::dora_sums::summed;
use super::params::{Params, Window};
use super::problem::Problem;
use super::responses::QueryProblems;
use crate::auth::Role;
use crate::domain::time::format_timestamp;
use crate::metrics::dora::{DoraFigures, figures};
use crate::metrics::timeseries::day_buckets;

pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    super::guarded(
        OpenApiRouter::new().routes(routes!(dora)).routes(routes!(dora_timeseries)),
        Role::Read,
        state,
    )
}

/// The four keys of a window and of the window before it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoraJson {
    pub window_days: u32,
    pub tz: String,
    pub repo: Option<String>,
    /// The environment asked for; `null`: the production environments.
    pub environment: Option<String>,
    /// The `--production-environments` globs.
    pub production_environments: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub provider: Option<&'static str>,
    pub from: String,
    pub to: String,
    pub current: DoraFigures,
    /// The same figures for the window just before (for the trend).
    pub previous: DoraFigures,
}

fn tz(params: &Params) -> Result<Tz, Problem> {
    let name = params.text("tz").unwrap_or_else(|| "UTC".to_owned());
    Tz::from_str(&name).map_err(|_| {
        Problem::invalid_parameter(format!(
            "tz must be an IANA time zone name such as \"Europe/Berlin\" or \"UTC\", got {name:?}"
        ))
    })
}

/// `window_days` 1–365 (default 7), `environment` (exact name; default
/// the production environments), `repo`, `provider`, `tz` (days counted
/// for the share of days with a deployment). 422 on a bad parameter.
#[utoipa::path(get, path = "/api/dora", tag = "delivery",
    description = "The four DORA keys of the window ending now and of the window before: deployment frequency, \
        lead time for changes (median, p90), change failure rate, time to restore (median), each with its \
        DORA level (elite/high/medium/low). Definitions in the README.",
    params(
        Window,
        ("environment" = Option<String>, Query, description = "One environment by exact name (default: the production environments)"),
        ("repo" = Option<String>, Query, description = "Only this repository (exact)"),
        ("provider" = Option<String>, Query, description = "Only this provider kind, e.g. github"),
        ("tz" = Option<String>, Query, description = "IANA time zone for days (default UTC)"),
    ),
    responses((status = 200, body = DoraJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn dora(
    State(state): State<AppState>,
    Window { window_days }: Window,
    params: Params,
) -> Result<Json<DoraJson>, Problem> {
    let tz = tz(&params)?;
    let scope = Scope::from_params(&params)?;
    let to = crate::domain::time::end_of_second(Utc::now());
    let from = to - Duration::days(i64::from(window_days));
    let previous_from = from - Duration::days(i64::from(window_days));
    let spans = [(previous_from, from), (from, to)];
    let answer = match rule_runs_in_scope(&state, &scope, previous_from, to).await? {
        None => summed(&state, &scope, tz, &spans).await?,
        Some(runs) => {
            let inputs = load_walked(&state, &scope, runs, previous_from, to).await?;
            spans
                .iter()
                .map(|(start, end)| figures(&inputs.deploys, &inputs.history, *start, *end, tz))
                .collect()
        }
    };
    let mut answer = answer.into_iter();
    let (Some(previous), Some(current)) = (answer.next(), answer.next()) else {
        // The shared 500 (logged once, as every store invariant is).
        return Err(StoreError::Invariant("the two windows' figures were not both computed".into()).into());
    };
    Ok(Json(DoraJson {
        window_days,
        tz: tz.name().to_owned(),
        repo: scope.repo,
        environment: scope.environment,
        production_environments: state.delivery.production.names(),
        provider: scope.provider.map(|p| p.kind()),
        from: format_timestamp(from),
        to: format_timestamp(to),
        current,
        previous,
    }))
}

/// One bucket of the series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoraBucket {
    /// `YYYY-MM-DD` (day) or `YYYY-Www` (ISO week), local.
    pub label: String,
    pub start: String,
    pub end: String,
    #[serde(flatten)]
    pub figures: DoraFigures,
}

/// The series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoraSeriesJson {
    pub window_days: u32,
    /// `day` or `week`.
    pub bucket: &'static str,
    pub tz: String,
    pub repo: Option<String>,
    pub environment: Option<String>,
    pub buckets: Vec<DoraBucket>,
}

/// Local ISO weeks (Monday 00:00 to Monday 00:00) covering the last
/// `days` local days, oldest first.
fn week_buckets(tz: Tz, now: DateTime<Utc>, days: u32) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
    let days_back = day_buckets(tz, now, days);
    let mut out: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for day in days_back {
        let week = day.date.iso_week();
        let label = format!("{}-W{:02}", week.year(), week.week());
        match out.last_mut() {
            Some(last) if last.0 == label => last.2 = day.end,
            _ => out.push((label, day.start, day.end)),
        }
    }
    out
}

/// `window_days` 1–365 (default 28), `bucket` `day` or `week` (ISO weeks,
/// Monday first), `tz`, and the scope of `/api/dora`.
#[utoipa::path(get, path = "/api/dora/timeseries", tag = "delivery",
    description = "The four DORA keys per local day or ISO week in the viewer's time zone (the first and last \
        week may be partial: each covers only the window's days).",
    params(
        ("window_days" = Option<u32>, Query, description = "Days, 1–365 (default 28)", minimum = 1, maximum = 365),
        ("bucket" = Option<String>, Query, description = "`day` (default) or `week`", pattern = "^(day|week)?$"),
        ("tz" = Option<String>, Query, description = "IANA time zone (default UTC)"),
        ("environment" = Option<String>, Query, description = "One environment by exact name (default: the production environments)"),
        ("repo" = Option<String>, Query, description = "Only this repository (exact)"),
        ("provider" = Option<String>, Query, description = "Only this provider kind, e.g. github"),
    ),
    responses((status = 200, body = DoraSeriesJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn dora_timeseries(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<DoraSeriesJson>, Problem> {
    let window_days = params.int_in("window_days", 28, 1, 365)? as u32;
    let bucket = match params.text("bucket").as_deref() {
        None | Some("day") => "day",
        Some("week") => "week",
        Some(other) => {
            return Err(Problem::invalid_parameter(format!(
                "bucket must be \"day\" or \"week\", got {other:?}"
            )));
        }
    };
    let tz = tz(&params)?;
    let scope = Scope::from_params(&params)?;
    let now = crate::domain::time::end_of_second(Utc::now());
    let spans: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = match bucket {
        "week" => week_buckets(tz, now, window_days),
        _ => day_buckets(tz, now, window_days)
            .into_iter()
            .map(|d| (d.date.to_string(), d.start, d.end))
            .collect(),
    };
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
        return Err(Problem::invalid_parameter("no day of that window can be represented"));
    };
    let bounds: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        spans.iter().map(|(_, start, end)| (*start, *end)).collect();
    let answers = match rule_runs_in_scope(&state, &scope, first.1, last.2).await? {
        None => summed(&state, &scope, tz, &bounds).await?,
        Some(runs) => {
            let inputs = load_walked(&state, &scope, runs, first.1, last.2).await?;
            bounds
                .iter()
                .map(|(start, end)| figures(&inputs.deploys, &inputs.history, *start, *end, tz))
                .collect()
        }
    };
    let mut buckets = Vec::with_capacity(spans.len());
    for ((label, start, end), figures) in spans.iter().zip(answers) {
        buckets.push(DoraBucket {
            label: label.clone(),
            start: format_timestamp(*start),
            end: format_timestamp(*end),
            figures,
        });
    }
    Ok(Json(DoraSeriesJson {
        window_days,
        bucket,
        tz: tz.name().to_owned(),
        repo: scope.repo,
        environment: scope.environment,
        buckets,
    }))
}
