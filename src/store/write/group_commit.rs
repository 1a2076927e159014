//! Group commit: deliveries that arrive while the writer is busy are
//! committed together in one transaction, and each caller hears back only
//! after that commit. The batch records its deliveries with one multi-row
//! `INSERT`, reads the alert configuration once, and per run attempt (in
//! attempt key order) folds its run deliveries' changes and then what its
//! jobs' deliveries imply about it onto the locked row, each in arrival
//! order — what applying those deliveries one by one in that order stores —
//! and writes the row once; then its jobs. SQLite has one writer at a time
//! anyway (one WAL fsync per group); on PostgreSQL, where the cost is
//! statements and round trips rather than fsyncs, this cuts them about in
//! half per delivery (ten jobs of a run starting together lock and update
//! their attempt once, not ten times).
//!
//! One writer per process, on both back ends (the measurements behind
//! that choice are in the README, *Benchmarks*). Replicas lock build rows
//! in attempt key order; an alert rule's advisory lock (taken while the
//! batch runs) can still meet another replica's batch in a deadlock, which
//! PostgreSQL detects: the failed batch is then written one by one.
//!
//! If any delivery of a batch fails, the batch is rolled back and each of its
//! deliveries is retried alone, so one failure never loses another's write;
//! if the database is unavailable, the batch and every delivery queued behind
//! it are answered so at once (nothing of theirs was committed).

use std::collections::{BTreeMap, HashSet};

use tokio::sync::{mpsc, oneshot};

use super::apply::RunSource;
use super::deliveries::insert_deliveries;
use super::{DeliveryWrite, Recorded, WritePath};
use crate::domain::{Change, Job, RunAttempt};
use crate::store::StoreError;

/// Most deliveries committed in one transaction.
const MAX_BATCH: usize = 64;

/// Handle to the writer task.
#[derive(Debug, Clone)]
pub(super) struct WriteQueue {
    sender: mpsc::Sender<Queued>,
}

#[derive(Debug)]
struct Queued {
    write: DeliveryWrite,
    reply: oneshot::Sender<Result<Recorded, StoreError>>,
}

fn closed() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}

impl WriteQueue {
    /// Starts the writer task on `path`. The task ends when every handle
    /// is dropped.
    pub(super) fn start(path: WritePath) -> WriteQueue {
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(run(path, receiver));
        WriteQueue { sender }
    }

