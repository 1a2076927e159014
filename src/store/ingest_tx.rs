//! The write path: record a delivery (deduplicated by its GUID in a unique
//! index) and apply its change under a row lock, inside a transaction that is
//! committed before the caller hears back, so "accepted" means committed.
//!
//! On both back ends the deliveries waiting at a moment are committed
//! together by the group-commit writer (`write_queue`): one transaction and
//! one fsync for the group. A delivery written alone (a group that failed is
//! retried one by one) has its own transaction.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};

use super::events::ChangeEvent;
use super::rows::{bind_job, bind_run, build_columns, job_columns, job_from_row, provider_id, run_from_row};
use super::{Backend, Store, StoreError};
use crate::alerts::evaluate::ConfigMemo;
use crate::domain::merge::{merge_job, merge_run};
use crate::domain::{Job, ProviderKind, RunAttempt};
use crate::ingest::Change;

/// A delivery as received.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub provider: ProviderKind,
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`, if any.
    pub action: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The raw body, kept so the delivery can be re-processed.
    pub body: Bytes,
}

/// One unit of the write path: a delivery, what became of it, and the change
/// it carries.
#[derive(Debug, Clone)]
pub struct DeliveryWrite {
    pub delivery: DeliveryRecord,
    pub outcome: DeliveryOutcome,
    /// Why it was rejected, for [`DeliveryOutcome::Rejected`].
    pub error: Option<String>,
    pub change: Option<Change>,
}

/// What became of a delivery, as stored in `webhook_deliveries.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Its change was applied.
    Stored,
    /// An event the dashboard does not use; only the record is kept.
    Ignored,
    /// Its payload was unusable (answered 400); a later delivery with the same
    /// GUID (GitHub's "redeliver") is processed afresh.
    Rejected,
}

impl DeliveryOutcome {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Stored => "stored",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Rejected => "rejected",
        }
    }
}

/// Where a run attempt's change comes from: a run delivery (or a polled
/// run), or only what its jobs imply ([`RunAttempt::implied_by_job`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunSource {
    Run,
    Jobs,
}

/// What applying one delivery did, before commit.
#[derive(Debug, Clone)]
pub(super) struct Applied {
    pub recorded: Recorded,
    /// Rows created or changed, to announce once committed.
    pub events: Vec<ChangeEvent>,
}

/// Whether the delivery was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// New: recorded (and its change applied) and committed.
    New,
    /// The GUID was already recorded: nothing changed.
    Duplicate,
}

/// Deliveries' rows: `INSERT_DELIVERIES`, one `VALUES` tuple of 8 per
/// delivery, then `ON_DELIVERY_CONFLICT` (a GUID recorded before is kept
/// unless it was `rejected`); see [`Store::insert_deliveries`].
const INSERT_DELIVERIES: &str = "INSERT INTO webhook_deliveries \
     (provider_id, guid, event, action, received_at, outcome, error, body) VALUES";
const ON_DELIVERY_CONFLICT: &str = "ON CONFLICT (provider_id, guid) DO UPDATE SET event = excluded.event, \
     action = excluded.action, received_at = excluded.received_at, outcome = excluded.outcome, \
     error = excluded.error, body = excluded.body \
     WHERE webhook_deliveries.outcome = 'rejected'";

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
/// be stale (see `super::rollups`).
const UPDATE_BUILD: &str = "UPDATE builds SET workflow = $1, workflow_id = $2, run_number = $3, \
     event = $4, branch = $5, commit_sha = $6, triggered_by = $7, url = $8, provider_status = $9, \
     conclusion = $10, status = $11, created_at = $12, started_at = $13, updated_at = $14, \
     finished_at = $15, first_job_started_at = $16, duration_seconds = $17, sort_at = $18, \
     changed_at = $19, moved_from = CASE WHEN sort_at > 0 AND sort_at / 86400 <> $18 / 86400 \
     THEN COALESCE(moved_from, sort_at / 86400) ELSE moved_from END WHERE id = $20";

const INSERT_JOB: &str = "INSERT INTO jobs (name, workflow, branch, commit_sha, provider_status, \
     conclusion, status, runner_name, labels, url, created_at, started_at, completed_at, \
     changed_at, build_id, provider_id, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
     $10, $11, $12, $13, $14, $15, $16, $17) \
     ON CONFLICT (provider_id, external_id) DO NOTHING RETURNING id";

