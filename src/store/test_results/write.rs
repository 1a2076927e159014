//! Storing one upload: every report file of one run attempt's job, in one
//! transaction, so a failure leaves nothing half-stored.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{MAX_FAILURE_TEXTS_PER_FILE, insights_cache, rollup_write};
use crate::domain::{ProviderKind, RepoName, RunAttempt, RunStatus, TestExecution};
use crate::store::{ChangeEvent, StoreError, TestResults};

/// Which run attempt an upload belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey {
    pub provider: ProviderKind,
    pub repo: RepoName,
    pub run_id: String,
    pub run_attempt: i64,
}

/// One report file of an upload, already read.
#[derive(Debug, Clone)]
pub struct ReportFile {
    /// The name the sender gave (a multipart file name), if any.
    pub file_name: Option<String>,
    /// SHA-256 of the file's bytes as sent (after gzip decoding), hex.
    pub digest: String,
    pub executions: Vec<TestExecution>,
}

/// What became of one report file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored now.
    Applied,
    /// The same file was already stored for this attempt and job; nothing changed.
    Duplicate,
}

impl UploadOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadOutcome::Applied => "applied",
            UploadOutcome::Duplicate => "duplicate",
        }
    }
}

/// Rows per multi-row statement (5 binds each: well under both back ends'
/// parameter limits).
const CHUNK: usize = 500;

impl TestResults<'_> {
    /// Stores `files` for `job_name` of the attempt `key` in one
    /// transaction: the attempt's build row (a placeholder the run's
    /// delivery later completes, when it has not arrived), each file's
    /// upload row (a file already stored for this attempt and job is a
    /// duplicate and adds nothing), the tests it names in the dictionary,
    /// and its executions. Answers the build id and each file's outcome, in
    /// order.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or
    /// busy; nothing was stored then.
    pub async fn record_upload(
        &self,
        key: &AttemptKey,
        job_name: &str,
        files: &[ReportFile],
    ) -> Result<(i64, Vec<UploadOutcome>), StoreError> {
        let now = Utc::now().timestamp();
        let mut tx = self.begin_write().await?;
        let mut events = Vec::new();
        let placeholder = placeholder_attempt(key);
        let build_id = self.writer.ensure_attempt(&mut tx, &placeholder, now, &mut events).await?;
        let mut outcomes = Vec::with_capacity(files.len());
        for file in files {
            outcomes.push(store_file(&mut tx, &key.repo, build_id, job_name, file, now).await?);
        }
        if outcomes.contains(&UploadOutcome::Applied) {
            insights_cache::bump_day(&mut tx, key.repo.as_str(), now.div_euclid(86_400)).await?;
        }
        tx.commit().await?;
        if outcomes.contains(&UploadOutcome::Applied) {
            events.push(ChangeEvent::Build { id: build_id });
            events.dedup();
            super::insights_refresh::poke(self);
        }
        self.publish_committed(&events);
        Ok((build_id, outcomes))
    }
}

/// The least an upload says about its attempt: that it exists
/// (`tests_reported`, no times: neither running nor finished in any figure),
/// so any real run or job delivery replaces it (it ranks below every
/// provider status, [`RunStatus::rank`]).
fn placeholder_attempt(key: &AttemptKey) -> RunAttempt {
    RunAttempt {
        provider: key.provider,
        repo: key.repo.clone(),
        run_id: key.run_id.clone(),
        run_attempt: key.run_attempt,
        workflow: None,
        workflow_id: None,
        run_number: None,
        event: None,
        branch: None,
        commit_sha: None,
        triggered_by: None,
        url: None,
        provider_status: RunStatus::TestsReported,
        conclusion: None,
        created_at: None,
        started_at: None,
        updated_at: None,
        first_job_started_at: None,
    }
}