    /// Queues a delivery and waits until it is committed (or failed).
    pub(super) async fn submit(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Queued { write, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(path: WritePath, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writes: Vec<&DeliveryWrite> = batch.iter().map(|job| &job.write).collect();
        if !repeats_a_delivery(&writes) {
            match write_batch(&path, &writes).await {
                Ok(results) => {
                    for (job, result) in batch.drain(..).zip(results) {
                        let _ = job.reply.send(Ok(result));
                    }
                    continue;
                }
                // The database is down: every waiting delivery hears so now,
                // not one acquire timeout later each (README, webhook answers).
                Err(err) if err.is_unavailable() => {
                    for job in batch.drain(..).chain(std::iter::from_fn(|| receiver.try_recv().ok())) {
                        let _ = job.reply.send(Err(err.unavailable_again()));
                    }
                    continue;
                }
                Err(err) => {
                    tracing::debug!(error = %err, size = batch.len(), "group commit failed; writing one by one");
                }
            }
        }
        for job in batch.drain(..) {
            let result = path.record_now(&job.write).await;
            let _ = job.reply.send(result);
        }
    }
}

/// The run attempt a write locks: batches apply their writes in this
/// order, so two replicas' batches lock build rows in the same order.
/// `None` for a change placed by try numbers, whose attempt is known only
/// once the run's stored jobs are read.
fn lock_order(change: &Change) -> Option<(&'static str, &str, &str, i64)> {
    match change {
        Change::Run(run) => {
            Some((run.provider.kind(), run.repo.as_str(), run.run_id.as_str(), run.run_attempt))
        }
        Change::Job(job) => {
            Some((job.provider.kind(), job.repo.as_str(), job.run_id.as_str(), job.run_attempt))
        }
        Change::Tries(_) | Change::Deployment(..) | Change::Commits(_) | Change::Incident(_) => None,
    }
}

/// Whether two writes of the batch carry the same delivery (then the
/// batch is written one by one, as their order decides what is stored).
pub(super) fn repeats_a_delivery(writes: &[&DeliveryWrite]) -> bool {
    let mut seen = HashSet::new();
    !writes.iter().all(|write| seen.insert((write.delivery.provider, write.delivery.guid.as_str())))
}

/// One run attempt's changes in a group: its run deliveries' changes, then
/// what its jobs' deliveries imply about it (each in arrival order), written
/// as one fold onto the stored row — what applying the group's run
/// deliveries and then its job deliveries one by one stores — with the
/// latest receipt time; and its jobs.
#[derive(Default)]
struct AttemptChanges<'a> {
    runs: Vec<&'a RunAttempt>,
    latest: i64,
    jobs: Vec<(&'a Job, i64)>,
}

/// Writes `writes` (whose deliveries must differ) in one transaction, as
/// described in the module doc; answers, per write, whether it was new.
pub(super) async fn write_batch(
    path: &WritePath,
    writes: &[&DeliveryWrite],
) -> Result<Vec<Recorded>, StoreError> {
    let mut tx = path.begin().await?;
    let new = insert_deliveries(&mut tx, writes).await?;
    // Per run attempt, in key order: one run write, then its jobs.
    let mut attempts: BTreeMap<_, AttemptChanges<'_>> = BTreeMap::new();
    // Changes placed by try numbers, applied after the others one by one in
    // arrival order: each reads the jobs the ones before it stored.
    let mut tried = Vec::new();
    for (write, _) in writes.iter().zip(&new).filter(|(_, new)| **new) {
        let Some(change) = &write.change else { continue };
        let received = write.delivery.received_at.timestamp();
        let Some(key) = lock_order(change) else {
            tried.push((change, received));
            continue;
        };
        let attempt = attempts.entry(key).or_default();
        attempt.latest = attempt.latest.max(received);
        match change {
            Change::Run(run) => attempt.runs.push(run),
            Change::Job(job) => attempt.jobs.push((job, received)),
            _ => {}
        }
    }
    let mut events = Vec::new();
    let mut hooks = path.hooks();
    for attempt in attempts.into_values() {
        let source = if attempt.runs.is_empty() { RunSource::Jobs } else { RunSource::Run };
        let implied: Vec<RunAttempt> =
            attempt.jobs.iter().map(|(job, _)| RunAttempt::implied_by_job(job)).collect();
        let changes: Vec<&RunAttempt> = attempt.runs.iter().copied().chain(&implied).collect();
        let (build_id, rules) =
            path.apply_run_without_rules(&mut tx, &changes, source, attempt.latest, &mut events).await?;
        for (job, received) in attempt.jobs {
            path.apply_job(&mut tx, build_id, job, received, &mut events).await?;
        }
        // After the jobs: a failure alert decided here names the failed job
        // delivered with its run.
        if rules {
            events.extend(hooks.run_changed(&mut tx, build_id, attempt.latest).await?);
        }
    }
    for (change, received) in tried {
        path.apply_change(&mut tx, change, received, &mut events, &mut hooks).await?;
    }
    crate::store::flaky::refresh::refresh(&mut tx, path.backend, &events).await?;
    tx.commit().await?;
    path.announcer.publish(&events);
    Ok(new.into_iter().map(|new| if new { Recorded::New } else { Recorded::Duplicate }).collect())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::domain::{ProviderKind, fixtures};
    use crate::store::{DeliveryOutcome, DeliveryRecord, Store};

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        Some(Utc.timestamp_opt(1_700_000_000 + seconds, 0).single().expect("time"))
    }

    fn run(status: &str, updated: i64, started: i64) -> RunAttempt {
        fixtures::run(status, None, at(started), at(updated))
    }

    fn queued(guid: &str, change: Change) -> Queued {
        let (reply, _) = oneshot::channel();
        let delivery = DeliveryRecord {
            provider: ProviderKind::GitHub,
            guid: guid.into(),
            event: "workflow_run".into(),
            action: None,
            received_at: Utc::now(),
            body: bytes::Bytes::from_static(b"{}"),
        };
        let write =
            DeliveryWrite { delivery, outcome: DeliveryOutcome::Stored, error: None, change: Some(change) };
        Queued { write, reply }
    }

    /// A late run delivery and a job's implied run in one group must store
    /// what applying them one by one stores: the stored row (waiting,
    /// updated at 100, started at 50) keeps its `updated_at` and start, as
    /// the older run delivery (queued, updated at 90, started at 40) loses
    /// on rank and the job only raises the status to `in_progress`.
    #[tokio::test]
    async fn a_group_stores_what_its_deliveries_one_by_one_store() {
        async fn write_batch(path: &WritePath, batch: &[Queued]) -> Result<Vec<Recorded>, StoreError> {
            let writes: Vec<&DeliveryWrite> = batch.iter().map(|job| &job.write).collect();
            super::write_batch(path, &writes).await
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("group.db").display());
        let store = Store::connect(&url, &Default::default()).await.expect("store");
        store.migrate().await.expect("migrate");
        write_batch(&store.writer.path, &[queued("stored", Change::Run(run("waiting", 100, 50)))])
            .await
            .expect("seed");

        let job = fixtures::job("in_progress", at(60), at(70));
        for order in [["late-run", "job"], ["job", "late-run"]] {
            let batch: Vec<Queued> = order
                .iter()
                .map(|guid| match *guid {
                    "job" => queued(&format!("{guid}-{}", order[0]), Change::Job(job.clone())),
                    _ => queued(&format!("{guid}-{}", order[0]), Change::Run(run("queued", 90, 40))),
                })
                .collect();
            write_batch(&store.writer.path, &batch).await.expect("group");
            let stored = store.builds().get_build(1).await.expect("read").expect("the one attempt").attempt;
            assert_eq!(stored.provider_status.as_str(), "in_progress", "{order:?}");
            assert_eq!(stored.updated_at, at(100), "{order:?}: updated_at never moves back");
            assert_eq!(stored.started_at, at(50), "{order:?}");
            assert_eq!(stored.first_job_started_at, at(70), "{order:?}");
        }
        store.close().await;
    }
}
