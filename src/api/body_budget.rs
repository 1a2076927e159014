//! The webhook's body reading under a memory bound: a body declared
//! (`Content-Length`) larger than the limit is refused with 413 before a
//! byte of it is read, and the bytes of the bodies being read or held at
//! once are bounded by one process-wide budget (a semaphore of bytes). A
//! body that does not fit in what is left of the budget is refused with 503
//! and `Retry-After` instead of growing the process's memory.
//!
//! The budget is taken for a declared length before the body is read (so a
//! client holding a large body open holds its share from the start), and as
//! the buffer grows for a body without a declared length; it is given back
//! when the request's handling ends.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::problem::Problem;

/// Bytes of request bodies held at once, process-wide.
#[derive(Debug)]
pub struct BodyBudget {
    semaphore: Arc<Semaphore>,
    bytes: usize,
    /// Largest single body.
    limit: usize,
}

/// A body read within the budget; its share is given back on drop.
#[derive(Debug)]
pub struct HeldBody {
    pub bytes: Bytes,
    _share: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// A budget of `bytes` for bodies of at most `limit` bytes each (the
    /// budget is raised to `limit` if smaller, so one largest body fits).
    pub fn new(bytes: usize, limit: usize) -> Self {
        let bytes = bytes.max(limit).min(Semaphore::MAX_PERMITS);
        BodyBudget { semaphore: Arc::new(Semaphore::new(bytes)), bytes, limit }
    }

    /// The budget in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// 413 when `headers` declare a body over the limit (nothing read yet).
    pub fn check_declared(&self, headers: &HeaderMap) -> Result<Option<usize>, Problem> {
        let Some(value) = headers.get(header::CONTENT_LENGTH) else {
            return Ok(None);
        };
        let declared = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(length) if length > self.limit as u64 => Err(self.too_large()),
            Some(length) => Ok(Some(length as usize)),
            None => Err(Problem::bad_request("invalid-header", "Content-Length is not a number")),
        }
    }

    /// Reads `body` (of `declared` bytes, if known) within the budget.
    ///
    /// Errors: 413 over the limit; 503 with `Retry-After` when the budget
    /// has no room; 400 when the body cannot be read.
    pub async fn read(&self, body: Body, declared: Option<usize>) -> Result<HeldBody, Problem> {
        let mut share: Option<OwnedSemaphorePermit> = None;
        let mut buffer: Vec<u8> = Vec::new();
        if let Some(length) = declared {
            self.take(&mut share, length)?;
            buffer.reserve_exact(length);
        }
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| Problem::bad_request("unreadable-body", err.to_string()))?;
            let needed = buffer.len() + chunk.len();
            if needed > self.limit {
                return Err(self.too_large());
            }
            if needed > buffer.capacity() {
                // Grow by doubling (bounded by the limit), paying for the
                // new capacity first.
                let capacity = needed.max(buffer.capacity() * 2).min(self.limit);
                self.take(&mut share, capacity - buffer.capacity())?;
                buffer.reserve_exact(capacity - buffer.len());
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(HeldBody { bytes: Bytes::from(buffer), _share: share })
    }

    fn take(&self, share: &mut Option<OwnedSemaphorePermit>, bytes: usize) -> Result<(), Problem> {
        if bytes == 0 {
            return Ok(());
        }
        let more = u32::try_from(bytes)
            .ok()
            .and_then(|n| self.semaphore.clone().try_acquire_many_owned(n).ok())
            .ok_or_else(|| {
                metrics::counter!("webhook_body_budget_exhausted_total").increment(1);
                Problem {
                    retry_after: Some(1),
                    ..Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "body-budget-exhausted",
                        "Service busy",
                        format!(
                            "the server is reading as many request bodies as it holds at once ({} bytes); \
                             retry shortly",
                            self.bytes
                        ),
                    )
                }
            })?;
        match share {
            Some(held) => held.merge(more),
            None => *share = Some(more),
        }
        Ok(())
    }

    fn too_large(&self) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the body exceeds {} bytes ({} MiB)", self.limit, self.limit / (1024 * 1024)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_take_their_share_and_give_it_back() {
        let budget = BodyBudget::new(100, 60);
        let first = budget.read(Body::from(vec![b'a'; 50]), Some(50)).await.expect("fits");
        assert_eq!(first.bytes.len(), 50);
        // 50 of 100 are held: another 60 does not fit, whether declared or not.
        let refused = budget.read(Body::from(vec![b'b'; 60]), Some(60)).await.expect_err("full");
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.retry_after, Some(1));
        let streamed = budget.read(Body::from(vec![b'b'; 60]), None).await.expect_err("full");
        assert_eq!(streamed.status, StatusCode::SERVICE_UNAVAILABLE);
        drop(first);
        assert_eq!(budget.read(Body::from(vec![b'c'; 60]), None).await.expect("room again").bytes.len(), 60);
        // Over the limit: 413, declared or found while reading.
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "61".parse().expect("value"));
        assert_eq!(
            budget.check_declared(&headers).expect_err("too large").status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let read = budget.read(Body::from(vec![b'd'; 61]), None).await.expect_err("too large");
        assert_eq!(read.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(budget.semaphore.available_permits(), 100, "every share given back");
    }
}
