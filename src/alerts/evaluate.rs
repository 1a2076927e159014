//! Rules evaluated when a build changes, inside the ingest transaction on
//! its connection: `build_failed`, `started_failing`, `recovered` and
//! `slow_build`. Each alert goes into the outbox in that same transaction
//! (committed with the change or not at all), once per (rule, build
//! attempt, channel) thanks to a unique index. Sending is the sender's job;
//! this module must not do network I/O or slow work.

use crate::secret_box::SecretBox;
use sqlx::AnyConnection;

use super::config::{AlertConfig, Rule, RuleKind, defaults};
use super::message::{AlertDetails, duration_text};
use super::outbox_rows::{AlertKey, rows};
use super::rules::Subject;
use crate::domain::BuildStatus;
use crate::metrics::percentile::percentile;
use crate::store::alerts::{
    BuildFacts, alerted_since, build_facts, config_on, failure_alerted_since, insert_alert, lock_key,
    previous_conclusive, recent_durations,
};
use crate::store::{Backend, StoreError};

/// The alert configuration as one transaction read it: a batch of
/// deliveries committed together reads (and decrypts and parses) it once.
#[derive(Debug, Default)]
pub struct ConfigMemo(Option<Option<AlertConfig>>);

impl ConfigMemo {
    /// The configuration (`None`: none stored, or it cannot be used — logged once).
    async fn get(
        &mut self,
        conn: &mut AnyConnection,
        secrets: Option<&SecretBox>,
    ) -> Result<Option<&AlertConfig>, StoreError> {
        if self.0.is_some() {
            return Ok(self.0.as_ref().and_then(Option::as_ref));
        }
        let config = match config_on(conn, secrets).await {
            Ok(None) => None,
            Ok(Some(document)) => match serde_json::from_str::<AlertConfig>(&document) {
                Ok(config) => Some(config),
                Err(err) => {
                    tracing::warn!(error = %err, "the stored alert configuration does not parse; no alerts evaluated");
                    None
                }
            },
            Err(StoreError::Config(message)) => {
                tracing::warn!(%message, "the alert configuration cannot be read; no alerts evaluated");
                None
            }
            Err(err) => return Err(err),
        };
        Ok(self.0.insert(config).as_ref())
    }
}

/// How many earlier builds `slow_build` takes the p95 of.
const P95_SAMPLE: i64 = 20;

/// What a rule decided about a build.
pub(super) enum Decision {
    Send(AlertDetails),
    /// Record it, but do not send (why).
    Suppress(AlertDetails, String),
}

/// The cooldown key of a build's pipeline: `repo|workflow|branch`, led by
/// `provider:` for every provider but GitHub (whose keys predate the other
/// providers and stay as they were), so one repository name on two
/// providers is two pipelines.
pub fn rule_key(provider: &str, repo: &str, workflow: Option<&str>, branch: Option<&str>) -> String {
    let pipeline = format!("{repo}|{}|{}", workflow.unwrap_or(""), branch.unwrap_or(""));
    if provider == "github" || provider.is_empty() { pipeline } else { format!("{provider}:{pipeline}") }
}

