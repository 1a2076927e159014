//! Test results: the test dictionary (`test_cases`, one row per
//! [`TestIdentity`](crate::domain::TestIdentity) key), uploaded report files
//! (`test_uploads`, idempotent per run attempt + job name + file SHA-256),
//! executions as small rows (`test_executions`) and failure texts of failed
//! and errored executions only (`test_failures`).
//!
//! Files: `write` (one upload, all or nothing, in one transaction, with
//! the attempt's placeholder build row when its run has not arrived yet),
//! `read` (a build's failed tests, one test's history), `insights` (most
//! failing, slowest and flaky tests over a window, by a scan), `rollup_write`
//! and `insights_rollup` (the per-test daily roll-ups `test_daily` and
//! `test_flips`: kept at upload, read by the insights), `insights_cache`
//! (the computed answers, kept until a change of their scope: tables
//! `test_day_versions`, `test_insight_cache`), `insights_refresh` (keeping
//! the answers read lately current in the background), `retention`.
//!
//! Owns these four tables' SQL; must not know HTTP, report formats or
//! providers' payloads.

mod flaky_occurrences;
mod for_alerts;
mod insights;
mod insights_cache;
mod insights_refresh;
mod insights_rollup;
mod newly_failing;
mod read;
mod retention;
mod rollup_rebuild;
mod rollup_write;
mod write;

pub use flaky_occurrences::FlakyTestOccurrence;
pub use for_alerts::failed_test_names;
pub use insights::{FailingTest, FlakyTest, SlowTest, TestInsights, TestsFilter};
pub use insights_cache::CachedInsights;
pub use insights_refresh::{DEFAULT_BUDGET_MS, InsightsRefresher};
pub use newly_failing::{DEFAULT_BRANCHES, NewlyFailingTest};
pub use read::{FailedTest, TestExecutionRow, TestHistory};
pub use write::{AttemptKey, ReportFile, UploadOutcome};

/// Most failure texts (message, type, details) kept per report file; later
/// failed executions of the same file are stored without their texts.
pub const MAX_FAILURE_TEXTS_PER_FILE: usize = 2_000;
