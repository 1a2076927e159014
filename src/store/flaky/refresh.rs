//! Keeping `flaky_occurrences` in step with the write path: before a write
//! transaction commits, every commit group touched by its events is read
//! (its attempts and their jobs), [`detect`] is run on it, and the stored
//! occurrences of the group are replaced when they differ.
//!
//! A commit group of a build is the attempts of the same provider and
//! repository that are in the same run, or on the same commit SHA in the
//! same workflow (the latest 100 of those: a schedule on an unchanged
//! branch builds one SHA for months, and a group is read on every write).
//! A group of one attempt can hold no occurrence and is passed over after
//! one look-up. On PostgreSQL the group is locked (an
//! advisory transaction lock on its SHA, or its run without one), so two
//! replicas never interleave the replacement of one group.
//!
//! Every day cell a replaced or a new occurrence falls in has its roll-up
//! rows recomputed (`days`) once all the groups are done, in the same
//! transaction.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::codec::{insert_occurrence, occurrence_from_row};
use super::days::{Cell, recompute};
use crate::domain::flaky::{AttemptFacts, JobFacts, Occurrence, Outcome, detect};
use crate::store::{Backend, ChangeEvent, StoreError};

/// One changed build's group identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    provider_id: i64,
    repo: String,
    run_id: String,
    commit_sha: Option<String>,
    workflow: Option<String>,
}

impl Group {
    /// The lock key: the SHA and workflow when both are known, else the run.
    fn lock_key(&self) -> String {
        match (&self.commit_sha, &self.workflow) {
            (Some(sha), Some(workflow)) => {
                format!("flaky:{}:{}:{workflow}:{sha}", self.provider_id, self.repo)
            }
            _ => format!("flaky:{}:{}:run:{}", self.provider_id, self.repo, self.run_id),
        }
    }
}

/// Most attempts of one workflow on one SHA a group takes (the latest by
/// start): a schedule on an unchanged branch builds one SHA for months.
const COMMIT_CAP: i64 = 100;

const BUILD_COLUMNS: &str =
    "id, external_id, run_attempt, workflow, commit_sha, branch, status, duration_seconds, sort_at";

/// Refreshes the occurrences of every group that `events` touch, on `conn`
/// inside the caller's write transaction (see the module).
///
/// Errors: SQL failures (the whole transaction then fails).
pub(crate) async fn refresh(
    conn: &mut AnyConnection,
    backend: Backend,
    events: &[ChangeEvent],
) -> Result<(), StoreError> {
    let builds: BTreeSet<i64> = events
        .iter()
        .filter_map(|event| match event {
            ChangeEvent::Build { id } => Some(*id),
            ChangeEvent::Job { build_id, .. } => Some(*build_id),
            ChangeEvent::Alert { .. } | ChangeEvent::Deployment { .. } | ChangeEvent::Incident { .. } => None,
        })
        .collect();
    let mut groups = BTreeSet::new();
    for chunk in builds.into_iter().collect::<Vec<_>>().chunks(100) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT provider_id, repo, external_id, commit_sha, workflow FROM builds WHERE id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            groups.insert(Group {
                provider_id: row.try_get("provider_id")?,
                repo: row.try_get("repo")?,
                run_id: row.try_get("external_id")?,
                commit_sha: row.try_get("commit_sha")?,
                workflow: row.try_get("workflow")?,
            });
        }
    }
    let mut done = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for group in &groups {
        let key = group.lock_key();
        if done.insert(key.clone()) {
            crate::store::alerts::lock_key(conn, backend, &key).await?;
            refresh_group(conn, group, &mut cells).await?;
        }
    }
    recompute(conn, backend, &cells).await
}

