//! Applying one change under its row lock: a run attempt's (one or several
//! folded with the merge rules of `domain::merge`) and a job's, each as
//! one insert or one update (a job's changed steps as one more).

use sqlx::{AnyConnection, Row};

use super::WritePath;
use super::hook::TxHooks;
use crate::domain::merge::{merge_job, merge_run};
use crate::domain::{Change, Job, RunAttempt, Step};
use crate::store::jobs::keys::{KeyParts, key_id};
use crate::store::jobs::steps::{steps_of_job, write_steps};
use crate::store::rows::{
    bind_job, bind_run, build_columns, job_columns, job_from_row, provider_id, run_from_row,
};
use crate::store::{Backend, ChangeEvent, StoreError};

/// Where a run attempt's change comes from: a run delivery (or a polled
/// run), or only what its jobs imply ([`RunAttempt::implied_by_job`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunSource {
    Run,
    Jobs,
}

macro_rules! select_build_by_key {
    () => {
        concat!(
            "SELECT ",
            build_columns!(),
            " FROM builds WHERE provider_id = $1 AND repo = $2 AND external_id = $3 AND run_attempt = $4"
        )
    };
}

macro_rules! select_job_by_key {
    () => {
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs j JOIN builds b ON b.id = j.build_id WHERE j.provider_id = $1 AND j.external_id = $2"
        )
    };
}

const INSERT_BUILD: &str = "INSERT INTO builds (workflow, workflow_id, run_number, event, branch, \
     commit_sha, triggered_by, url, provider_status, conclusion, status, created_at, started_at, \
     updated_at, finished_at, first_job_started_at, duration_seconds, sort_at, changed_at, \
     provider_id, repo, external_id, run_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
     $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) \
     ON CONFLICT (provider_id, repo, external_id, run_attempt) DO NOTHING RETURNING id";

/// `moved_from` remembers the UTC day an attempt's start left (the first
/// such day since the last roll-up fold), so that day's roll-up is known to
/// be stale (see `super::rollups`); it is set when the start leaves its
/// UTC hour, as the packed job roll-ups are hourly (`super::jobs`).
pub(super) const UPDATE_BUILD: &str = "UPDATE builds SET workflow = $1, workflow_id = $2, run_number = $3, \
     event = $4, branch = $5, commit_sha = $6, triggered_by = $7, url = $8, provider_status = $9, \
     conclusion = $10, status = $11, created_at = $12, started_at = $13, updated_at = $14, \
     finished_at = $15, first_job_started_at = $16, duration_seconds = $17, sort_at = $18, \
     changed_at = $19, moved_from = CASE WHEN sort_at > 0 AND sort_at / 3600 <> $18 / 3600 \
     THEN COALESCE(moved_from, sort_at / 86400) ELSE moved_from END WHERE id = $20";

const INSERT_JOB: &str = "INSERT INTO jobs (name, workflow, branch, commit_sha, provider_status, \
     conclusion, status, runner_name, labels, url, created_at, started_at, completed_at, \
     changed_at, stage, failure_reason, allow_failure, queued_duration_ms, runner_group, build_id, \
     provider_id, external_id, key_id, matrix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) \
     ON CONFLICT (provider_id, external_id) DO NOTHING RETURNING id";

/// A job's key changes only with its name or workflow (`jobs::keys`).
const UPDATE_JOB_KEY: &str = "UPDATE jobs SET key_id = $1, matrix = $2 WHERE id = $3";

/// `moved_from` remembers the UTC day a job's start left (the first such
/// day since the last roll-up fold), so that day's runner roll-ups are
/// known to be stale (see `super::runner_rollups`).
const UPDATE_JOB: &str = "UPDATE jobs SET name = $1, workflow = $2, branch = $3, commit_sha = $4, \
     provider_status = $5, conclusion = $6, status = $7, runner_name = $8, labels = $9, url = $10, \
     created_at = $11, started_at = $12, completed_at = $13, changed_at = $14, stage = $15, \
     failure_reason = $16, allow_failure = $17, queued_duration_ms = $18, runner_group = $19, \
     moved_from = CASE WHEN started_at IS NOT NULL AND ($12 IS NULL OR started_at / 86400 <> $12 / 86400) \
     THEN COALESCE(moved_from, started_at / 86400) ELSE moved_from END WHERE id = $20";

