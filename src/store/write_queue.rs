//! Group commit: deliveries that arrive while the writer is busy are
//! committed together in one transaction, and each caller hears back only
//! after that commit. The batch records its deliveries with one multi-row
//! `INSERT`, reads the alert configuration once, merges the run changes of
//! one attempt, and what its jobs' deliveries imply about it, into one run
//! write (the merge rules do not depend on order, so this is what applying
//! them one by one stores), and applies the changes in run-attempt order:
//! each attempt's run write, then its jobs. SQLite has one writer at a time anyway (one WAL fsync
//! per group); on PostgreSQL, where the cost is statements and round trips
//! rather than fsyncs, this cuts them about in half per delivery.
//!
//! One writer per process, on both back ends. Measured on PostgreSQL with
//! `cargo bench --bench ingest` (2 cores), one session of the machine:
//! one writer 2 513–2 747 deliveries/s, two 2 500–2 531 (before run
//! changes were merged per attempt: one 1 885–2 007, two 2 116–2 374, four
//! 2 031–2 251, eight 1 898); on a later session's machine one writer
//! measured 3 092–4 825/s (README, *Benchmarks*). Replicas apply their
//! groups in run-attempt order, so they lock rows in one order and cannot
//! deadlock each other.
//!
//! If any delivery of a batch fails, the batch is rolled back and each of its
//! deliveries is retried alone, so one failure never loses another's write.

use std::collections::{BTreeMap, HashSet};

use tokio::sync::{mpsc, oneshot};

use super::ingest_tx::{DeliveryWrite, Recorded, RunSource};
use super::{Store, StoreError};
use crate::alerts::evaluate::ConfigMemo;
use crate::domain::merge::merge_run;
use crate::domain::{Job, RunAttempt};
use crate::ingest::Change;

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
    /// Starts the writer task on `direct`, a store that writes each
    /// delivery itself (no queue). The task ends when every handle is dropped.
    pub(super) fn start(direct: Store) -> WriteQueue {
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(run(direct, receiver));
        WriteQueue { sender }
    }

    /// Queues a delivery and waits until it is committed (or failed).
    pub(super) async fn submit(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Queued { write, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !repeats_a_delivery(&batch) {
            match write_batch(&store, &batch).await {
                Ok(results) => {
                    for (job, result) in batch.drain(..).zip(results) {
                        let _ = job.reply.send(Ok(result));
                    }
                    continue;
                }
                Err(err) => {
                    tracing::debug!(error = %err, size = batch.len(), "group commit failed; writing one by one");
                }
            }
        }
        for job in batch.drain(..) {
            let result = store.record_delivery_now(&job.write).await;
            let _ = job.reply.send(result);
        }
    }
}

/// The run attempt a write locks, if any: batches apply their writes in
/// this order, so two replicas' batches lock rows in the same order and
/// cannot deadlock each other (merge rules do not depend on order).
fn lock_order(change: &Change) -> (&'static str, &str, &str, i64) {
    match change {
        Change::Run(run) => (run.provider.kind(), run.repo.as_str(), run.run_id.as_str(), run.run_attempt),
        Change::Job(job) => (job.provider.kind(), job.repo.as_str(), job.run_id.as_str(), job.run_attempt),
    }
}

/// Whether two writes of the batch carry the same delivery (then the
/// batch is written one by one, as their order decides what is stored).
fn repeats_a_delivery(batch: &[Queued]) -> bool {
    let mut seen = HashSet::new();
    !batch.iter().all(|job| seen.insert((job.write.delivery.provider, job.write.delivery.guid.as_str())))
}

/// One run attempt's changes in a group: its run changes and what its jobs
/// imply about it, merged into one write (with the latest receipt time, and
/// [`RunSource::Run`] if any run change is among them), and its jobs.
#[derive(Default)]
struct AttemptChanges<'a> {
    run: Option<(RunAttempt, RunSource, i64)>,
    jobs: Vec<(&'a Job, i64)>,
}

impl AttemptChanges<'_> {
    /// Merges `incoming` into the attempt's run write (the merge rules do
    /// not depend on order, so this stores what applying them one by one
    /// would).
    fn merge(&mut self, incoming: &RunAttempt, source: RunSource, received: i64) {
        self.run = Some(match self.run.take() {
            None => (incoming.clone(), source, received),
            Some((merged, was, latest)) => (
                merge_run(&merged, incoming),
                if source == RunSource::Run { source } else { was },
                latest.max(received),
            ),
        });
    }
}

async fn write_batch(store: &Store, batch: &[Queued]) -> Result<Vec<Recorded>, StoreError> {
    let mut tx = store.begin_write().await?;
    let writes: Vec<&DeliveryWrite> = batch.iter().map(|job| &job.write).collect();
    let new = store.insert_deliveries(&mut tx, &writes).await?;
    // Per run attempt, in key order: one run write, then its jobs.
    let mut attempts: BTreeMap<_, AttemptChanges<'_>> = BTreeMap::new();
    for (write, _) in writes.iter().zip(&new).filter(|(_, new)| **new) {
        let Some(change) = &write.change else { continue };
        let received = write.delivery.received_at.timestamp();
        let attempt = attempts.entry(lock_order(change)).or_default();
        match change {
            Change::Run(run) => attempt.merge(run, RunSource::Run, received),
            Change::Job(job) => {
                attempt.merge(&RunAttempt::implied_by_job(job), RunSource::Jobs, received);
                attempt.jobs.push((job, received));
            }
        }
    }
    let mut events = Vec::new();
    let mut memo = ConfigMemo::default();
    for attempt in attempts.into_values() {
        let Some((run, source, latest)) = attempt.run else { continue };
        let build_id = store.apply_run(&mut tx, &run, source, latest, &mut events, &mut memo).await?;
        for (job, received) in attempt.jobs {
            store.apply_job(&mut tx, build_id, job, received, &mut events).await?;
        }
    }
    tx.commit().await?;
    store.publish_committed(&events);
    Ok(new.into_iter().map(|new| if new { Recorded::New } else { Recorded::Duplicate }).collect())
}
