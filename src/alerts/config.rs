//! The alert configuration model: SMTP server, channels and rules, as stored
//! (one JSON document in `alert_config`) and as answered (secrets redacted).
//!
//! Secrets (SMTP password, Slack webhook URL, webhook URL and signing
//! secret) live only in this document, so encryption at rest can be added in
//! one place. Validation of untrusted input is in `validate`; this module
//! must not touch the database or the network.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a redacted secret is answered as.
pub const REDACTED: &str = "***";

/// The whole configuration, as `POST /api/alerts/configure` takes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertConfig {
    /// The SMTP server email channels send through; required when any
    /// channel is `email`.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// An SMTP server. `Debug` shows the password as `***`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Secret: answered as `"***"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Sender mailbox, `addr@host` or `Name <addr@host>`.
    pub from: String,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte ("implicit TLS"), usually port 465.
    Tls,
    /// No TLS at all (a local relay only), usually port 25.
    None,
}

impl SmtpSecurity {
    /// The conventional port.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// A named place alerts go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Unique id, referenced by rules (`[A-Za-z0-9_.-]`, 1–64 characters).
    pub id: String,
    #[serde(flatten)]
    pub target: ChannelTarget,
}

/// Where and how a channel delivers. `Debug` redacts URLs and secrets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChannelTarget {
    /// Email to these addresses through [`AlertConfig::smtp`].
    Email { to: Vec<String> },
    /// A Slack incoming webhook (secret: redacted when answered).
    Slack { webhook_url: String },
    /// A JSON POST to `url`, signed with HMAC-SHA256 in
    /// `X-Cicd-Signature-256: sha256=<hex>` when `secret` is set.
    Webhook {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("from", &self.from)
            .finish()
    }
}

impl fmt::Debug for ChannelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelTarget::Email { to } => f.debug_struct("Email").field("to", to).finish(),
            ChannelTarget::Slack { webhook_url } => {
                f.debug_struct("Slack").field("webhook_url", &redact_url(webhook_url)).finish()
            }
            ChannelTarget::Webhook { url, secret } => f
                .debug_struct("Webhook")
                .field("url", &redact_url(url))
                .field("secret", &secret.as_ref().map(|_| REDACTED))
                .finish(),
        }
    }
}

impl ChannelTarget {
    /// `"email"`, `"slack"` or `"webhook"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelTarget::Email { .. } => "email",
            ChannelTarget::Slack { .. } => "slack",
            ChannelTarget::Webhook { .. } => "webhook",
        }
    }
}

/// The kinds of rule (definitions in the README, section *Alerts*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    BuildFailed,
    StartedFailing,
    Recovered,
    FailureRate,
    SlowBuild,
    Stuck,
    QueueTime,
    Flaky,
    FlakyTest,
    DeploymentFailed,
    ChangeFailureRate,
}

impl RuleKind {
    pub const ALL: [RuleKind; 11] = [
        RuleKind::BuildFailed,
        RuleKind::StartedFailing,
        RuleKind::Recovered,
        RuleKind::FailureRate,
        RuleKind::SlowBuild,
        RuleKind::Stuck,
        RuleKind::QueueTime,
        RuleKind::Flaky,
        RuleKind::FlakyTest,
        RuleKind::DeploymentFailed,
        RuleKind::ChangeFailureRate,
    ];