const UPDATE_JOB: &str = "UPDATE jobs SET name = $1, workflow = $2, branch = $3, commit_sha = $4, \
     provider_status = $5, conclusion = $6, status = $7, runner_name = $8, labels = $9, url = $10, \
     created_at = $11, started_at = $12, completed_at = $13, changed_at = $14 WHERE id = $15";

impl Store {
    /// Records the delivery with its outcome and applies its change, all in
    /// one committed transaction. A GUID already recorded with any outcome
    /// but `rejected` is a [`Recorded::Duplicate`] and nothing is written.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed; the sender may retry).
    pub async fn record_delivery(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        match &self.write_queue {
            Some(queue) => queue.submit(write).await,
            None => self.record_delivery_now(&write).await,
        }
    }

    /// Writes one delivery in its own transaction.
    pub(super) async fn record_delivery_now(&self, write: &DeliveryWrite) -> Result<Recorded, StoreError> {
        let mut tx = self.begin_write().await?;
        let applied = self.apply_delivery(&mut tx, write, &mut ConfigMemo::default()).await?;
        match applied.recorded {
            Recorded::Duplicate => tx.rollback().await?,
            Recorded::New => tx.commit().await?,
        }
        self.publish_committed(&applied.events);
        Ok(applied.recorded)
    }

    /// Announces the events of a committed transaction: to this process's
    /// subscribers (SQLite), or to every replica's through the notifier
    /// (PostgreSQL; see `events`).
    pub(super) fn publish_committed(&self, events: &[ChangeEvent]) {
        for event in events {
            match &self.notifier {
                Some(notifier) => {
                    let _ = notifier.send(*event);
                }
                None => {
                    let _ = self.events.send(*event);
                }
            }
        }
    }

    /// Records and applies one delivery on `conn`, inside a transaction the
    /// caller owns; answers what changed, for the caller to publish once it
    /// has committed.
    pub(super) async fn apply_delivery(
        &self,
        conn: &mut AnyConnection,
        write: &DeliveryWrite,
        memo: &mut ConfigMemo,
    ) -> Result<Applied, StoreError> {
        let delivery = &write.delivery;
        let new = self.insert_deliveries(conn, &[write]).await?;
        if new.first() != Some(&true) {
            return Ok(Applied { recorded: Recorded::Duplicate, events: Vec::new() });
        }
        let mut events = Vec::new();
        if let Some(change) = &write.change {
            self.apply_change(conn, change, delivery.received_at.timestamp(), &mut events, memo).await?;
        }
        Ok(Applied { recorded: Recorded::New, events })
    }

    /// Records a batch of deliveries with one multi-row `INSERT` on `conn`
    /// (their `(provider, GUID)` pairs must differ); answers, per delivery,
    /// whether it is new (not recorded before, or recorded `rejected`), as
    /// [`ON_DELIVERY_CONFLICT`] decides.
    pub(super) async fn insert_deliveries(
        &self,
        conn: &mut AnyConnection,
        writes: &[&DeliveryWrite],
    ) -> Result<Vec<bool>, StoreError> {
        let rows: Vec<String> = (0..writes.len())
            .map(|i| {
                let placeholders: Vec<String> = (1..=8).map(|k| format!("${}", i * 8 + k)).collect();
                format!("({})", placeholders.join(", "))
            })
            .collect();
        let sql = format!(
            "{INSERT_DELIVERIES} {} {ON_DELIVERY_CONFLICT} RETURNING provider_id, guid",
            rows.join(", ")
        );
        // Only numbered placeholders are formatted in.
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for write in writes {
            let delivery = &write.delivery;
            query = query
                .bind(provider_id(delivery.provider))
                .bind(delivery.guid.as_str())
                .bind(delivery.event.as_str())
                .bind(delivery.action.as_deref())
                .bind(delivery.received_at.timestamp())
                .bind(write.outcome.as_str())
                .bind(write.error.as_deref())
                .bind(&delivery.body[..]);
        }
        let recorded = query.fetch_all(&mut *conn).await?;
        let mut new = std::collections::HashSet::new();
        for row in &recorded {
            new.insert((row.try_get::<i64, _>("provider_id")?, row.try_get::<&str, _>("guid")?));
        }
        Ok(writes
            .iter()
            .map(|w| new.contains(&(provider_id(w.delivery.provider), w.delivery.guid.as_str())))
            .collect())
    }

