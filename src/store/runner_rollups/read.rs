//! A window's inputs for the runner figures and the minutes: the clean
//! days and hours from the runner roll-ups, the other hours' jobs scanned
//! (and those crossing into them), and the jobs queued or running now read
//! live (see the module doc of `super`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::packed::add_into;
use crate::metrics::minutes::{GroupBy, MinuteCell, MinuteKey, minute_cells};
use crate::metrics::runner_parts::{DAY, DayTally, HOUR, RolledRunners};
use crate::metrics::runners::{JobSpan, LOOKBACK_SECONDS};
use crate::store::{MetricReads, RunnerFilter, StoreError};

/// Consecutive days (or hours) as `[first, end)` spans.
fn unit_spans(units: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for &unit in units {
        match spans.last_mut() {
            Some(last) if last.1 == unit => last.1 = unit + 1,
            _ => spans.push((unit, unit + 1)),
        }
    }
    spans
}

/// `(column >= $a AND column < $b) OR …` over `spans`, binding into `binds`.
fn span_clause(column: &str, spans: &[(i64, i64)], binds: &mut Vec<i64>) -> String {
    let parts: Vec<String> = spans
        .iter()
        .map(|&(a, b)| {
            binds.extend([a, b]);
            format!("({column} >= ${} AND {column} < ${})", binds.len() - 1, binds.len())
        })
        .collect();
    if parts.is_empty() { "1 = 0".to_owned() } else { parts.join(" OR ") }
}