    /// The snake_case name stored in `alerts.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::BuildFailed => "build_failed",
            RuleKind::StartedFailing => "started_failing",
            RuleKind::Recovered => "recovered",
            RuleKind::FailureRate => "failure_rate",
            RuleKind::SlowBuild => "slow_build",
            RuleKind::Stuck => "stuck",
            RuleKind::QueueTime => "queue_time",
            RuleKind::Flaky => "flaky",
            RuleKind::FlakyTest => "flaky_test",
            RuleKind::DeploymentFailed => "deployment_failed",
            RuleKind::ChangeFailureRate => "change_failure_rate",
        }
    }

    pub fn parse(text: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One rule: when it fires (kind and its numbers), for which builds
/// (filters) and where the alert goes (channel ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub kind: RuleKind,
    pub channels: Vec<String>,
    /// Glob on `owner/name` (`*` matches anything, `/` included); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Glob on the workflow name; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Glob on the branch; absent: the default branch (`main` or `master`);
    /// `*` for every branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Exact triggering event (`push`, `pull_request`, …); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// A provider kind (`github`, `gitlab`, `jenkins`, …: a Build's
    /// `provider_kind`); absent: every provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `build_failed`: also alert on cancelled attempts.
    #[serde(default)]
    pub include_cancelled: bool,
    /// `failure_rate`: the rate (0–1) that must be exceeded. `slow_build`:
    /// a multiple of the recent p95 duration (> 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `failure_rate`: window length in minutes. `queue_time`: with it, the
    /// rule watches the queue p95 over this window instead of single jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<i64>,
    /// `failure_rate`: fewest conclusive builds in the window; `queue_time`
    /// over a window: fewest started jobs of the label set;
    /// `slow_build` with `threshold`: fewest earlier builds for a p95.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_builds: Option<i64>,
    /// `slow_build`: duration (seconds) that must be exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// `stuck`: minutes queued or running after which an attempt is stuck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck_minutes: Option<i64>,
    /// `queue_time`: minutes of waiting for a runner that must be exceeded
    /// (by one job, or by the queue p95 over `window_minutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_minutes: Option<i64>,
    /// `queue_time`: glob on a job's runner labels (one label must match,
    /// without case); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// `flaky`: fewest flaky-job occurrences of one job key in the window;
    /// `flaky_test`: fewest flaky occurrences of one test (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_occurrences: Option<i64>,
    /// `failure_rate`, `slow_build`, `stuck`, `queue_time`, `flaky`: minutes after an alert during
    /// which the same rule stays quiet for the same (repo, workflow, branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_minutes: Option<i64>,
    /// `build_failed`, `started_failing`: only failures of this class
    /// (`infrastructure` or `code`, `alerts::failure_facts`); absent: both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<String>,
    /// `build_failed`, `started_failing`: seconds a failure alert waits
    /// for the failed job's reason (error lines, signature) when it is not
    /// recorded yet at the run's completion — the `failure-reasons` job and
    /// the providers' fetchers record it within about a minute — so the
    /// message carries them (0–900; absent or 0: sent at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_reason_seconds: Option<i64>,
}

/// Defaults of the numeric rule fields.
pub mod defaults {
    pub const WINDOW_MINUTES: i64 = 60;
    pub const MIN_BUILDS: i64 = 5;
    pub const COOLDOWN_MINUTES: i64 = 60;
}

impl Rule {
    pub fn cooldown_seconds(&self) -> i64 {
        self.cooldown_minutes.unwrap_or(defaults::COOLDOWN_MINUTES) * 60
    }
}

impl AlertConfig {
    /// The channel with this id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// Whether any rule exists (nothing to evaluate otherwise).
    pub fn has_rules(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The configuration as answered by the API: SMTP password and webhook
    /// secrets as `"***"`, Slack and webhook URLs cut to their origin plus
    /// `/***` (the path carries the token).
    pub fn redacted(&self) -> AlertConfig {
        let mut copy = self.clone();
        if let Some(smtp) = &mut copy.smtp
            && smtp.password.is_some()
        {
            smtp.password = Some(REDACTED.into());
        }
        for channel in &mut copy.channels {
            match &mut channel.target {
                ChannelTarget::Email { .. } => {}
                ChannelTarget::Slack { webhook_url } => *webhook_url = redact_url(webhook_url),
                ChannelTarget::Webhook { url, secret } => {
                    *url = redact_url(url);
                    if secret.is_some() {
                        *secret = Some(REDACTED.into());
                    }
                }
            }
        }
        copy
    }
}

/// `scheme://host[:port]/***`, or `***` when `url` does not parse.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!("{}/{REDACTED}", parsed.origin().ascii_serialization()),
        Err(_) => REDACTED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_every_secret() {
        let config = AlertConfig {
            smtp: Some(SmtpConfig {
                host: "smtp.example.com".into(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: Some("u".into()),
                password: Some("hunter2".into()),
                from: "ci@example.com".into(),
            }),
            channels: vec![
                Channel {
                    id: "s".into(),
                    target: ChannelTarget::Slack {
                        webhook_url: "https://hooks.slack.com/services/T/B/XYZ".into(),
                    },
                },
                Channel {
                    id: "w".into(),
                    target: ChannelTarget::Webhook {
                        url: "https://example.com/hook?token=abc".into(),
                        secret: Some("s3cret".into()),
                    },
                },
            ],
            rules: vec![],
        };
        let text = serde_json::to_string(&config.redacted()).expect("json");
        let debug = format!("{config:?}");
        for secret in ["hunter2", "XYZ", "token=abc", "s3cret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(text.contains("https://hooks.slack.com/***"), "{text}");
    }
}