async fn store_file(
    conn: &mut AnyConnection,
    repo: &RepoName,
    build_id: i64,
    job_name: &str,
    file: &ReportFile,
    now: i64,
) -> Result<UploadOutcome, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO test_uploads (build_id, job_name, file_digest, file_name, cases, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (build_id, job_name, file_digest) DO NOTHING RETURNING id",
    )
    .bind(build_id)
    .bind(job_name)
    .bind(&file.digest)
    .bind(file.file_name.as_deref())
    .bind(i64::try_from(file.executions.len()).unwrap_or(i64::MAX))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = inserted else {
        return Ok(UploadOutcome::Duplicate);
    };
    let upload_id: i64 = row.try_get("id")?;
    let ids = test_ids(conn, repo, &file.executions, now).await?;
    let all: Vec<(&TestExecution, i64)> = file.executions.iter().zip(ids).collect();
    rollup_write::add_to_days(conn, now.div_euclid(86_400), job_name, &all).await?;
    let (passing, failing): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(execution, _)| !execution.outcome.is_failure());
    for chunk in passing.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO test_executions (upload_id, test_id, outcome, duration_ms, reruns) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 5);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution, test_id) in chunk {
            query = query
                .bind(upload_id)
                .bind(*test_id)
                .bind(execution.outcome.code())
                .bind(execution.duration_ms)
                .bind(execution.reruns);
        }
        query.execute(&mut *conn).await?;
    }
    for (index, (execution, test_id)) in failing.into_iter().enumerate() {
        let row = sqlx::query(
            "INSERT INTO test_executions (upload_id, test_id, outcome, duration_ms, reruns) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(upload_id)
        .bind(test_id)
        .bind(execution.outcome.code())
        .bind(execution.duration_ms)
        .bind(execution.reruns)
        .fetch_one(&mut *conn)
        .await?;
        let Some(failure) = execution.failure.as_ref().filter(|_| index < MAX_FAILURE_TEXTS_PER_FILE) else {
            continue;
        };
        sqlx::query("INSERT INTO test_failures (id, message, failure_type, details) VALUES ($1, $2, $3, $4)")
            .bind(row.try_get::<i64, _>("id")?)
            .bind(failure.message.as_deref())
            .bind(failure.failure_type.as_deref())
            .bind(failure.details.as_deref())
            .execute(&mut *conn)
            .await?;
    }
    rollup_write::record_flips(conn, upload_id, build_id).await?;
    Ok(UploadOutcome::Applied)
}

/// The dictionary id of each execution's test, in order, adding the tests
/// not seen before.
async fn test_ids(
    conn: &mut AnyConnection,
    repo: &RepoName,
    executions: &[TestExecution],
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    let keys: Vec<String> = executions.iter().map(|e| e.identity.key()).collect();
    let mut known: HashMap<String, i64> = HashMap::with_capacity(keys.len());
    let mut unique: Vec<(usize, &String)> = Vec::new();
    {
        let mut seen = std::collections::HashSet::new();
        for (index, key) in keys.iter().enumerate() {
            if seen.insert(key) {
                unique.push((index, key));
            }
        }
    }
    for chunk in unique.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO test_cases (identity_key, repo, classname, name, file, first_seen) VALUES ",
        );
        push_placeholders(&mut sql, chunk.len(), 6);
        sql.push_str(" ON CONFLICT (identity_key) DO NOTHING");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (index, key) in chunk {
            let identity = &executions[*index].identity;
            query = query
                .bind(key.as_str())
                .bind(repo.as_str())
                .bind(identity.classname.as_deref())
                .bind(identity.name.as_str())
                .bind(identity.file.as_deref())
                .bind(now);
        }
        query.execute(&mut *conn).await?;
        let mut sql = String::from("SELECT id, identity_key FROM test_cases WHERE identity_key IN (");
        for n in 1..=chunk.len() {
            if n > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (_, key) in chunk {
            query = query.bind(key.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            known.insert(row.try_get("identity_key")?, row.try_get("id")?);
        }
    }
    keys.iter()
        .map(|key| {
            known
                .get(key)
                .copied()
                .ok_or_else(|| StoreError::Invariant("a test vanished inside its transaction".into()))
        })
        .collect()
}

/// Appends `rows` groups of `width` numbered placeholders: `($1, $2), ($3, $4)`.
fn push_placeholders(sql: &mut String, rows: usize, width: usize) {
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * width + column + 1));
        }
        sql.push(')');
    }
}
