//! The read behind `/api/insights/flaky`: a window's report lines
//! ([`FlakyLines`]) from the per-day roll-up `flaky_days` for the whole
//! UTC days inside the window, merged with the occurrences of its two
//! partial days read from `flaky_occurrences` (the window is
//! `window_days` × 24 h back from now: at most one day of occurrences),
//! plus the workflows' conclusive attempts (`attempts`). What it answers
//! is exactly what the scan of the window's occurrences (`Flaky::window`)
//! sums to; the roll-up is summed in the database, and only each line's
//! 3 day rows with the newest examples are read.
//!
//! Owns these queries; must not know what the figures mean.

use std::collections::HashSet;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::attempts::{conclusive_attempts, split};
use super::codec::{COLUMNS, occurrence_from_row};
use super::filter::{FlakyFilter, filter_sql};
use crate::metrics::flaky::{ExampleFacts, FlakyLines, LineKey, LineSums, add_occurrence};
use crate::store::rows::provider_from_id;
use crate::store::{Flaky, StoreError};

impl Flaky<'_> {
    /// The report lines of the occurrences seen in `[start, end)` (Unix
    /// seconds) matching `filter`, with the job key names and the
    /// workflows' conclusive attempts in the same window.
    pub async fn insights(
        &self,
        start: i64,
        end: i64,
        filter: &FlakyFilter,
    ) -> Result<FlakyLines, StoreError> {
        let plan = split(start, end);
        let mut conn = self.read.acquire().await?;
        let mut window = FlakyLines::default();
        if let Some((from, to)) = plan.days {
            days(&mut conn, from, to, filter, &mut window).await?;
        }
        if !plan.edges.is_empty() {
            let (head, tail) = (plan.edges[0], plan.edges.get(1).copied().unwrap_or((0, 0)));
            edges(&mut conn, [head, tail], filter, &mut window).await?;
        }
        if !window.lines.is_empty() {
            window.attempts = conclusive_attempts(&mut conn, start, end, filter).await?;
        }
        Ok(window)
    }
}

/// Adds the roll-up's days `[from, to)`: per line its sums over the days
/// (summed in the database) and the examples of its 3 days with the
/// newest (the line's 3 newest examples are among them).
async fn days(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    filter: &FlakyFilter,
    window: &mut FlakyLines,
) -> Result<(), StoreError> {
    let mut binds = Vec::new();
    let mut where_ = filter_sql(filter, 2, &mut binds);
    if filter.branch.is_some() {
        where_.push_str(" AND branch_null = 0");
    }
    let line = "PARTITION BY provider_id, repo, workflow, key_id";
    let sum = |column: &str| format!("CAST(SUM({column}) OVER ({line}) AS BIGINT) AS {column}");
    let sql = format!(
        "SELECT x.*, k.name AS key_name FROM (SELECT provider_id, repo, workflow, key_id, examples, {}, {}, {}, \
         {}, {}, MAX(last_seen) OVER ({line}) AS last_seen, \
         ROW_NUMBER() OVER ({line} ORDER BY top_at DESC, top_build DESC) AS rn \
         FROM flaky_days WHERE day >= $1 AND day < $2{where_}) AS x \
         LEFT JOIN job_keys k ON k.id = x.key_id WHERE x.rn <= 3",
        sum("occurrences"),
        sum("passed_on_retry"),
        sum("flaky_jobs"),
        sum("failures"),
        sum("wasted_seconds"),
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(from).bind(to);
    for bind in &binds {
        query = query.bind(bind.clone());
    }
    let mut summed = HashSet::new();
    for row in query.fetch_all(&mut *conn).await? {
        let key_id: i64 = row.try_get("key_id")?;
        let key = LineKey {
            provider: provider_from_id(row.try_get("provider_id")?)?,
            repo: row.try_get("repo")?,
            workflow: row.try_get("workflow")?,
            key: (key_id != 0).then_some(key_id),
        };
        let text: String = row.try_get("examples")?;
        let examples: Vec<ExampleFacts> = serde_json::from_str(&text)
            .map_err(|err| StoreError::Invariant(format!("flaky roll-up examples unreadable: {err}")))?;
        let mut part = LineSums { examples, ..LineSums::default() };
        // The sums come on each of the line's rows: taken once.
        if summed.insert(key.clone()) {
            part.occurrences = row.try_get("occurrences")?;
            part.passed_on_retry = row.try_get("passed_on_retry")?;
            part.flaky_jobs = row.try_get("flaky_jobs")?;
            part.failures = row.try_get("failures")?;
            part.wasted_seconds = row.try_get("wasted_seconds")?;
            part.last_seen = row.try_get("last_seen")?;
            if let (Some(id), Some(name)) = (key.key, row.try_get::<Option<String>, _>("key_name")?) {
                window.key_names.insert(id, name);
            }
        }
        window.lines.entry(key).or_default().merge(part);
    }
    Ok(())
}

/// Adds the occurrences seen in the two second ranges `edges` (one may be
/// empty).
async fn edges(
    conn: &mut AnyConnection,
    edges: [(i64, i64); 2],
    filter: &FlakyFilter,
    window: &mut FlakyLines,
) -> Result<(), StoreError> {
    let mut binds = Vec::new();
    let where_ = filter_sql(filter, 4, &mut binds);
    let sql = format!(
        "SELECT f.provider_id, f.repo, {}, k.name AS key_name FROM flaky_occurrences f \
         LEFT JOIN job_keys k ON k.id = f.key_id \
         WHERE ((f.seen_at >= $1 AND f.seen_at < $2) OR (f.seen_at >= $3 AND f.seen_at < $4)){}",
        COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", "),
        where_.replace(" AND ", " AND f.")
    );
    let mut query =
        sqlx::query(AssertSqlSafe(sql)).bind(edges[0].0).bind(edges[0].1).bind(edges[1].0).bind(edges[1].1);
    for bind in &binds {
        query = query.bind(bind.clone());
    }
    for row in query.fetch_all(&mut *conn).await? {
        let o = occurrence_from_row(&row)?;
        if let (Some(key), Some(name)) = (o.key_id, row.try_get::<Option<String>, _>("key_name")?) {
            window.key_names.insert(key, name);
        }
        let provider = provider_from_id(row.try_get("provider_id")?)?;
        let repo: String = row.try_get("repo")?;
        add_occurrence(&mut window.lines, provider, &repo, &o);
    }
    Ok(())
}