    /// Applies one change (from a webhook delivery or from the poller) on
    /// `conn`, inside a transaction the caller owns, with the ordering and
    /// null rules of `domain::merge`; pushes the rows it created or changed
    /// onto `events`. `now` (Unix seconds) becomes the rows' `changed_at`.
    /// A run attempt that changed has its alert rules evaluated on the same
    /// connection (`alerts::evaluate`): their outbox rows commit with it.
    pub(super) async fn apply_change(
        &self,
        conn: &mut AnyConnection,
        change: &Change,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        memo: &mut ConfigMemo,
    ) -> Result<(), StoreError> {
        match change {
            Change::Run(run) => {
                self.apply_run(conn, &[run], RunSource::Run, now, events, memo).await?;
            }
            Change::Job(job) => {
                let implied = RunAttempt::implied_by_job(job);
                let build_id = self.apply_run(conn, &[&implied], RunSource::Jobs, now, events, memo).await?;
                self.apply_job(conn, build_id, job, now, events).await?;
            }
        }
        Ok(())
    }

    /// Inserts or merges changes of one run attempt under its row lock (see
    /// [`Store::apply_change`]), one after the other in the order given, as
    /// one write; answers its build id. Changes that include a run delivery's
    /// ([`RunSource::Run`]) and changed the row have the alert rules
    /// evaluated; the least that jobs imply about their run does not.
    ///
    /// Errors: [`StoreError::Invariant`] when `runs` is empty.
    pub(super) async fn apply_run(
        &self,
        conn: &mut AnyConnection,
        runs: &[&RunAttempt],
        source: RunSource,
        now: i64,
        events: &mut Vec<ChangeEvent>,
        memo: &mut ConfigMemo,
    ) -> Result<i64, StoreError> {
        let (id, changed) = self.upsert_run(conn, runs, now).await?;
        if changed {
            events.push(ChangeEvent::Build { id });
            if source == RunSource::Run {
                let alerts = crate::alerts::evaluate::after_build_change(
                    conn,
                    self.backend,
                    self.secret_box(),
                    id,
                    now,
                    memo,
                )
                .await?;
                events.extend(alerts.into_iter().map(|id| ChangeEvent::Alert { id }));
            }
        }
        Ok(id)
    }

    /// Inserts or merges a job of the attempt stored as `build_id` (whose
    /// row the caller has locked through [`Store::apply_run`]).
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

    /// Applies changes fetched by a poller (no delivery record: the provider's
    /// REST API is the source) in one committed transaction, then announces
    /// what changed. Answers how many rows were created or changed.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed).
    pub async fn apply_polled(&self, changes: &[Change]) -> Result<usize, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let now = Utc::now().timestamp();
        let mut events = Vec::new();
        let mut memo = ConfigMemo::default();
        for change in changes {
            if let Err(err) = change.check_text() {
                tracing::warn!(error = %err, "skipped a polled change the database cannot store");
                continue;
            }
            self.apply_change(&mut tx, change, now, &mut events, &mut memo).await?;
        }
        tx.commit().await?;
        self.publish_committed(&events);
        Ok(events.len())
    }

    pub(super) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            // Take the write lock up front so a read-then-write never has to
            // upgrade (which could fail with SQLITE_BUSY under another process).
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    async fn select_run(
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
            .bind(&run.repo)
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
                    .bind(&first.repo)
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

    async fn select_job(
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
                let inserted = bind_job(sqlx::query(INSERT_JOB), incoming, now)
                    .bind(build_id)
                    .bind(provider_id(incoming.provider))
                    .bind(&incoming.job_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(row) = inserted {
                    return Ok((row.try_get("id")?, true));
                }
                self.select_job(conn, incoming).await?.ok_or_else(|| {
                    StoreError::Invariant("a job row vanished inside its transaction".into())
                })?
            }
        };
        let (id, _build_id, stored) = existing;
        let merged = merge_job(&stored, incoming);
        let changed = merged != stored;
        if changed {
            bind_job(sqlx::query(UPDATE_JOB), &merged, now).bind(id).execute(&mut *conn).await?;
        }
        Ok((id, changed))
    }
}