fn labels_of(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl MetricReads<'_> {
    /// The jobs scanned in the `[since, until)` start spans (merged).
    async fn spans_in(
        &self,
        spans: &[(i64, i64)],
        filter: &RunnerFilter,
    ) -> Result<Vec<JobSpan>, StoreError> {
        let mut out = Vec::new();
        for &(since, until) in spans {
            out.extend(self.job_spans(since, until, filter).await?);
        }
        Ok(out)
    }

    /// The inputs of [`crate::metrics::runner_parts::figures_from`] for the window
    /// `[from, now)` (`from` at a UTC midnight): from the roll-ups where
    /// clean (never with a filter), else every job since `from −
    /// LOOKBACK_SECONDS`; always every job queued or running now.
    pub async fn runner_inputs(
        &self,
        from: i64,
        now: i64,
        filter: &RunnerFilter,
    ) -> Result<(RolledRunners, Vec<JobSpan>), StoreError> {
        let view = if filter.repo.is_none() && filter.provider.is_none() {
            self.runner_rollup_view(now).await?
        } else {
            None
        };
        let mut spans = self.open_jobs(filter).await?;
        let Some(view) = view else {
            spans.extend(self.job_spans(from - LOOKBACK_SECONDS, now + 1, filter).await?);
            return Ok((RolledRunners::default(), spans));
        };
        // Running jobs the scan would have read by their start (whatever their run's state).
        let running = self.running_jobs().await?;
        let per_day = DAY / HOUR;
        let first = from.div_euclid(DAY);
        let read_since = from - LOOKBACK_SECONDS;
        let running_hours: BTreeSet<i64> = running
            .iter()
            .filter_map(|s| s.started_at)
            .filter(|t| *t >= read_since && *t <= now)
            .map(|t| t.div_euclid(HOUR))
            .collect();
        spans.extend(
            running.into_iter().filter(|s| s.started_at.is_some_and(|t| t >= read_since && t <= now)),
        );
        let mut rolled = RolledRunners::default();
        // Hours scanned; window hours whose peaks are computed from their
        // jobs (every job running in them is read: the scanned hours and
        // the jobs crossing into each run of such hours).
        let (mut scanned, mut peaks_raw) = (BTreeSet::new(), BTreeSet::new());
        let mut last_unclean: Option<i64> = None;
        for hour in (first - 1) * per_day..=now.div_euclid(HOUR) {
            let day = hour.div_euclid(per_day);
            if view.clean(day, now) {
                rolled.days_rolled.insert(day);
            } else if view.hour_clean(hour, now) {
                rolled.hours_rolled.insert(hour);
            } else {
                scanned.insert(hour);
                last_unclean = Some(hour);
            }
            if day < first {
                continue;
            }
            // An hour's finished peak depends on the jobs started from the day before.
            if last_unclean.is_some_and(|u| u >= (day - 1) * per_day) || running_hours.contains(&hour) {
                peaks_raw.insert(hour);
                scanned.insert(hour);
            } else {
                rolled.peak_hours.insert(hour);
            }
        }
        let raw: Vec<(i64, i64)> =
            unit_spans(&scanned).into_iter().map(|(a, b)| (a * HOUR, (b * HOUR).min(now + 1))).collect();
        spans.extend(self.spans_in(&raw, filter).await?);
        // The jobs crossing into each run of such hours: started from the
        // day before, in the hours not known (from the roll-ups) to have
        // every job ended by the run's start (jobs running now are read live).
        for (start, _) in unit_spans(&peaks_raw) {
            let at = start * HOUR;
            let ended = |hour: i64| {
                let day = hour.div_euclid(per_day);
                view.hour_clean(hour, now)
                    && (view.hours.get(&hour).is_some_and(|latest| *latest <= at)
                        || (view.clean(day, now)
                            && view.folded.get(&day).is_some_and(|latest| *latest <= at)))
            };
            let crossing: BTreeSet<i64> =
                ((start.div_euclid(per_day) - 1) * per_day..start).filter(|h| !ended(*h)).collect();
            for (a, b) in unit_spans(&crossing) {
                spans.extend(self.job_spans_past(a * HOUR, b * HOUR, at).await?);
            }
        }
        self.read_rolled(&mut rolled).await?;
        Ok((rolled, spans))
    }

    /// Fills `rolled`'s tallies and peaks for its days and hours.
    async fn read_rolled(&self, rolled: &mut RolledRunners) -> Result<(), StoreError> {
        for (table, unit, units) in [
            ("rollup_runner_days", "day", &rolled.days_rolled),
            ("rollup_runner_hours", "hour", &rolled.hours_rolled),
        ] {
            if units.is_empty() {
                continue;
            }
            let mut binds = Vec::new();
            let clause = span_clause(unit, &unit_spans(units), &mut binds);
            let sql =
                format!("SELECT {unit}, labels, jobs, runner_groups, queues FROM {table} WHERE {clause}");
            for row in self.fetch_bound(sql, &binds, &[]).await? {
                let labels = labels_of(row.try_get("labels")?);
                let groups: String = row.try_get("runner_groups")?;
                let mut tally = DayTally {
                    jobs: u64::try_from(row.try_get::<i64, _>("jobs")?).unwrap_or(0),
                    groups: serde_json::from_str::<Vec<String>>(&groups)
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                    ..DayTally::default()
                };
                add_into(row.try_get::<&[u8], _>("queues")?, &mut tally.queues)?;
                let at: i64 = row.try_get(unit)?;
                let day = if unit == "day" { at } else { at.div_euclid(DAY / HOUR) };
                rolled.days.entry(labels).or_default().entry(day).or_default().merge(&tally);
            }
        }
        let mut binds = Vec::new();
        let clause = span_clause("hour", &unit_spans(&rolled.peak_hours), &mut binds);
        let sql = format!("SELECT hour, labels, peak FROM rollup_runner_peaks WHERE {clause}");
        for row in self.fetch_bound(sql, &binds, &[]).await? {
            let peak = u32::try_from(row.try_get::<i64, _>("peak")?).unwrap_or(u32::MAX);
            rolled
                .peaks
                .entry(labels_of(row.try_get("labels")?))
                .or_default()
                .insert(row.try_get("hour")?, peak);
        }
        Ok(())
    }

    /// The minute cells of the jobs started in `[from, now)` (`from` at a
    /// UTC midnight) matching `filter`, from the roll-ups where clean; cells
    /// hold only what `group_by` needs.
    pub async fn minute_inputs(
        &self,
        from: i64,
        now: i64,
        group_by: GroupBy,
        filter: &RunnerFilter,
    ) -> Result<BTreeMap<MinuteKey, MinuteCell>, StoreError> {
        let Some(view) = self.runner_rollup_view(now).await? else {
            return Ok(minute_cells(&self.job_spans(from, now + 1, filter).await?, from, now));
        };
        let (mut days, mut hours, mut raw) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for hour in from.div_euclid(HOUR)..=now.div_euclid(HOUR) {
            let day = hour.div_euclid(DAY / HOUR);
            if view.clean(day, now) {
                days.insert(day);
            } else if view.hour_clean(hour, now) {
                hours.insert(hour);
            } else {
                raw.insert(hour);
            }
        }
        let raw: Vec<(i64, i64)> =
            unit_spans(&raw).into_iter().map(|(a, b)| (a * HOUR, (b * HOUR).min(now + 1))).collect();
        let mut cells = minute_cells(&self.spans_in(&raw, filter).await?, from, now);
        for (table, unit, units) in
            [("rollup_runner_minutes", "day", &days), ("rollup_runner_hour_minutes", "hour", &hours)]
        {
            if !units.is_empty() {
                self.add_cells(&mut cells, (table, unit, units), group_by, filter).await?;
            }
        }
        Ok(cells)
    }

    /// Adds to `cells` the rolled-up cells of `units` (days or hours) of
    /// `table` matching `filter`, holding only what `group_by` needs.
    async fn add_cells(
        &self,
        cells: &mut BTreeMap<MinuteKey, MinuteCell>,
        (table, unit, units): (&str, &str, &BTreeSet<i64>),
        group_by: GroupBy,
        filter: &RunnerFilter,
    ) -> Result<(), StoreError> {
        let columns = match group_by {
            GroupBy::Repo => "repo, labels",
            GroupBy::Workflow => "repo, workflow, labels",
            GroupBy::Job => "repo, workflow, job, labels",
            GroupBy::Label => "labels",
        };
        let mut binds = Vec::new();
        let mut clause = format!("({})", span_clause(unit, &unit_spans(units), &mut binds));
        let mut texts = Vec::new();
        for (column, value) in [
            ("repo", filter.repo.as_ref().map(|r| r.as_str().to_owned())),
            ("provider", filter.provider.map(|p| p.kind().to_owned())),
        ] {
            if let Some(value) = value {
                texts.push(value);
                clause.push_str(&format!(" AND {column} = ${}", binds.len() + texts.len()));
            }
        }
        // Summed per cell id first (an integer sort: see migration 0038),
        // then per group of the cells' names.
        let named: Vec<String> = columns.split(", ").map(|c| format!("c.{c}")).collect();
        let named = named.join(", ");
        let sql = format!(
            "SELECT {named}, CAST(SUM(s.jobs) AS BIGINT) AS jobs, CAST(SUM(s.minutes) AS BIGINT) AS minutes \
             FROM (SELECT cell, SUM(jobs) AS jobs, SUM(runner_minutes) AS minutes FROM {table} \
             WHERE {clause} GROUP BY cell) s JOIN runner_minute_cells c ON c.id = s.cell GROUP BY {named}"
        );
        let has = |c: &str| columns.split(", ").any(|x| x == c);
        for row in self.fetch_bound(sql, &binds, &texts).await? {
            let key = MinuteKey {
                repo: if has("repo") { row.try_get("repo")? } else { String::new() },
                workflow: if has("workflow") { row.try_get("workflow")? } else { None },
                job: if has("job") { row.try_get("job")? } else { None },
                labels: labels_of(row.try_get("labels")?),
            };
            let cell = cells.entry(key).or_default();
            cell.jobs += u64::try_from(row.try_get::<i64, _>("jobs")?).unwrap_or(0);
            cell.runner_minutes += u64::try_from(row.try_get::<i64, _>("minutes")?).unwrap_or(0);
        }
        Ok(())
    }
}
