//! The `steps` table: reading a job's (or a build's jobs') steps and
//! writing the ones a delivery changed, one statement per job.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::time::from_unix;
use crate::domain::{Conclusion, RunStatus, Step};
use crate::store::rows::unix;
use crate::store::{Builds, JobRecord, StoreError};

const STEP_COLUMNS: &str = "job_id, number, name, provider_status, conclusion, started_at, completed_at";

fn step_from_row(row: &AnyRow) -> Result<(i64, Step), StoreError> {
    let ts = |column: &str| -> Result<_, StoreError> {
        Ok(row.try_get::<Option<i64>, _>(column)?.and_then(from_unix))
    };
    let step = Step {
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        provider_status: RunStatus::parse(row.try_get("provider_status")?),
        conclusion: row.try_get::<Option<&str>, _>("conclusion")?.map(Conclusion::parse),
        started_at: ts("started_at")?,
        completed_at: ts("completed_at")?,
    };
    Ok((row.try_get("job_id")?, step))
}

/// The stored steps of job row `job_id`, by number.
pub(in crate::store) async fn steps_of_job(
    conn: &mut AnyConnection,
    job_id: i64,
) -> Result<Vec<Step>, StoreError> {
    let sql = format!("SELECT {STEP_COLUMNS} FROM steps WHERE job_id = $1 ORDER BY number");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(job_id).fetch_all(&mut *conn).await?;
    rows.iter().map(|row| step_from_row(row).map(|(_, step)| step)).collect()
}

/// Inserts or replaces `steps` of job row `job_id` (by number), in one
/// statement; nothing when `steps` is empty.
pub(in crate::store) async fn write_steps(
    conn: &mut AnyConnection,
    job_id: i64,
    steps: &[&Step],
) -> Result<(), StoreError> {
    if steps.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO steps (job_id, number, name, provider_status, conclusion, status, started_at, \
         completed_at) VALUES ",
    );
    for i in 0..steps.len() {
        let p = i * 8;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8
        ));
    }
    sql.push_str(
        " ON CONFLICT (job_id, number) DO UPDATE SET name = excluded.name, \
         provider_status = excluded.provider_status, conclusion = excluded.conclusion, \
         status = excluded.status, started_at = excluded.started_at, completed_at = excluded.completed_at",
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for step in steps {
        query = query
            .bind(job_id)
            .bind(step.number)
            .bind(step.name.clone())
            .bind(step.provider_status.as_str().to_owned())
            .bind(step.conclusion.as_ref().map(|c| c.as_str().to_owned()))
            .bind(step.status().as_str())
            .bind(unix(step.started_at))
            .bind(unix(step.completed_at));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

impl Builds<'_> {
    /// Fills in the steps of `jobs` (all of build `build_id`), in one query.
    pub(in crate::store) async fn attach_steps(
        &self,
        build_id: i64,
        jobs: &mut [JobRecord],
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT s.job_id, s.number, s.name, s.provider_status, s.conclusion, s.started_at, \
             s.completed_at FROM steps s JOIN jobs j ON j.id = s.job_id WHERE j.build_id = $1 \
             ORDER BY s.job_id, s.number",
        )
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        for row in &rows {
            let (job_id, step) = step_from_row(row)?;
            if let Some(job) = jobs.iter_mut().find(|j| j.id == job_id) {
                job.job.steps.push(step);
            }
        }
        Ok(())
    }
}