/// Evaluates the build-change rules for build `build_id`, changed at `now`
/// (Unix seconds), and enqueues their alerts on `conn`; answers the ids of
/// the alerts created (to announce once committed). Only an attempt
/// that is `success`, `failed` or `cancelled` is considered. A stored
/// configuration that does not parse is logged and skipped: alerts never
/// fail ingestion.
///
/// Errors: SQL failures (the caller's transaction then fails as a whole).
pub async fn after_build_change(
    conn: &mut AnyConnection,
    backend: Backend,
    secrets: Option<&SecretBox>,
    build_id: i64,
    now: i64,
    memo: &mut ConfigMemo,
) -> Result<Vec<i64>, StoreError> {
    let Some(config) = memo.get(conn, secrets).await? else {
        return Ok(Vec::new());
    };
    let on_change = |r: &&Rule| {
        matches!(
            r.kind,
            RuleKind::BuildFailed | RuleKind::StartedFailing | RuleKind::Recovered | RuleKind::SlowBuild
        )
    };
    if !config.rules.iter().any(|r| on_change(&r)) {
        return Ok(Vec::new());
    }
    let Some(facts) = build_facts(conn, build_id).await? else {
        return Ok(Vec::new());
    };
    if !matches!(facts.status, BuildStatus::Success | BuildStatus::Failed | BuildStatus::Cancelled) {
        return Ok(Vec::new());
    }
    let subject = Subject {
        repo: &facts.repo,
        workflow: facts.workflow.as_deref(),
        branch: facts.branch.as_deref(),
        event: facts.event.as_deref(),
        provider: Some(facts.provider.as_str()),
    };
    let rules: Vec<&Rule> =
        config.rules.iter().filter(on_change).filter(|r| r.applies_to(&subject)).collect();
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let key = rule_key(&facts.provider, &facts.repo, facts.workflow.as_deref(), facts.branch.as_deref());
    lock_key(conn, backend, &key).await?;
    let mut created = Vec::new();
    let mut previous = None;
    let failure = match facts.status {
        BuildStatus::Failed => super::failure_facts::failure_facts(conn, facts.id, now).await?,
        _ => None,
    };
    for rule in rules {
        let decision = match rule.kind {
            RuleKind::BuildFailed => build_failed(rule, &facts),
            RuleKind::StartedFailing | RuleKind::Recovered => {
                if previous.is_none() {
                    previous = Some(
                        previous_conclusive(conn, &facts, &[BuildStatus::Success, BuildStatus::Failed])
                            .await?,
                    );
                }
                let before = previous.flatten().map(|(_, status, _)| status);
                edge(conn, rule, &facts, before).await?
            }
            RuleKind::SlowBuild => {
                if alerted_since(conn, &rule.id, &key, now - rule.cooldown_seconds()).await? {
                    None
                } else {
                    slow_build(conn, rule, &facts).await?
                }
            }
            RuleKind::FailureRate
            | RuleKind::Stuck
            | RuleKind::QueueTime
            | RuleKind::Flaky
            | RuleKind::FlakyTest
            | RuleKind::DeploymentFailed
            | RuleKind::ChangeFailureRate => None,
        };
        let decision = decision.and_then(|d| with_failure(d, rule, &facts, failure.as_ref()));
        if let Some(mut decision) = decision {
            super::failed_tests::name_failed_tests(conn, &mut decision, facts.id).await?;
            let send_after = now + reason_wait(rule, failure.as_ref());
            created.extend(enqueue(conn, config, rule, &facts, &key, decision, (now, send_after)).await?);
        }
    }
    Ok(created)
}

/// A failure alert (`build_failed`, `started_failing` about a failed
/// attempt) gets the failure facts, or is dropped when the rule's
/// `failure_class` leaves its class out; other decisions pass unchanged.
fn with_failure(
    decision: Decision,
    rule: &Rule,
    facts: &BuildFacts,
    failure: Option<&super::failure_facts::FailureAlertFacts>,
) -> Option<Decision> {
    let failing = facts.status == BuildStatus::Failed
        && matches!(rule.kind, RuleKind::BuildFailed | RuleKind::StartedFailing);
    if !failing {
        return Some(decision);
    }
    if !super::failure_facts::class_allows(rule, failure) {
        return None;
    }
    let add = |details: AlertDetails| match failure {
        Some(failure) => details.with_failure(failure),
        None => details,
    };
    Some(match decision {
        Decision::Send(details) => Decision::Send(add(details)),
        Decision::Suppress(details, why) => Decision::Suppress(add(details), why),
    })
}

fn build_failed(rule: &Rule, facts: &BuildFacts) -> Option<Decision> {
    let headline = match facts.status {
        BuildStatus::Failed => "Build failed",
        BuildStatus::Cancelled if rule.include_cancelled => "Build cancelled",
        _ => return None,
    };
    let reason =
        format!("the attempt ended {}", facts.conclusion.as_deref().unwrap_or(facts.status.as_str()));
    Some(Decision::Send(AlertDetails::for_build("build_failed", headline, facts, Some(reason))))
}

