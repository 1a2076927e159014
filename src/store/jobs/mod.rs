//! Jobs beyond their rows: their steps (`steps`), their job keys
//! (`keys`), and what `/api/insights/jobs` reads ([`crate::store::JobInsights`]
//! in `window`: raw scans and roll-up reads in `read`, the daily roll-ups
//! folded by `fold`).
//!
//! The list reads per key from the packed day spans (`spans`), hour spans
//! (`hour_spans`) and hourly packed roll-up (`packed`), read in `list` by
//! the window's hour plan (`hours`), plus the runs those leave out (still
//! going at the fold, or new since: `fold`), by id; the retention of
//! roll-ups and unused keys is `retention`. The statements they all run
//! are built and run by `sql` (binds, `IN` lists, spans; whole or row by
//! row).
//!
//! Owns the `steps`, `job_keys` and `rollup_job*`/`rollup_step_times`
//! tables (`rollup_job_open` and `rollup_job_hour_spans` included); must
//! not know HTTP, payloads or providers.

pub(super) mod fold;
mod hour_spans;
mod hours;
pub(super) mod keys;
mod list;
mod packed;
mod read;
mod retention;
mod spans;
mod sql;
pub(super) mod steps;
mod window;

pub use hours::{HourPlan, hour_plan, split_days};
pub use read::{Grain, JobFilter};
pub use window::JobKeyRecord;
