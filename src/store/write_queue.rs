//! Group commit for SQLite: deliveries that arrive while the writer is busy
//! are committed together in one transaction (one WAL fsync for the group),
//! and each caller hears back only after that commit. SQLite has one writer
//! at a time anyway; this turns the queue of waiting writers into a batch.
//!
//! If any delivery of a batch fails, the batch is rolled back and each of its
//! deliveries is retried alone, so one failure never loses another's write.

use tokio::sync::{mpsc, oneshot};

use super::ingest_tx::{DeliveryWrite, Recorded};
use super::{Store, StoreError};

/// Most deliveries committed in one transaction.
const MAX_BATCH: usize = 64;

/// Handle to the writer task.
#[derive(Debug, Clone)]
pub(super) struct WriteQueue {
    sender: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    write: DeliveryWrite,
    reply: oneshot::Sender<Result<Recorded, StoreError>>,
}

fn closed() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}

impl WriteQueue {
    /// Starts the writer task on `direct`, a store that writes each delivery
    /// itself (no queue). The task ends when every handle is dropped.
    pub(super) fn start(direct: Store) -> WriteQueue {
        let (sender, receiver) = mpsc::channel(1024);
        tokio::spawn(run(direct, receiver));
        WriteQueue { sender }
    }

    /// Queues a delivery and waits until it is committed (or failed).
    pub(super) async fn submit(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Job { write, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match write_batch(&store, &batch).await {
            Ok(results) => {
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, size = batch.len(), "group commit failed; writing one by one");
                for job in batch.drain(..) {
                    let result = store.record_delivery_now(&job.write).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

async fn write_batch(store: &Store, batch: &[Job]) -> Result<Vec<Recorded>, StoreError> {
    let mut tx = store.begin_write().await?;
    let mut results = Vec::with_capacity(batch.len());
    let mut events = Vec::new();
    for job in batch {
        let applied = store.apply_delivery(&mut tx, &job.write).await?;
        results.push(applied.recorded);
        events.extend(applied.events);
    }
    tx.commit().await?;
    store.publish_committed(&events);
    Ok(results)
}