impl WritePath {
    /// Applies one change (from a webhook delivery or from the poller) on
    /// `conn`, inside a transaction the caller owns, with the ordering and
    /// null rules of `domain::merge`; pushes the rows it created or changed
    /// onto `events`. `now` (Unix seconds) becomes the rows' `changed_at`.
    /// A run attempt that a run delivery changed goes to the installed
    /// hook on the same connection: what it writes commits with the change.
    pub(super) async fn apply_change(
        &self,
        conn: &mut AnyConnection,
        change: &Change,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        hooks: &mut TxHooks<'_>,
    ) -> Result<(), StoreError> {
        match change {
            Change::Run(run) => {
                self.apply_run(conn, &[run], RunSource::Run, now, events, hooks).await?;
            }
            Change::Job(job) => {
                let implied = RunAttempt::implied_by_job(job);
                let build_id = self.apply_run(conn, &[&implied], RunSource::Jobs, now, events, hooks).await?;
                self.apply_job(conn, build_id, job, now, events).await?;
            }
            Change::Tries(tried) => self.apply_tries(conn, tried, now, events, hooks).await?,
            Change::Deployment(deployment, commits) => {
                let mut rederived = Vec::new();
                if let Some(pushed) = commits {
                    rederived = crate::store::deployments::write::record_commits(conn, pushed, now).await?;
                }
                let changed =
                    crate::store::deployments::write::upsert_deployment(conn, self.backend, deployment, now)
                        .await?;
                rederived.retain(|id| Some(*id) != changed);
                events.extend(changed.into_iter().chain(rederived).map(|id| ChangeEvent::Deployment { id }));
            }
            Change::Commits(pushed) => {
                // A push that completes a deployment's commit walk changes
                // its lead times: announced like a deployment change.
                let rederived = crate::store::deployments::write::record_commits(conn, pushed, now).await?;
                events.extend(rederived.into_iter().map(|id| ChangeEvent::Deployment { id }));
            }
            Change::Incident(incident) => {
                let (id, _, outcome) = crate::store::deployments::incident_tx::upsert_incident(
                    conn,
                    self.backend,
                    incident,
                    now,
                )
                .await?;
                if outcome != crate::store::deployments::IncidentWrite::Unchanged {
                    events.push(ChangeEvent::Incident { id });
                }
            }
        }
        Ok(())
    }

    /// Inserts or merges changes of one run attempt under its row lock (see
    /// [`WritePath::apply_change`]), one after the other in the order given, as
    /// one write; answers its build id. Changes that include a run delivery's
    /// ([`RunSource::Run`]) and changed the row have the alert rules
    /// go to the hook; the least that jobs imply about their run does not.
    ///
    /// Errors: [`StoreError::Invariant`] when `runs` is empty.
    pub(super) async fn apply_run(
        &self,
        conn: &mut AnyConnection,
        runs: &[&RunAttempt],
        source: RunSource,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        hooks: &mut TxHooks<'_>,
    ) -> Result<i64, StoreError> {
        let (id, rules) = self.apply_run_without_rules(conn, runs, source, now, events).await?;
        if rules {
            events.extend(hooks.run_changed(conn, id, now).await?);
        }
        Ok(id)
    }

