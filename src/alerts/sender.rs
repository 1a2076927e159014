//! The outbox sender: a background task (one per replica, outside the
//! request path) that claims due `pending` alerts, delivers each through its
//! channel and records the outcome: `sent`; `pending` again with
//! `next_attempt_at` after an exponential backoff; `failed` with the error
//! after the last attempt; `suppressed` when its channel was removed.
//!
//! Claims are leases (`store::alerts::claim_alerts`): replicas never send the
//! same row at once, and a crashed sender's claims expire. Delivery is
//! therefore at least once: a process killed between a receiver's "ok" and
//! the database update sends that alert again after the lease (60 s).
//!
//! It wakes on every committed change (the store's events, from any
//! replica), whenever a send ends, and otherwise polls every `poll`
//! interval. A slow or dead receiver delays only its own alerts: each
//! claimed alert is sent by its own task, with its own timeout, while the
//! sender keeps claiming (up to [`MAX_IN_FLIGHT`] sends at once).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;

use super::AlertService;
use super::channels::{self, Outbound};
use super::config::AlertConfig;
use super::failure_facts::failure_facts_now;
use super::message::{AlertDetails, TemplateContext};
use crate::store::Store;
use crate::store::alerts::{AlertRecord, SendResult};

/// Seconds a claim lasts; longer than any send (timeouts are shorter).
const LEASE_SECONDS: i64 = 60;
/// Alerts claimed at once.
const BATCH: usize = 20;
/// Most sends under way at once per replica.
pub const MAX_IN_FLIGHT: usize = 64;

/// Timing of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderSettings {
    /// Poll period when no change event arrives.
    pub poll: Duration,
    /// First retry delay; doubles per attempt.
    pub retry_base: Duration,
    /// Largest retry delay.
    pub retry_cap: Duration,
    /// Attempts before an alert is `failed`.
    pub max_attempts: i64,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            poll: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

impl SenderSettings {
    /// Delay after failed attempt number `attempt` (1-based):
    /// `retry_base × 2^(attempt−1)`, at most `retry_cap`.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.clamp(1, 31) as u32 - 1);
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub suppressed: usize,
}

impl SendReport {
    pub fn total(&self) -> usize {
        self.sent + self.retried + self.failed + self.suppressed
    }

    fn count(&mut self, result: Option<SendResult>) {
        match result {
            Some(SendResult::Sent) => self.sent += 1,
            Some(SendResult::Retry { .. }) => self.retried += 1,
            // `None`: the send task panicked; its claim expires and it is retried.
            Some(SendResult::Failed(_)) | None => self.failed += 1,
            Some(SendResult::Suppressed(_)) => self.suppressed += 1,
        }
    }
}

/// The sender of one replica.
#[derive(Clone)]
pub struct Sender {
    store: Store,
    service: Arc<AlertService>,
    owner: String,
    settings: SenderSettings,
}

