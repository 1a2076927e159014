//! Deployments, pushed commits and incidents: the rows the DORA keys are
//! computed from (`crate::metrics::dora`).
//!
//! Files: `write` (a deployment merged under its row lock with
//! `domain::deployment::merge_deployment`, a push's commits, applied by
//! the one write path; an incident merged by the caller's id), `read` (a
//! window's deployments with their deploy job's `allow_failure`, a
//! repository's commits, a window's incidents), `rule_runs` (completed
//! runs the deployment rules may name), `retention`, `derive` (each
//! stream's DORA facts, derived again inside the write transaction from
//! the last successful deployment before a change; `lineage` walks the
//! stored pushes for it; `batch` writes what it derived in few
//! statements), `facts` (reading the derived facts), `lead_days` (the
//! lead-time roll-up per stream, UTC day and lead time, kept by `derive`;
//! a window's lead-time summary),
//! `quarters` (the deployment counts roll-up `deployment_quarters`, kept
//! by triggers: spans' sums per environment and quarter hour), `sums`
//! (a window's outages and the deployments an incident marks), `incident_tx` (an incident merged inside the write path's transaction,
//! for webhooks), `rows` (a stream's key, signal codes, decoding
//! deployment and incident rows: shared by the others, importing none).
//!
//! Owns these three tables' SQL, `deployment_commits`', `deployment_lead_days`',
//! `deployment_lead_buckets`' and `deployment_quarters`'; must not know HTTP, payloads or how the
//! figures are defined.

mod batch;
mod derive;
mod facts;
pub(super) mod incident_tx;
mod lead_days;
mod lineage;
mod quarters;
mod read;
mod retention;
mod rows;
mod rule_runs;
mod sums;
pub(super) mod write;

pub use facts::StoredFacts;
pub use quarters::{QUARTER, QuarterSum};
pub use read::{DeploymentFilter, DeploymentRow, StoredCommit};
pub use rule_runs::RuleRun;
pub use sums::{IncidentProbe, OpenedOutage};
pub use write::IncidentWrite;