    /// [`WritePath::apply_run`] leaving the alert rules to the caller:
    /// answers the build id and whether the rules must see the change, so
    /// a caller that writes the attempt's jobs of the same group first can
    /// have them decide on the jobs too (a failure alert names the failed
    /// job).
    pub(super) async fn apply_run_without_rules(
        &self,
        conn: &mut AnyConnection,
        runs: &[&RunAttempt],
        source: RunSource,
        now: i64,
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(i64, bool), StoreError> {
        let (id, changed) = self.upsert_run(conn, runs, now).await?;
        if changed {
            events.push(ChangeEvent::Build { id });
        }
        Ok((id, changed && source == RunSource::Run))
    }

    /// Inserts or merges a job of the attempt stored as `build_id` (whose
    /// row the caller has locked through [`WritePath::apply_run`]).
    pub(super) async fn apply_job(
        &self,
        conn: &mut AnyConnection,
        build_id: i64,
        job: &Job,
        now: i64,
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(), StoreError> {
        let (id, changed) = self.upsert_job(conn, build_id, job, now).await?;
        if changed {
            events.push(ChangeEvent::Job { id, build_id });
        }
        Ok(())
    }

    pub(super) async fn select_run(
        &self,
        conn: &mut AnyConnection,
        run: &RunAttempt,
    ) -> Result<Option<(i64, RunAttempt)>, StoreError> {
        // SQLite has no row locks; its writers are already serialised.
        let sql = match self.backend {
            Backend::Sqlite => select_build_by_key!(),
            Backend::Postgres => concat!(select_build_by_key!(), " FOR UPDATE"),
        };
        let row = sqlx::query(sql)
            .bind(provider_id(run.provider))
            .bind(run.repo.as_str())
            .bind(&run.run_id)
            .bind(run.run_attempt)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// Inserts or merges changes of one run attempt, applied one after the
    /// other in order (the first creates the row if there is none), with one
    /// statement to write; answers its build id and whether the row changed.
    async fn upsert_run(
        &self,
        conn: &mut AnyConnection,
        incoming: &[&RunAttempt],
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        let Some((first, rest)) = incoming.split_first() else {
            return Err(StoreError::Invariant("a run write without a change".into()));
        };
        let existing = match self.select_run(conn, first).await? {
            Some(found) => found,
            None => {
                let created = rest.iter().fold((*first).clone(), |stored, change| merge_run(&stored, change));
                let inserted = bind_run(sqlx::query(INSERT_BUILD), &created, now)
                    .bind(provider_id(first.provider))
                    .bind(first.repo.as_str())
                    .bind(&first.run_id)
                    .bind(first.run_attempt)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(row) = inserted {
                    return Ok((row.try_get("id")?, true));
                }
                // A concurrent transaction inserted it a moment ago: lock it and merge.
                self.select_run(conn, first).await?.ok_or_else(|| {
                    StoreError::Invariant("a build row vanished inside its transaction".into())
                })?
            }
        };
        let (id, stored) = existing;
        let merged = incoming.iter().fold(stored.clone(), |merged, change| merge_run(&merged, change));
        let changed = merged != stored;
        if changed {
            bind_run(sqlx::query(UPDATE_BUILD), &merged, now).bind(id).execute(&mut *conn).await?;
        }
        Ok((id, changed))
    }

    pub(super) async fn select_job(
        &self,
        conn: &mut AnyConnection,
        job: &Job,
    ) -> Result<Option<(i64, i64, Job)>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => select_job_by_key!(),
            Backend::Postgres => concat!(select_job_by_key!(), " FOR UPDATE OF j"),
        };
        let row = sqlx::query(sql)
            .bind(provider_id(job.provider))
            .bind(&job.job_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Inserts or merges a job and its steps (only the steps the merge
    /// changed are written); answers its row id and whether it changed.
    async fn upsert_job(
        &self,
        conn: &mut AnyConnection,
        build_id: i64,
        incoming: &Job,
        now: i64,
    ) -> Result<(i64, bool), StoreError> {
        let existing = match self.select_job(conn, incoming).await? {
            Some(found) => found,
            None => {
                let key = KeyParts::of(incoming);
                let key_id = match &key {
                    Some(key) => Some(key_id(conn, key).await?),
                    None => None,
                };
                let inserted = bind_job(sqlx::query(INSERT_JOB), incoming, now)
                    .bind(build_id)
                    .bind(provider_id(incoming.provider))
                    .bind(&incoming.job_id)
                    .bind(key_id)
                    .bind(key.and_then(|k| k.name.matrix))
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(row) = inserted {
                    let id: i64 = row.try_get("id")?;
                    write_steps(conn, id, &incoming.steps.iter().collect::<Vec<_>>()).await?;
                    return Ok((id, true));
                }
                self.select_job(conn, incoming).await?.ok_or_else(|| {
                    StoreError::Invariant("a job row vanished inside its transaction".into())
                })?
            }
        };
        let (id, _build_id, mut stored) = existing;
        // Stored steps are read only when the delivery brings steps.
        if !incoming.steps.is_empty() {
            stored.steps = steps_of_job(conn, id).await?;
        }
        let merged = merge_job(&stored, incoming);
        let row_changed =
            Job { steps: Vec::new(), ..merged.clone() } != Job { steps: Vec::new(), ..stored.clone() };
        if row_changed {
            bind_job(sqlx::query(UPDATE_JOB), &merged, now).bind(id).execute(&mut *conn).await?;
            if merged.name != stored.name || merged.workflow != stored.workflow {
                let key = KeyParts::of(&merged);
                let key_id = match &key {
                    Some(key) => Some(key_id(conn, key).await?),
                    None => None,
                };
                sqlx::query(UPDATE_JOB_KEY)
                    .bind(key_id)
                    .bind(key.and_then(|k| k.name.matrix))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        let changed_steps: Vec<&Step> =
            merged.steps.iter().filter(|step| !stored.steps.contains(step)).collect();
        write_steps(conn, id, &changed_steps).await?;
        if !changed_steps.is_empty() && !row_changed {
            // The job's `changed_at` marks its roll-up day stale.
            sqlx::query("UPDATE jobs SET changed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok((id, row_changed || !changed_steps.is_empty()))
    }
}