/// `started_failing`: failed, and the previous conclusive build of the
/// pipeline succeeded (or there is none). `recovered`: succeeded, the
/// previous one failed — sent only if a failure alert went out for the
/// streak, else recorded as suppressed.
async fn edge(
    conn: &mut AnyConnection,
    rule: &Rule,
    facts: &BuildFacts,
    before: Option<BuildStatus>,
) -> Result<Option<Decision>, StoreError> {
    Ok(match (rule.kind, facts.status, before) {
        (RuleKind::StartedFailing, BuildStatus::Failed, None | Some(BuildStatus::Success)) => {
            let reason = match before {
                None => "the first conclusive attempt of this pipeline failed".to_owned(),
                Some(_) => "the previous attempt of this pipeline succeeded".to_owned(),
            };
            Some(Decision::Send(AlertDetails::for_build(
                "started_failing",
                "Started failing",
                facts,
                Some(reason),
            )))
        }
        (RuleKind::Recovered, BuildStatus::Success, Some(BuildStatus::Failed)) => {
            let since = previous_conclusive(conn, facts, &[BuildStatus::Success])
                .await?
                .map_or((i64::MIN, i64::MIN), |(id, _, at)| (at, id));
            let details = AlertDetails::for_build(
                "recovered",
                "Recovered",
                facts,
                Some("succeeded after a failure streak".to_owned()),
            );
            if failure_alerted_since(conn, facts, since).await? {
                Some(Decision::Send(details))
            } else {
                Some(Decision::Suppress(details, "no failure alert was sent for this failure streak".into()))
            }
        }
        _ => None,
    })
}

/// `slow_build`: a conclusive attempt longer than `duration_seconds`, or
/// than `threshold` × the p95 of the pipeline's last 20 conclusive
/// attempts (needing at least `min_builds` of them).
async fn slow_build(
    conn: &mut AnyConnection,
    rule: &Rule,
    facts: &BuildFacts,
) -> Result<Option<Decision>, StoreError> {
    let Some(duration) = facts.duration_seconds.filter(|_| facts.status != BuildStatus::Cancelled) else {
        return Ok(None);
    };
    let (limit, how) = match (rule.duration_seconds, rule.threshold) {
        (Some(limit), _) => (limit as f64, format!("the limit of {}", duration_text(limit))),
        (None, Some(multiple)) => {
            let mut recent: Vec<f64> =
                recent_durations(conn, facts, P95_SAMPLE).await?.into_iter().map(|d| d as f64).collect();
            if (recent.len() as i64) < rule.min_builds.unwrap_or(defaults::MIN_BUILDS) {
                return Ok(None);
            }
            recent.sort_by(f64::total_cmp);
            let Some(p95) = percentile(&recent, 0.95) else {
                return Ok(None);
            };
            (p95 * multiple, format!("{multiple}× the recent p95 of {}", duration_text(p95.round() as i64)))
        }
        (None, None) => return Ok(None),
    };
    if (duration as f64) <= limit {
        return Ok(None);
    }
    let reason = format!("took {}, over {how}", duration_text(duration));
    Ok(Some(Decision::Send(AlertDetails::for_build("slow_build", "Slow build", facts, Some(reason)))))
}

/// Seconds a failure alert of `rule` waits for its failed job's reason:
/// the rule's `wait_for_reason_seconds` while the reason is not recorded
/// (0 otherwise, and for every other alert).
fn reason_wait(rule: &Rule, failure: Option<&super::failure_facts::FailureAlertFacts>) -> i64 {
    match failure {
        Some(failure) if failure.reason_pending => rule.wait_for_reason_seconds.unwrap_or(0),
        _ => 0,
    }
}

/// Enqueues `decision` at `now`, not to be sent before `send_after`.
async fn enqueue(
    conn: &mut AnyConnection,
    config: &AlertConfig,
    rule: &Rule,
    facts: &BuildFacts,
    key: &str,
    decision: Decision,
    (now, send_after): (i64, i64),
) -> Result<Vec<i64>, StoreError> {
    let (details, status, error) = match decision {
        Decision::Send(details) => (details, "pending", None),
        Decision::Suppress(details, why) => (details, "suppressed", Some(why)),
    };
    let dedup_key = facts.id.to_string();
    let key = AlertKey { rule_key: key, dedup_key: &dedup_key, build_id: Some(facts.id) };
    let mut alerts = rows(config, rule, &key, &details, status, error.as_deref(), now)
        .map_err(|e| StoreError::Invariant(e.to_string()))?;
    let mut created = Vec::new();
    for alert in &mut alerts {
        alert.send_after = send_after;
        created.extend(insert_alert(conn, alert).await?);
    }
    Ok(created)
}
