//! Failure reasons: one row per failed job (`job_failures`: failed step,
//! error lines, source, signature, class), the failure signatures
//! (`failure_signatures`, one per fingerprint) and capped log excerpts
//! (`job_log_excerpts`).
//!
//! The failure roll-up `failure_days` (per day and signature, repository,
//! workflow, branch, job and class) answers the top signatures' whole days;
//! `days` keeps it in every write's transaction, `window` reads it.
//!
//! Files: `write` (failed jobs not recorded yet, recording a reason, log
//! excerpts under their caps, the rows a poller still has to fetch for),
//! `read` (the top signatures over a window, one signature's failures),
//! `build` (a build's failed jobs with "same error in N other builds"), `alert_facts`
//! (what a failure alert says, read inside the ingest transaction).
//!
//! Definitions (also in the README's definitions table): a failure's time
//! (`failed_at`) is its job's completion, else its run attempt's start; a
//! window holds the failures with `failed_at ≥ since`. Owns these three
//! tables' SQL; must not know HTTP, providers or how a reason is worked out
//! (`domain::failure`).

mod alert_facts;
mod build;
mod days;
mod read;
mod spread;
mod window;
mod write;

pub use alert_facts::{FailureSummary, failure_summary_on};
pub use build::BuildFailure;
pub(crate) use days::Refold;
pub use read::{FailuresFilter, SignatureFailure, SignatureSummary};
pub use write::{FailureRecord, LogExcerpt, PendingFailure};
