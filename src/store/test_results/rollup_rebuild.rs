//! Recomputing the per-test roll-ups (`test_daily`, `test_flips`) from the
//! stored executions in one transaction: at startup when executions exist
//! without roll-ups (reports stored before the roll-ups' migration) and
//! after a database copy. Gives exactly what `rollup_write` would have kept
//! upload by upload.

use sqlx::Row;

use crate::store::{Backend, StoreError, TestResults};

const DAILY: &str = "INSERT INTO test_daily (day, test_id, job_name, executions, failures, skipped, timed, \
     total_ms, rerun_passes, durations) \
     SELECT u.received_at / 86400, e.test_id, u.job_name, \
     SUM(CASE WHEN e.outcome <> 3 THEN 1 ELSE 0 END), SUM(CASE WHEN e.outcome IN (1, 2) THEN 1 ELSE 0 END), \
     SUM(CASE WHEN e.outcome = 3 THEN 1 ELSE 0 END), COUNT(e.duration_ms), COALESCE(SUM(e.duration_ms), 0), \
     SUM(CASE WHEN e.outcome = 0 AND e.reruns > 0 THEN 1 ELSE 0 END), COALESCE({LIST}, '') \
     FROM test_executions e JOIN test_uploads u ON u.id = e.upload_id \
     GROUP BY u.received_at / 86400, e.test_id, u.job_name";

const ATTEMPT_FLIPS: &str = "INSERT INTO test_flips (test_id, kind, flip_key, fail_job, pass_job, fail_day, pass_day) \
     SELECT f.test_id, 1, CAST(fb.id AS TEXT), fu.job_name, pu.job_name, MAX(fu.received_at / 86400), \
     MAX(pu.received_at / 86400) \
     FROM test_executions f JOIN test_uploads fu ON fu.id = f.upload_id JOIN builds fb ON fb.id = fu.build_id \
     JOIN builds pb ON pb.provider_id = fb.provider_id AND pb.repo = fb.repo AND pb.external_id = fb.external_id \
     AND pb.run_attempt = fb.run_attempt + 1 \
     JOIN test_uploads pu ON pu.build_id = pb.id \
     JOIN test_executions p ON p.upload_id = pu.id AND p.test_id = f.test_id AND p.outcome = 0 \
     WHERE f.outcome IN (1, 2) GROUP BY f.test_id, fb.id, fu.job_name, pu.job_name";

const COMMIT_FLIPS: &str = "INSERT INTO test_flips (test_id, kind, flip_key, fail_job, pass_job, fail_day, pass_day) \
     SELECT f.test_id, 2, fb.commit_sha, fu.job_name, pu.job_name, MAX(fu.received_at / 86400), \
     MAX(pu.received_at / 86400) \
     FROM test_executions f JOIN test_uploads fu ON fu.id = f.upload_id JOIN builds fb ON fb.id = fu.build_id \
     JOIN builds pb ON pb.repo = fb.repo AND pb.commit_sha = fb.commit_sha \
     JOIN test_uploads pu ON pu.build_id = pb.id \
     JOIN test_executions p ON p.upload_id = pu.id AND p.test_id = f.test_id AND p.outcome = 0 \
     WHERE f.outcome IN (1, 2) AND fb.commit_sha IS NOT NULL \
     GROUP BY f.test_id, fb.commit_sha, fu.job_name, pu.job_name";

impl TestResults<'_> {
    /// Replaces the roll-ups with ones computed from the executions.
    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        let list = match self.backend() {
            Backend::Sqlite => "GROUP_CONCAT(e.duration_ms, ',')",
            Backend::Postgres => "STRING_AGG(CAST(e.duration_ms AS TEXT), ',')",
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM test_daily").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM test_flips").execute(&mut *tx).await?;
        sqlx::query(sqlx::AssertSqlSafe(DAILY.replace("{LIST}", list))).execute(&mut *tx).await?;
        sqlx::query(ATTEMPT_FLIPS).execute(&mut *tx).await?;
        sqlx::query(COMMIT_FLIPS).execute(&mut *tx).await?;
        tx.commit().await?;
        self.invalidate_insights().await
    }

    /// Rebuilds the roll-ups when executions are stored and no roll-up is
    /// (the first start after the roll-ups' migration). Answers whether it did.
    pub async fn rebuild_rollups_if_missing(&self) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM test_executions LIMIT 1) e) AS executions, \
             (SELECT COUNT(*) FROM (SELECT 1 FROM test_daily LIMIT 1) d) AS days",
        )
        .fetch_one(&self.write)
        .await?;
        let executions: i64 = row.try_get("executions")?;
        let days: i64 = row.try_get("days")?;
        if executions == 0 || days > 0 {
            return Ok(false);
        }
        self.rebuild_rollups().await?;
        Ok(true)
    }
}
