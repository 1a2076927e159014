//! Jobs beyond their rows: their steps (`steps`), their job keys
//! (`keys`), and what `/api/insights/jobs` reads ([`crate::store::JobInsights`]
//! in `window`: raw scans and roll-up reads in `read`, the daily roll-ups
//! folded by `fold`).
//!
//! Owns the `steps`, `job_keys` and `rollup_job*`/`rollup_step_times`
//! tables; must not know HTTP, payloads or providers.

pub(super) mod fold;
pub(super) mod keys;
mod read;
pub(super) mod steps;
mod window;

pub use read::{Grain, JobFilter};
pub use window::JobKeyRecord;
