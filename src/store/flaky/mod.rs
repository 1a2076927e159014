//! The `flaky_occurrences` table (migration 0015): what `domain::flaky`
//! finds in each commit group, kept by the write path (`refresh`, called
//! before every write transaction commits) so the flaky insights read a
//! small table instead of scanning jobs; the reads behind
//! `/api/insights/flaky`, the `flaky` alert rule and the build badges
//! (`read`); once per database, the occurrences of attempts stored before
//! the table existed (`backfill`); rows are dropped by retention with the
//! attempts they name. The flaky rate's denominator from the per-day tally
//! `flaky_attempt_days` that triggers on `builds` keep (`attempts`). The
//! per-day roll-up of the report lines, `flaky_days`, kept in the same
//! transaction as the occurrences (`days`), and the read of
//! `/api/insights/flaky` from it (`insights`).
//!
//! Owns this table's SQL; must not know HTTP or what the figures mean
//! (`crate::metrics::flaky`).

mod attempts;
mod backfill;
mod codec;
mod days;
mod filter;
mod insights;
mod read;
pub(crate) mod refresh;

pub use filter::FlakyFilter;
