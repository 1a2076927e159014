//! Domain types shared by every layer: a workflow run attempt, a job, their
//! raw provider status/conclusion vocabularies and the normalised status.
//!
//! Everything here is pure (no I/O, no SQL, no HTTP). Provider payloads are
//! parsed into these types once, at the edge (`ingest`), and the store keeps
//! them; the merge rules that make ingestion order-safe live in [`merge`].

pub mod attempt;
pub mod change;
pub mod failure;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod job;
pub mod keys;
pub mod limits;
pub mod merge;
pub mod status;
pub mod time;

pub use attempt::RunAttempt;
pub use change::Change;
pub use job::Job;
pub use keys::{BranchName, RepoName};
pub use status::{BuildStatus, Conclusion, ProviderKind, RunStatus};
