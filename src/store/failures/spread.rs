//! A signature's figures over a window as they are gathered (`Spread`,
//! from raw rows or roll-up rows alike), and the ranking of signatures;
//! pure, no SQL.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::StoreError;

/// Distinct names answered per list of a signature.
pub const MAX_NAMES: usize = 10;

/// Pushes `name` with `n` failures into a count map.
pub(super) fn tally(map: &mut BTreeMap<String, i64>, name: Option<String>, n: i64) {
    if let Some(name) = name {
        *map.entry(name).or_default() += n;
    }
}

/// The names of a count map, most first (ties by name), at most [`MAX_NAMES`].
pub(super) fn top(map: BTreeMap<String, i64>) -> Vec<String> {
    let mut pairs: Vec<(String, i64)> = map.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    pairs.into_iter().take(MAX_NAMES).map(|(name, _)| name).collect()
}

/// One signature's figures over the window, before its names are looked up.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Spread {
    pub failures: i64,
    pub last_at: i64,
    pub repos: BTreeMap<String, i64>,
    pub branches: BTreeMap<String, i64>,
    pub jobs: BTreeMap<String, i64>,
    pub infrastructure: i64,
    pub builds: i64,
}

/// Ranks `(signature id, failures, last seen)` by failures, then last seen
/// (newest first), then fingerprint (`fingerprints` must hold at least the
/// ones tied at the cut), and keeps the first `limit`.
pub(super) fn rank(
    mut totals: Vec<(i64, i64, i64)>,
    fingerprints: &BTreeMap<i64, String>,
    limit: usize,
) -> Vec<i64> {
    let none = String::new();
    totals.sort_by(|a, b| {
        (b.1, b.2).cmp(&(a.1, a.2)).then_with(|| {
            fingerprints.get(&a.0).unwrap_or(&none).cmp(fingerprints.get(&b.0).unwrap_or(&none))
        })
    });
    totals.into_iter().take(limit).map(|(id, _, _)| id).collect()
}

/// The signature ids that may be among the first `limit` of `totals`: all
/// those whose (failures, last seen) reach the `limit`-th's.
pub(super) fn contenders(totals: &[(i64, i64, i64)], limit: usize) -> Vec<i64> {
    let mut keys: Vec<(i64, i64)> = totals.iter().map(|t| (t.1, t.2)).collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    let Some(cut) = keys.get(limit.saturating_sub(1)).or(keys.last()).copied() else { return Vec::new() };
    totals.iter().filter(|t| (t.1, t.2) >= cut).map(|t| t.0).collect()
}

/// Adds one grouped row (`n`, `last_at`, `class`) to a spread.
pub(super) fn add(
    spread: &mut Spread,
    row: &AnyRow,
    repo: String,
    branch: Option<String>,
    job: Option<String>,
) -> Result<(), StoreError> {
    let n: i64 = row.try_get("n")?;
    let class: String = row.try_get("class")?;
    spread.failures += n;
    spread.last_at = spread.last_at.max(row.try_get("last_at")?);
    tally(&mut spread.repos, Some(repo), n);
    tally(&mut spread.branches, branch, n);
    tally(&mut spread.jobs, job, n);
    if class == "infrastructure" {
        spread.infrastructure += n;
    }
    Ok(())
}
