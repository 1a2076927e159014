//! Domain types shared by every layer: a workflow run attempt, a job, its
//! steps, the job key that groups a job across runs, the providers they
//! come from (`provider`), their raw provider status/conclusion
//! vocabularies and the normalised status, and test results (a test's
//! identity, an execution's outcome), and counted nouns for people
//! (`words`).
//!
//! Everything here is pure (no I/O, no SQL, no HTTP). Provider payloads are
//! parsed into these types once, at the edge (`ingest`), and the store keeps
//! them; the merge rules that make ingestion order-safe live in [`merge`].

pub mod attempt;
pub mod change;
pub mod deployment;
pub mod failure;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod flaky;
pub mod job;
pub mod job_key;
pub mod keys;
pub mod limits;
pub mod merge;
pub mod provider;
pub mod status;
pub mod step;
pub mod test_result;
pub mod time;
pub mod time_bounds;
pub mod tries;
pub mod tries_replan;
pub mod words;

pub use attempt::RunAttempt;
pub use change::Change;
pub use job::Job;
pub use job_key::JobName;
pub use keys::{BranchName, RepoName};
pub use provider::ProviderKind;
pub use status::{BuildStatus, Conclusion, RunStatus};
pub use step::Step;
pub use test_result::{FailureText, TestExecution, TestIdentity, TestOutcome};
pub use tries::TriedRun;
