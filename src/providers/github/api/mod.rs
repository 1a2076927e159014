//! GitHub Actions over the REST API: client, credentials, rate limits,
//! models, and the passes (backfill, incremental sync with the watch
//! list, deployments, repository discovery).

pub mod answer;
pub mod auth;
pub mod backfill;
pub mod client;
pub mod compare;
pub mod deployments;
pub mod discovery;
pub mod models;
pub mod rate;
pub mod runs;
pub mod sync;
pub mod windows;

pub use answer::{Answer, ApiError};
pub use auth::{AppCredentials, Credentials};
pub use client::{GitHubClient, RetryPolicy};

use crate::store::StoreError;

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
