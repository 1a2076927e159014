//! Applying a run placed by try numbers (GitLab: a Pipeline Hook, a Job
//! Hook, a polled pipeline with its jobs), under a per-run lock: reads the
//! run's stored jobs and the jobs its stored states listed
//! (`attempt_listings`), moves what an earlier try arriving late puts
//! higher (`domain::tries_replan`), then places the delivery
//! (`domain::tries::place`) and remembers what its state listed. Owns the
//! `attempt_listings` table; the merge rules stay in `domain::merge`.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};

use super::WritePath;
use super::apply::{RunSource, UPDATE_BUILD};
use super::hook::TxHooks;
use crate::domain::merge::merge_run;
use crate::domain::tries::{KnownJob, place};
use crate::domain::tries_replan::{Listing, Replan, replan};
use crate::domain::{Job, ProviderKind, RepoName, RunAttempt, RunStatus, TriedRun};
use crate::store::failures::Refold;
use crate::store::rows::{bind_run, job_columns, job_from_row, provider_id};
use crate::store::{ChangeEvent, StoreError};

/// A run's stored jobs: `(row id, build id, job)`.
type StoredJobs = Vec<(i64, i64, Job)>;

const SELECT_LISTINGS: &str = "SELECT b.run_attempt, l.job_id FROM attempt_listings l \
     JOIN builds b ON b.id = l.build_id \
     WHERE b.provider_id = $1 AND b.repo = $2 AND b.external_id = $3 ORDER BY l.id";

const MOVE_LISTING: &str = "INSERT INTO attempt_listings (build_id, job_id) \
     SELECT $1, job_id FROM attempt_listings WHERE build_id = $2 \
     ON CONFLICT (build_id, job_id) DO NOTHING";

const MOVE_JOB: &str = "UPDATE jobs SET build_id = $1, changed_at = $2 WHERE id = $3";
const MOVE_FAILURE: &str = "UPDATE job_failures SET build_id = $1 WHERE job_id = $2";

/// A removed attempt's day goes stale in the roll-ups through another
/// attempt of the same run (`moved_from`, see `store::rollups`).
const MARK_DAY: &str = "UPDATE builds SET moved_from = COALESCE(moved_from, $1), changed_at = $2 \
     WHERE id = (SELECT MIN(id) FROM builds WHERE provider_id = $3 AND repo = $4 \
     AND external_id = $5 AND id <> $6)";

/// A run's key, as the rows store it.
struct RunKey<'a> {
    provider: ProviderKind,
    repo: &'a RepoName,
    run_id: &'a str,
}

impl WritePath {
    /// Places a run's state and jobs by try numbers (`domain::tries`),
    /// moving what the delivery puts higher first, then applies each as a
    /// run or job change.
    pub(super) async fn apply_tries(
        &self,
        conn: &mut AnyConnection,
        tried: &TriedRun,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        hooks: &mut TxHooks<'_>,
    ) -> Result<(), StoreError> {
        let Some(key) = tried
            .run
            .as_ref()
            .map(|r| RunKey { provider: r.provider, repo: &r.repo, run_id: &r.run_id })
            .or_else(|| {
                tried.jobs.first().map(|j| RunKey { provider: j.provider, repo: &j.repo, run_id: &j.run_id })
            })
        else {
            return Ok(());
        };
        // PostgreSQL: replicas placing the same run's jobs take turns, so
        // each reads the jobs the other stored (SQLite writers are serial).
        let lock = format!("tries:{}:{}:{}", key.provider.kind(), key.repo.as_str(), key.run_id);
        crate::store::alerts::lock_key(conn, self.backend, &lock).await?;
        let mut stored = self.run_jobs(conn, &key).await?;
        let plan = replan(&known(&stored), &self.listings(conn, &key).await?, &tried.jobs);
        if !plan.is_empty() {
            self.make_moves(conn, &key, &plan, now, events, hooks).await?;
            stored = self.run_jobs(conn, &key).await?;
        }
        let (run, jobs) = place(tried, &known(&stored));
        if let Some(run) = &run {
            let build_id = self.apply_run(conn, &[run], RunSource::Run, now, events, hooks).await?;
            for job in &jobs {
                sqlx::query(
                    "INSERT INTO attempt_listings (build_id, job_id) VALUES ($1, $2) \
                     ON CONFLICT (build_id, job_id) DO NOTHING",
                )
                .bind(build_id)
                .bind(&job.job_id)
                .execute(&mut *conn)
                .await?;
            }
        }
        for job in &jobs {
            let implied = RunAttempt::implied_by_job(job);
            let build_id = self.apply_run(conn, &[&implied], RunSource::Jobs, now, events, hooks).await?;
            self.apply_job(conn, build_id, job, now, events).await?;
        }
        Ok(())
    }

