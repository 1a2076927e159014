//! Outbox rows for one alert: one [`NewAlert`] per channel of the rule
//! that exists in the configuration. Shared by the rules evaluated in the
//! ingest transaction (`evaluate`) and the periodic ones (`periodic`), so
//! both fill the rows the same way. Pure; writing them is the store's.

use super::config::{AlertConfig, Rule};
use super::message::AlertDetails;
use crate::store::alerts::NewAlert;

/// What makes one alert once-only and where its cooldown is counted.
pub struct AlertKey<'a> {
    /// `repo|workflow|branch`: the cooldown key.
    pub rule_key: &'a str,
    /// The build id, or a rule key and time bucket.
    pub dedup_key: &'a str,
    pub build_id: Option<i64>,
}

/// The rows for `details` on every configured channel of `rule`, with
/// `status` (`pending` or `suppressed`) and `error` (why it was suppressed),
/// created at `now` (Unix seconds).
///
/// Errors: `details` cannot be serialised (a bug).
pub fn rows(
    config: &AlertConfig,
    rule: &Rule,
    key: &AlertKey<'_>,
    details: &AlertDetails,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> Result<Vec<NewAlert>, serde_json::Error> {
    let text = serde_json::to_string(details)?;
    Ok(rule
        .channels
        .iter()
        .filter_map(|id| config.channel(id))
        .map(|channel| NewAlert {
            rule_id: rule.id.clone(),
            kind: rule.kind.as_str().into(),
            channel_id: channel.id.clone(),
            channel_type: channel.target.type_name().into(),
            dedup_key: key.dedup_key.to_owned(),
            rule_key: key.rule_key.to_owned(),
            build_id: key.build_id,
            repo: details.repo.clone(),
            workflow: details.workflow.clone(),
            branch: details.branch.clone(),
            subject: details.title.clone(),
            details: text.clone(),
            status: status.into(),
            error: error.map(str::to_owned),
            created_at: now,
            send_after: now,
        })
        .collect())
}

/// Appends the rows of one periodic rule's alert to `out`, each with the
/// instant its cooldown is counted from (`now` − the rule's cooldown).
#[expect(clippy::too_many_arguments, reason = "one alert's fields")]
pub(super) fn push(
    out: &mut Vec<(NewAlert, i64)>,
    config: &AlertConfig,
    rule: &Rule,
    key: &str,
    dedup_key: String,
    build_id: Option<i64>,
    details: AlertDetails,
    now: i64,
) {
    let key = AlertKey { rule_key: key, dedup_key: &dedup_key, build_id };
    let Ok(alerts) = rows(config, rule, &key, &details, "pending", None, now) else { return };
    out.extend(alerts.into_iter().map(|alert| (alert, now - rule.cooldown_seconds())));
}
