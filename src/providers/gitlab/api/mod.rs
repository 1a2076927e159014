//! GitLab CI over the REST API (`/api/v4`): client, rate limits, models,
//! the mapping of pipelines and jobs (retries included) to attempts, one
//! project's passes (backfill and incremental sync by `updated_after`, the
//! watch list) and group discovery.

pub mod answer;
pub mod client;
pub mod deployments;
pub mod discovery;
pub mod models;
pub mod project;
pub mod rate;
pub mod to_domain;

pub use answer::{ApiError, Page};
pub use client::{GitLabClient, RetryPolicy};

use crate::store::StoreError;

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