    async fn run_jobs(&self, conn: &mut AnyConnection, key: &RunKey<'_>) -> Result<StoredJobs, StoreError> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs j JOIN builds b ON b.id = j.build_id \
             WHERE b.provider_id = $1 AND b.repo = $2 AND b.external_id = $3"
        );
        let rows = sqlx::query(sql)
            .bind(provider_id(key.provider))
            .bind(key.repo.as_str())
            .bind(key.run_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn listings(&self, conn: &mut AnyConnection, key: &RunKey<'_>) -> Result<Vec<Listing>, StoreError> {
        let rows = sqlx::query(SELECT_LISTINGS)
            .bind(provider_id(key.provider))
            .bind(key.repo.as_str())
            .bind(key.run_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut by_attempt: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for row in &rows {
            by_attempt.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
        }
        Ok(by_attempt.into_iter().map(|(run_attempt, job_ids)| Listing { run_attempt, job_ids }).collect())
    }

    /// Moves jobs, then states (highest first), then settles every attempt
    /// that lost something: one whose state left keeps what its remaining
    /// jobs imply, one that lost jobs only gets its first job start again;
    /// one left with no job and no state of its own is removed.
    async fn make_moves(
        &self,
        conn: &mut AnyConnection,
        key: &RunKey<'_>,
        plan: &Replan,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        hooks: &mut TxHooks<'_>,
    ) -> Result<(), StoreError> {
        let stored = self.run_jobs(conn, key).await?;
        let mut lost_jobs: BTreeSet<i64> = BTreeSet::new();
        for (job_id, _, to) in &plan.jobs {
            let Some((id, from_build, job)) = stored.iter().find(|(_, _, j)| &j.job_id == job_id) else {
                continue;
            };
            let moved = Job { run_attempt: *to, ..job.clone() };
            let implied = RunAttempt::implied_by_job(&moved);
            let build_id = self.apply_run(conn, &[&implied], RunSource::Jobs, now, events, hooks).await?;
            sqlx::query(MOVE_JOB).bind(build_id).bind(now).bind(id).execute(&mut *conn).await?;
            // Its failure reason follows it (and the failure roll-up).
            let refold = Refold::start(conn, self.backend, &[*from_build, build_id]).await?;
            sqlx::query(MOVE_FAILURE).bind(build_id).bind(id).execute(&mut *conn).await?;
            refold.finish(conn).await?;
            events.push(ChangeEvent::Job { id: *id, build_id });
            lost_jobs.insert(*from_build);
        }
        let mut lost_state: BTreeSet<i64> = BTreeSet::new();
        for state in &plan.states {
            let probe = attempt_key(key, state.from);
            let Some((from_id, stored_state)) = self.select_run(conn, &probe).await? else { continue };
            let moved = RunAttempt {
                run_attempt: state.to,
                started_at: state.started_at.or(stored_state.started_at),
                first_job_started_at: None,
                ..stored_state
            };
            let to_id = self.apply_run(conn, &[&moved], RunSource::Run, now, events, hooks).await?;
            sqlx::query(MOVE_LISTING).bind(to_id).bind(from_id).execute(&mut *conn).await?;
            sqlx::query("DELETE FROM attempt_listings WHERE build_id = $1")
                .bind(from_id)
                .execute(&mut *conn)
                .await?;
            lost_state.insert(from_id);
        }
        for build_id in lost_jobs.union(&lost_state) {
            self.settle(conn, key, *build_id, lost_state.contains(build_id), now, events).await?;
        }
        Ok(())
    }

    /// Rewrites the attempt stored as `build_id` after moves out of it (see
    /// [`WritePath::make_moves`]).
    async fn settle(
        &self,
        conn: &mut AnyConnection,
        key: &RunKey<'_>,
        build_id: i64,
        state_left: bool,
        now: i64,
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            crate::store::rows::build_columns!(),
            ", sort_at FROM builds WHERE id = $1"
        ))
        .bind(build_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(()) };
        let (_, state) = crate::store::rows::run_from_row(&row)?;
        let sort_at: i64 = row.try_get("sort_at")?;
        let remaining: Vec<Job> = self
            .run_jobs(conn, key)
            .await?
            .into_iter()
            .filter(|(_, b, _)| *b == build_id)
            .map(|(_, _, j)| j)
            .collect();
        // A state of its own: a run delivery's, which carries a creation time
        // (what jobs imply never does).
        let keeps_state = !state_left && state.created_at.is_some();
        let settled = if keeps_state {
            let first_job_started_at =
                remaining.iter().filter(|j| j.has_started()).filter_map(|j| j.started_at).min();
            RunAttempt { first_job_started_at, ..state }
        } else {
            let mut implied = remaining.iter().map(RunAttempt::implied_by_job);
            let Some(first) = implied.next() else {
                sqlx::query("DELETE FROM builds WHERE id = $1").bind(build_id).execute(&mut *conn).await?;
                if sort_at > 0 {
                    sqlx::query(MARK_DAY)
                        .bind(sort_at / 86_400)
                        .bind(now)
                        .bind(provider_id(key.provider))
                        .bind(key.repo.as_str())
                        .bind(key.run_id)
                        .bind(build_id)
                        .execute(&mut *conn)
                        .await?;
                }
                return Ok(());
            };
            let folded = implied.fold(first, |merged, next| merge_run(&merged, &next));
            RunAttempt { run_attempt: state.run_attempt, ..folded }
        };
        bind_run(sqlx::query(UPDATE_BUILD), &settled, now).bind(build_id).execute(&mut *conn).await?;
        events.push(ChangeEvent::Build { id: build_id });
        Ok(())
    }
}

/// A key-only [`RunAttempt`] for looking up one attempt of the run.
fn attempt_key(key: &RunKey<'_>, run_attempt: i64) -> RunAttempt {
    RunAttempt {
        provider: key.provider,
        repo: key.repo.clone(),
        run_id: key.run_id.to_owned(),
        run_attempt,
        workflow: None,
        workflow_id: None,
        run_number: None,
        event: None,
        branch: None,
        commit_sha: None,
        triggered_by: None,
        url: None,
        provider_status: RunStatus::Queued,
        conclusion: None,
        created_at: None,
        started_at: None,
        updated_at: None,
        first_job_started_at: None,
    }
}

/// The stored jobs as `domain::tries` knows them.
fn known(stored: &StoredJobs) -> Vec<KnownJob> {
    stored
        .iter()
        .map(|(_, _, job)| KnownJob {
            job_id: job.job_id.clone(),
            name: job.name.clone(),
            run_attempt: job.run_attempt,
            created_at: job.created_at,
        })
        .collect()
}