/// Replaces the group's stored occurrences when they differ from what
/// [`detect`] finds, adding the day cells of both to `cells`.
async fn refresh_group(
    conn: &mut AnyConnection,
    group: &Group,
    cells: &mut BTreeSet<Cell>,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {BUILD_COLUMNS} FROM builds WHERE provider_id = $1 AND repo = $2 AND external_id = $3 \
         UNION SELECT * FROM (SELECT {BUILD_COLUMNS} FROM builds WHERE provider_id = $1 AND repo = $2 \
         AND commit_sha = $4 AND workflow = $5 ORDER BY sort_at DESC, id DESC LIMIT {COMMIT_CAP}) AS latest"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(group.provider_id)
        .bind(&group.repo)
        .bind(&group.run_id)
        .bind(&group.commit_sha)
        .bind(&group.workflow)
        .fetch_all(&mut *conn)
        .await?;
    if rows.len() < 2 {
        return Ok(());
    }
    let attempts = rows
        .iter()
        .map(|row| {
            Ok(AttemptFacts {
                build_id: row.try_get("id")?,
                run_id: row.try_get("external_id")?,
                run_attempt: row.try_get("run_attempt")?,
                workflow: row.try_get("workflow")?,
                commit_sha: row.try_get("commit_sha")?,
                branch: row.try_get("branch")?,
                outcome: Outcome::of_status(&row.try_get::<String, _>("status")?),
                duration_seconds: row.try_get("duration_seconds")?,
                sort_at: row.try_get("sort_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let ids: Vec<i64> = attempts.iter().map(|a| a.build_id).collect();
    let jobs = group_jobs(conn, &ids).await?;
    let found = detect(&attempts, &jobs);
    let runs: BTreeSet<&str> = attempts.iter().map(|a| a.run_id.as_str()).collect();
    let (where_, binds) = stored_where(group, &runs);
    let mut stored = read_stored(conn, &where_, &binds).await?;
    stored.sort();
    if stored == found {
        return Ok(());
    }
    let mut delete = sqlx::query(AssertSqlSafe(format!("DELETE FROM flaky_occurrences WHERE {where_}")));
    for bind in &binds {
        delete = delete.bind(bind.clone());
    }
    delete.execute(&mut *conn).await?;
    for occurrence in stored.iter().chain(&found) {
        cells.insert(Cell::of(group.provider_id, &group.repo, occurrence));
    }
    for occurrence in &found {
        insert_occurrence(conn, group.provider_id, &group.repo, occurrence).await?;
    }
    Ok(())
}

/// The jobs of the attempts `ids` (a group holds a handful of attempts).
async fn group_jobs(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<JobFacts>, StoreError> {
    let mut jobs = Vec::new();
    for chunk in ids.chunks(100) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, build_id, key_id, name, status, started_at, completed_at FROM jobs \
             WHERE build_id IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            jobs.push(JobFacts {
                job_id: row.try_get("id")?,
                build_id: row.try_get("build_id")?,
                key_id: row.try_get("key_id")?,
                name: row.try_get("name")?,
                outcome: Outcome::of_status(&row.try_get::<String, _>("status")?),
                started_at: row.try_get("started_at")?,
                completed_at: row.try_get("completed_at")?,
            });
        }
    }
    Ok(jobs)
}

/// The stored rows of a group: its runs' retry and job occurrences, and
/// the commit occurrence of its SHA and workflow. Binds are text.
fn stored_where(group: &Group, runs: &BTreeSet<&str>) -> (String, Vec<String>) {
    let mut binds = vec![group.repo.clone()];
    let marks: Vec<String> = runs
        .iter()
        .map(|run| {
            binds.push(run.to_string());
            format!("${}", binds.len())
        })
        .collect();
    // provider_id is an integer from the database, formatted in.
    let mut where_ =
        format!("provider_id = {} AND repo = $1 AND (run_id IN ({})", group.provider_id, marks.join(", "));
    if let (Some(sha), Some(workflow)) = (&group.commit_sha, &group.workflow) {
        binds.push(sha.clone());
        binds.push(workflow.clone());
        where_.push_str(&format!(
            " OR (kind = 'commit' AND commit_sha = ${} AND workflow = ${})",
            binds.len() - 1,
            binds.len()
        ));
    }
    where_.push(')');
    (where_, binds)
}

async fn read_stored(
    conn: &mut AnyConnection,
    where_: &str,
    binds: &[String],
) -> Result<Vec<Occurrence>, StoreError> {
    let sql = format!("SELECT {} FROM flaky_occurrences WHERE {where_}", super::codec::COLUMNS);
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for bind in binds {
        query = query.bind(bind.clone());
    }
    query.fetch_all(&mut *conn).await?.iter().map(occurrence_from_row).collect()
}
