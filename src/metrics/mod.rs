//! Metric arithmetic: pure functions with written definitions, fed by the
//! store's aggregate queries. Nothing here does I/O.

pub mod concurrency;
pub mod dora;
pub mod flaky;
pub mod health;
pub mod job_report;
pub mod jobs;
#[cfg(test)]
mod jobs_tests;
pub mod minutes;
pub mod percentile;
pub mod ratio;
pub mod runner_parts;
pub mod runners;
pub mod summary;
pub mod tally;
pub mod timeseries;
