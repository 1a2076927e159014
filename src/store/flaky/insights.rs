//! The read behind `/api/insights/flaky`: a window's report lines
//! ([`FlakyLines`]) from the per-day roll-up `flaky_days` for the whole
//! UTC days inside the window, merged with the occurrences of its two
//! partial days read from `flaky_occurrences` (the window is
//! `window_days` × 24 h back from now: at most one day of occurrences),
//! plus the workflows' conclusive attempts (`attempts`). What it answers
//! is exactly what the scan of the window's occurrences (`Flaky::window`)
//! sums to; the roll-up is summed in the database, and only each line's
//! 3 day rows with the newest examples are decoded (see `days`).
//!
//! Owns these queries; must not know what the figures mean.

use std::collections::{HashMap, HashSet};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};

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

/// Days at the end of the window whose example rows are all read; older
/// ones only for the lines with fewer than 3 rows in them.
const RECENT_DAYS: i64 = 7;

/// One roll-up row's examples, as read: (top_at, top_build, the JSON list).
type ExampleRow = (i64, i64, String);

/// Adds the roll-up's days `[from, to)`: per line its sums over the days
/// (grouped in the database) and the examples of its 3 day rows with the
/// newest (the line's 3 newest examples are among them). A row's examples
/// are all from its day, so a line's 3 newest rows are its 3 latest with
/// examples: those of the last [`RECENT_DAYS`] are read for every line,
/// older ones only for the lines with fewer there (no ranking in the
/// database), and only the kept rows' lists are decoded.
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
    let line = "provider_id, repo, workflow, key_id";
    let sums = format!(
        "SELECT s.*, k.name AS key_name FROM (SELECT {line}, CAST(SUM(occurrences) AS BIGINT) AS occurrences, \
         CAST(SUM(passed_on_retry) AS BIGINT) AS passed_on_retry, CAST(SUM(flaky_jobs) AS BIGINT) AS flaky_jobs, \
         CAST(SUM(failures) AS BIGINT) AS failures, CAST(SUM(wasted_seconds) AS BIGINT) AS wasted_seconds, \
         MAX(last_seen) AS last_seen, CAST(SUM(CASE WHEN top_at >= 0 THEN 1 ELSE 0 END) AS BIGINT) AS example_rows \
         FROM flaky_days WHERE day >= $1 AND day < $2{where_} GROUP BY {line}) AS s \
         LEFT JOIN job_keys k ON k.id = s.key_id"
    );
    let mut wanted: HashMap<LineKey, i64> = HashMap::new();
    for row in bound(&sums, from, to, &binds).fetch_all(&mut *conn).await? {
        let key = line_key(&row)?;
        if let (Some(id), Some(name)) = (key.key, row.try_get::<Option<String>, _>("key_name")?) {
            window.key_names.insert(id, name);
        }
        wanted.insert(key.clone(), row.try_get::<i64, _>("example_rows")?.min(EXAMPLE_ROWS));
        let part = LineSums {
            occurrences: row.try_get("occurrences")?,
            passed_on_retry: row.try_get("passed_on_retry")?,
            flaky_jobs: row.try_get("flaky_jobs")?,
            failures: row.try_get("failures")?,
            wasted_seconds: row.try_get("wasted_seconds")?,
            last_seen: row.try_get("last_seen")?,
            examples: Vec::new(),
        };
        window.lines.entry(key).or_default().merge(part);
    }
    let rows = format!(
        "SELECT {line}, top_at, top_build, examples FROM flaky_days \
         WHERE day >= $1 AND day < $2 AND top_at >= 0{where_}"
    );
    let recent = from.max(to - RECENT_DAYS);
    let mut kept: HashMap<LineKey, Vec<ExampleRow>> = HashMap::new();
    for row in bound(&rows, recent, to, &binds).fetch_all(&mut *conn).await? {
        keep(
            &mut kept,
            line_key(&row)?,
            (row.try_get("top_at")?, row.try_get("top_build")?, row.try_get("examples")?),
        );
    }
    // The lines with fewer rows read than they have (up to 3): their older rows.
    let short: HashSet<&LineKey> = wanted
        .iter()
        .filter(|(key, n)| kept.get(*key).map_or(0, Vec::len) < usize::try_from(**n).unwrap_or(0))
        .map(|(key, _)| key)
        .collect();
    if recent > from && !short.is_empty() {
        // Job keys by id (integers from the database, formatted in);
        // workflow lines by repository (a superset: extra rows rank out).
        let ids: Vec<String> = short.iter().filter_map(|k| k.key).map(|id| id.to_string()).collect();
        let repos: Vec<String> = short.iter().filter(|k| k.key.is_none()).map(|k| k.repo.clone()).collect();
        let mut lines = Vec::new();
        if !ids.is_empty() {
            lines.push(format!("key_id IN ({})", ids.join(", ")));
        }
        let mut all = binds.clone();
        if !repos.is_empty() {
            let marks: Vec<String> = (0..repos.len()).map(|i| format!("${}", all.len() + 3 + i)).collect();
            lines.push(format!("(key_id = 0 AND repo IN ({}))", marks.join(", ")));
            all.extend(repos);
        }
        let older = format!("{rows} AND ({})", lines.join(" OR "));
        for row in bound(&older, from, recent, &all).fetch_all(&mut *conn).await? {
            let key = line_key(&row)?;
            if short.contains(&&key) {
                keep(
                    &mut kept,
                    key,
                    (row.try_get("top_at")?, row.try_get("top_build")?, row.try_get("examples")?),
                );
            }
        }
    }
    for (key, rows) in kept {
        for (_, _, text) in rows {
            let examples: Vec<ExampleFacts> = serde_json::from_str(&text)
                .map_err(|err| StoreError::Invariant(format!("flaky roll-up examples unreadable: {err}")))?;
            window.lines.entry(key.clone()).or_default().merge(LineSums { examples, ..LineSums::default() });
        }
    }
    Ok(())
}

/// Rows per line whose examples are kept.
const EXAMPLE_ROWS: i64 = 3;

/// Keeps `row` among its line's newest [`EXAMPLE_ROWS`] rows (by their
/// newest example's seen at and passing attempt; rows tied at the cut are
/// all kept, as their further examples may rank either way).
fn keep(kept: &mut HashMap<LineKey, Vec<ExampleRow>>, key: LineKey, row: ExampleRow) {
    let rows = kept.entry(key).or_default();
    rows.push(row);
    rows.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    if let Some(&(at, build, _)) = rows.get(EXAMPLE_ROWS as usize - 1) {
        rows.retain(|r| (r.0, r.1) >= (at, build));
    }
}

/// A statement with the day range `$1`, `$2` and the filter's binds.
fn bound<'q>(sql: &str, from: i64, to: i64, binds: &'q [String]) -> Query<'q, Any, AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql.to_string())).bind(from).bind(to);
    for bind in binds {
        query = query.bind(bind.as_str());
    }
    query
}

/// The report line a roll-up row belongs to.
fn line_key(row: &AnyRow) -> Result<LineKey, StoreError> {
    let key_id: i64 = row.try_get("key_id")?;
    Ok(LineKey {
        provider: provider_from_id(row.try_get("provider_id")?)?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        key: (key_id != 0).then_some(key_id),
    })
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