impl Sender {
    pub fn new(store: Store, service: Arc<AlertService>, settings: SenderSettings) -> Sender {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let owner =
            format!("{host}/{}/{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Sender { store, service, owner, settings }
    }

    /// Claims and sends every due alert (batch after batch) and waits for
    /// the sends to finish; answers what happened.
    ///
    /// Errors: the database fails (what was sent stays recorded).
    pub async fn tick(&self) -> anyhow::Result<SendReport> {
        let mut report = SendReport::default();
        let mut in_flight = JoinSet::new();
        loop {
            self.dispatch(&mut in_flight).await?;
            if in_flight.is_empty() {
                return Ok(report);
            }
            let mut done = Vec::new();
            while let Some(finished) = in_flight.join_next().await {
                done.extend(finished.ok());
            }
            for (_, result) in &done {
                report.count(Some(result.clone()));
            }
            self.record(&done).await?;
        }
    }

    /// Records finished sends, all in one transaction (one fsync on SQLite,
    /// where the sender shares the single writer with ingest).
    ///
    /// Errors: the database fails; those claims expire and the alerts are
    /// sent again (at least once).
    async fn record(&self, done: &[(i64, SendResult)]) -> anyhow::Result<()> {
        if !done.is_empty() {
            self.store.alerts().finish_alerts(&self.owner, done, Utc::now().timestamp()).await?;
        }
        Ok(())
    }

    /// Collects every send that has ended (waiting for none) and records them.
    async fn record_finished(
        &self,
        first: Option<(i64, SendResult)>,
        in_flight: &mut JoinSet<(i64, SendResult)>,
    ) {
        let mut done: Vec<_> = first.into_iter().collect();
        while let Some(finished) = in_flight.try_join_next() {
            done.extend(finished.ok());
        }
        if let Err(err) = self.record(&done).await {
            tracing::warn!(error = %format!("{err:#}"), "could not record alert outcomes; they will be sent again");
        }
    }

    /// Claims due alerts while fewer than [`MAX_IN_FLIGHT`] sends run, and
    /// starts one task per alert, so one slow receiver holds up only its
    /// own alerts. Each task answers `(alert id, outcome)` for [`Self::record`].
    async fn dispatch(&self, in_flight: &mut JoinSet<(i64, SendResult)>) -> anyhow::Result<()> {
        loop {
            let room = MAX_IN_FLIGHT.saturating_sub(in_flight.len());
            let now = Utc::now().timestamp();
            // A read first: most wake-ups (every ingested change) find
            // nothing due, and must not queue behind ingest for the writer.
            if room == 0 || !self.store.alerts().has_due_alerts(now).await? {
                return Ok(());
            }
            let limit = room.min(BATCH) as i64;
            let claimed =
                self.store.alerts().claim_alerts(&self.owner, now, now + LEASE_SECONDS, limit).await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let config: Arc<AlertConfig> = Arc::new(match self.store.alerts().alert_config().await? {
                Some(stored) => serde_json::from_str(&stored.document)?,
                None => AlertConfig::default(),
            });
            for alert in claimed {
                let (sender, config) = (self.clone(), config.clone());
                in_flight.spawn(async move {
                    let result = sender.attempt(&config, &alert).await;
                    log(&alert, &result);
                    (alert.id, result)
                });
            }
        }
    }

    /// A failure alert decided before its failed job's reason was recorded
    /// (no error line) gets the failure facts recorded since; on a read
    /// error it is sent as decided.
    async fn with_late_reason(&self, alert: &AlertRecord, details: AlertDetails) -> AlertDetails {
        let (Some(build_id), Some(_), None) = (alert.build_id, &details.failed_job, &details.error_line)
        else {
            return details;
        };
        match failure_facts_now(&self.store, build_id, Utc::now().timestamp()).await {
            Ok(Some(facts)) if !facts.reason_pending => details.with_failure(&facts),
            Ok(_) => details,
            Err(error) => {
                tracing::warn!(%error, alert = alert.id, "failure facts not read; sent as decided");
                details
            }
        }
    }

    async fn attempt(&self, config: &AlertConfig, alert: &AlertRecord) -> SendResult {
        let Some(channel) = config.channel(&alert.channel_id) else {
            return SendResult::Suppressed(format!("channel {:?} is no longer configured", alert.channel_id));
        };
        let details: AlertDetails = serde_json::from_str(&alert.details).unwrap_or_else(|_| AlertDetails {
            kind: alert.kind.clone(),
            title: alert.subject.clone(),
            ..AlertDetails::default()
        });
        let details = self.with_late_reason(alert, details).await;
        let ctx = TemplateContext::new(alert.id, &alert.rule_id, alert.created_at, &details);
        let out = Outbound {
            templates: &self.service.templates,
            http: &self.service.http,
            timeout: self.service.send_timeout,
            addresses: self.service.validate.addresses,
        };
        match channels::deliver(out, &channel.target, config.smtp.as_ref(), &ctx).await {
            Ok(()) => SendResult::Sent,
            Err(error) => {
                let attempt = alert.attempts + 1;
                if attempt >= self.settings.max_attempts {
                    SendResult::Failed(format!("{error} (gave up after {attempt} attempts)"))
                } else {
                    let delay = self.settings.backoff(attempt);
                    let next = Utc::now() + chrono::Duration::milliseconds(delay.as_millis() as i64);
                    // Unix seconds, rounded up so a sub-second delay still waits.
                    let next_attempt_at = next.timestamp() + i64::from(next.timestamp_subsec_millis() > 0);
                    SendResult::Retry { error, next_attempt_at }
                }
            }
        }
    }

    /// Dispatches on every change event, every `poll` and whenever a send
    /// ends, until `shutdown` resolves; sends under way then are finished
    /// and recorded before it returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut changes = self.store.subscribe();
        let mut in_flight = JoinSet::new();
        loop {
            if let Err(err) = self.dispatch(&mut in_flight).await {
                tracing::warn!(error = %format!("{err:#}"), "alert sender could not reach the database");
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll) => {}
                _ = changes.recv() => {
                    // One dispatch (one indexed read when nothing is due) per
                    // burst of changes. A pause here would add its length to
                    // every alert's latency; the ingest benchmark showed no
                    // cost from waking this often.
                    while changes.try_recv().is_ok() {}
                }
                Some(finished) = in_flight.join_next(), if !in_flight.is_empty() => {
                    self.record_finished(finished.ok(), &mut in_flight).await;
                }
                () = &mut shutdown => break,
            }
        }
        while let Some(finished) = in_flight.join_next().await {
            self.record_finished(finished.ok(), &mut in_flight).await;
        }
    }
}

/// One log line per attempt (ids and outcome, never addresses or URLs),
/// and the `alert_deliveries_total{channel_type, outcome}` counter.
fn log(alert: &AlertRecord, result: &SendResult) {
    let outcome = match result {
        SendResult::Sent => "sent",
        SendResult::Retry { .. } => "retry",
        SendResult::Failed(_) => "failed",
        SendResult::Suppressed(_) => "suppressed",
    };
    metrics::counter!("alert_deliveries_total", "channel_type" => alert.channel_type.clone(), "outcome" => outcome)
        .increment(1);
    let (id, rule, channel) = (alert.id, alert.rule_id.as_str(), alert.channel_id.as_str());
    match result {
        SendResult::Sent => tracing::info!(alert.id = id, rule, channel, "alert sent"),
        SendResult::Retry { error, .. } => {
            tracing::warn!(alert.id = id, rule, channel, %error, "alert not sent; will retry")
        }
        SendResult::Failed(error) => tracing::error!(alert.id = id, rule, channel, %error, "alert failed"),
        SendResult::Suppressed(reason) => {
            tracing::info!(alert.id = id, rule, channel, %reason, "alert suppressed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = SenderSettings {
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(60),
            ..Default::default()
        };
        let got: Vec<u64> = (1..=6).map(|a| s.backoff(a).as_secs()).collect();
        assert_eq!(got, [5, 10, 20, 40, 60, 60]);
    }
}
