//! The per-deployment facts kept at write time (`store::deployments`
//! derives them inside the write transaction): the same rules as
//! `history::walk`, applied to one stream from its last successful
//! deployment before a change onwards, so reads only sum stored facts.
//!
//! Pure: the store loads the stream's deployments and what came before
//! them, and walks the commits (`lineage`) for each successful one with
//! the `previous_sha` answered here.

use std::collections::HashSet;

use super::history::Signal;

/// A counted deployment of the stream, in finishing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDeploy {
    pub id: i64,
    pub sha: Option<String>,
    /// Unix seconds.
    pub finished_at: i64,
    pub failed: bool,
}

/// What one deployment of the stream turned out to be (incidents aside:
/// an incident's signal is matched at read time with `next_success_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub id: i64,
    /// `Failed` or `RolledBack` (never `Incident`).
    pub signal: Option<Signal>,
    pub rollback: bool,
    /// The stream's next successful deployment's finish (Unix seconds):
    /// for a success, the end of the span an incident marks it in; for a
    /// failure opening an outage, its restoration.
    pub next_success_at: Option<i64>,
    /// A failure with no failure before it since the last success: it
    /// starts an outage (`history::Outage`).
    pub opens_outage: bool,
    /// For a success: the SHA its commit walk stops at (the previous
    /// successful deployment's).
    pub previous_sha: Option<String>,
}

/// Derives `batch` (the stream's counted deployments after `anchor`, in
/// finishing order). `anchor` is the last successful deployment before
/// the batch (its signal and next success are derived again: they depend
/// on the batch; its own `rollback` and `previous_sha` are not, and are
/// answered empty); `earlier_heads` the SHAs deployed
/// successfully at or before it. Answers the anchor's facts first (when
/// given), then the batch's.
pub fn derive(
    anchor: Option<&StreamDeploy>,
    batch: &[StreamDeploy],
    earlier_heads: &HashSet<String>,
) -> Vec<Derived> {
    let mut out: Vec<Derived> = Vec::with_capacity(batch.len() + 1);
    let mut heads: HashSet<&str> = earlier_heads.iter().map(String::as_str).collect();
    // Indexes into `out`: the last success, and the deployments waiting
    // for the next success's finish.
    let mut last_success: Option<usize> = None;
    let mut waiting: Vec<usize> = Vec::new();
    let mut outage_open = false;
    if let Some(a) = anchor {
        out.push(Derived {
            id: a.id,
            signal: None,
            rollback: false,
            next_success_at: None,
            opens_outage: false,
            previous_sha: None,
        });
        last_success = Some(0);
        waiting.push(0);
    }
    for d in batch {
        let index = out.len();
        if d.failed {
            out.push(Derived {
                id: d.id,
                signal: Some(Signal::Failed),
                rollback: false,
                next_success_at: None,
                opens_outage: !outage_open,
                previous_sha: None,
            });
            outage_open = true;
            waiting.push(index);
            continue;
        }
        outage_open = false;
        for w in waiting.drain(..) {
            out[w].next_success_at = Some(d.finished_at);
        }
        let previous_sha = match last_success {
            Some(i) if i == 0 && anchor.is_some() => anchor.and_then(|a| a.sha.clone()),
            Some(i) => batch_sha(batch, &out[i]),
            None => None,
        };
        let rollback =
            d.sha.as_deref().is_some_and(|sha| heads.contains(sha) && previous_sha.as_deref() != Some(sha));
        if rollback
            && let Some(i) = last_success
            && out[i].signal.is_none()
        {
            out[i].signal = Some(Signal::RolledBack);
        }
        if let Some(sha) = d.sha.as_deref() {
            heads.insert(sha);
        }
        out.push(Derived {
            id: d.id,
            signal: None,
            rollback,
            next_success_at: None,
            opens_outage: false,
            previous_sha,
        });
        last_success = Some(index);
        waiting.push(index);
    }
    out
}

fn batch_sha(batch: &[StreamDeploy], derived: &Derived) -> Option<String> {
    batch.iter().find(|d| d.id == derived.id).and_then(|d| d.sha.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: i64, sha: &str, at: i64, failed: bool) -> StreamDeploy {
        StreamDeploy { id, sha: Some(sha.into()), finished_at: at, failed }
    }

    /// Stream: 1 ok a@10, 2 failed b@20, 3 failed b@30, 4 ok a@40 (a
    /// redeploy of the previous success's SHA: no rollback), 5 ok c@50,
    /// 6 ok a@60 (a is an earlier head, not 5's: rollback, 5 rolled back).
    /// Deployment 2 opens the outage restored at 40; 3 is the same outage.
    #[test]
    fn signals_outages_and_rollbacks_follow_the_stream() {
        let batch = [
            d(2, "b", 20, true),
            d(3, "b", 30, true),
            d(4, "a", 40, false),
            d(5, "c", 50, false),
            d(6, "a", 60, false),
        ];
        let out = derive(Some(&d(1, "a", 10, false)), &batch, &HashSet::from(["a".to_owned()]));
        let signals: Vec<_> = out.iter().map(|f| f.signal).collect();
        assert_eq!(
            signals,
            [None, Some(Signal::Failed), Some(Signal::Failed), None, Some(Signal::RolledBack), None]
        );
        let opens: Vec<_> = out.iter().map(|f| f.opens_outage).collect();
        assert_eq!(opens, [false, true, false, false, false, false]);
        let next: Vec<_> = out.iter().map(|f| f.next_success_at).collect();
        assert_eq!(next, [Some(40), Some(40), Some(40), Some(50), Some(60), None]);
        let rollbacks: Vec<_> = out.iter().map(|f| f.rollback).collect();
        assert_eq!(rollbacks, [false, false, false, false, false, true]);
        assert_eq!(out[3].previous_sha.as_deref(), Some("a"));
        assert_eq!(out[5].previous_sha.as_deref(), Some("c"));
    }
}
