//! Jobs beyond their rows: their steps (`steps`), their job keys
//! (`keys`), and what `/api/insights/jobs` reads (`insights`, from the
//! daily roll-ups of `rollups` where they are clean).
//!
//! Owns the `steps`, `job_keys` and `rollup_job*`/`rollup_step_times`
//! tables; must not know HTTP, payloads or providers.

pub(super) mod keys;
pub(super) mod steps;
