//! `GET /api/dora`'s two windows and `/api/dora/timeseries`' buckets from
//! the stored facts summed in SQL (`store::deployments` quarters, sums):
//! counts per environment and quarter hour (the `deployment_quarters`
//! roll-up), only outages and the deployments incidents mark read as
//! rows, lead times summarised by the store. The same figures as
//! `metrics::dora::figures` over `dora_facts::load_facts`' inputs (the
//! definitions are `crate::metrics::dora`'s); used when no deployment rule
//! is in scope (then the streams are walked: `dora_inputs`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::AppState;
use super::dora_scope::{Scope, incidents_of};
use super::problem::Problem;
use crate::domain::time::from_unix;
use crate::metrics::dora::{
    DoraFigures, change_failure_rate, frequency, lead_time as metrics_lead_time, time_to_restore,
};
use crate::store::deployments::{IncidentProbe, QUARTER, QuarterSum};

/// Spans whose lead times are read at once.
const LEAD_READS: usize = 4;

/// The figures of each of `spans` (`[start, end)`, sorted by start, not
/// overlapping; production environments unless `scope` names one; days
/// counted in `tz`).
pub async fn summed(
    state: &AppState,
    scope: &Scope,
    tz: Tz,
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<DoraFigures>, Problem> {
    let (Some(&(previous_from, _)), Some(&(_, to))) = (spans.first(), spans.last()) else {
        return Ok(Vec::new());
    };
    let store = state.store.deployments();
    let filter = scope.filter(false);
    let mut production: HashMap<String, bool> = HashMap::new();
    let mut keep = |environment: &str| {
        scope.environment.is_some()
            || *production
                .entry(environment.to_owned())
                .or_insert_with(|| state.delivery.production.is_production(environment))
    };
    // The counts, outages, incidents and each span's lead times at the
    // same time (a few spans' lead times at once).
    let sums = async { Ok::<_, Problem>(store.span_sums(spans, &filter).await?) };
    let opened = async { Ok::<_, Problem>(store.opened_outages(previous_from, to, &filter).await?) };
    // A lead time's environment has a counted deployment in the span, so
    // keeping it is keeping the environments the counts keep.
    let keep_lead = |environment: &str| {
        scope.environment.is_some() || state.delivery.production.is_production(environment)
    };
    let reads: Vec<_> = spans
        .iter()
        .map(|(start, end)| store.lead_summary_where(*start, *end, &filter, &keep_lead))
        .collect();
    let leads = stream::iter(reads).buffered(LEAD_READS).try_collect::<Vec<_>>();
    let leads = async { Ok::<_, Problem>(leads.await?) };
    let (mut quarters, opened, incidents, leads) =
        tokio::try_join!(sums, opened, incidents_of(state, scope, previous_from, to, true), leads)?;
    quarters.retain(|q| keep(&q.environment));
    // Successful deployments without a signal of their own that an
    // incident marks, by id (several incidents may mark one).
    let mut marked: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for incident in &incidents {
        let probe = IncidentProbe {
            repo: incident.repo.clone(),
            environment: incident.environment.clone(),
            opened_at: incident.opened_at,
        };
        for (id, environment, at) in store.marked_by(previous_from, to, &filter, &probe).await? {
            let about =
                state.delivery.production.incident_about(incident.environment.as_deref(), &environment);
            if about && keep(&environment) {
                marked.insert(id, at);
            }
        }
    }
    let mut outages: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    for outage in opened {
        if keep(&outage.environment) {
            outages.push((outage.started_at, outage.restored_at));
        }
    }
    outages.extend(incidents.iter().map(|i| (i.opened_at, i.resolved_at)));
    let read = Read { quarters: &quarters, marked: &marked, outages: &outages, tz };
    let mut answer: Vec<DoraFigures> = (0..spans.len()).map(|i| read.window(i, spans[i])).collect();
    for (figures, (commits, median, p90)) in answer.iter_mut().zip(leads) {
        figures.lead_time = metrics_lead_time(commits, median, p90);
    }
    Ok(answer)
}

/// What was read, for both windows.
struct Read<'a> {
    quarters: &'a [QuarterSum],
    marked: &'a HashMap<i64, DateTime<Utc>>,
    outages: &'a [(DateTime<Utc>, Option<DateTime<Utc>>)],
    tz: Tz,
}

impl Read<'_> {
    /// Span `span` (`[start, end)`) with an empty lead time (the store
    /// summarises it).
    fn window(&self, span: usize, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> DoraFigures {
        let (mut counted, mut successes, mut signalled) = (0usize, 0usize, 0usize);
        let mut days = HashSet::new();
        for q in self.quarters.iter().filter(|q| q.span == span) {
            counted += q.counted as usize;
            successes += q.successes as usize;
            signalled += q.signalled as usize;
            if q.successes > 0
                && let Some(at) = from_unix(q.quarter * QUARTER)
            {
                days.insert(at.with_timezone(&self.tz).date_naive());
            }
        }
        let incident_marked = self.marked.values().filter(|at| **at >= start && **at < end).count();
        let started: Vec<&(DateTime<Utc>, Option<DateTime<Utc>>)> =
            self.outages.iter().filter(|(at, _)| *at >= start && *at < end).collect();
        let restores: Vec<i64> = started
            .iter()
            .filter_map(|(at, restored)| restored.map(|r| (r - *at).num_seconds().max(0)))
            .collect();
        DoraFigures {
            deployment_frequency: frequency(successes, days.len(), start, end),
            lead_time: metrics_lead_time(0, None, None),
            change_failure_rate: change_failure_rate(counted, signalled + incident_marked),
            time_to_restore: time_to_restore(restores, started.len()),
        }
    }
}
