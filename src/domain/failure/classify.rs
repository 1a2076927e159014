//! Infrastructure or code: whether a failed job failed because of the
//! machinery that ran it or because of what it ran.
//!
//! The rule table, checked in order; the first match names the reason, and
//! a failure no rule matches is the code's:
//!
//! | rule | reason |
//! |---|---|
//! | GitLab `failure_reason` is one of GitLab's system reasons (`runner_system_failure`, `stuck_or_timeout_failure`, `job_execution_timeout`, `api_failure`, `scheduler_failure`, `data_integrity_failure`, `runner_unsupported`, `archived_failure`) | that reason |
//! | the conclusion is `timed_out` (GitHub) | `timeout` |
//! | the conclusion is `cancelled` (a newer run or a person cancelled it) | `cancelled` |
//! | a message says the runner was lost or shut down | `runner_lost` |
//! | exit code 137, `Killed`, `OOMKilled`, "out of memory", "Cannot allocate memory" | `out_of_memory` |
//! | "No space left on device" | `disk_full` |
//! | DNS, connection reset/refused/timed out, TLS handshake timeout, HTTP 502/503/504 from a registry | `network` |
//! | a configured pattern (`--infra-failure-pattern`, a regular expression) matches a message | `configured` |
//!
//! Messages are matched raw (not normalised), case-insensitively.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// GitLab's `failure_reason` values that mean the infrastructure failed.
pub const GITLAB_SYSTEM_REASONS: &[&str] = &[
    "runner_system_failure",
    "stuck_or_timeout_failure",
    "job_execution_timeout",
    "api_failure",
    "scheduler_failure",
    "data_integrity_failure",
    "runner_unsupported",
    "archived_failure",
];

/// Message rules: (reason, patterns), in table order.
const MESSAGE_RULES: &[(&str, &[&str])] = &[
    (
        "runner_lost",
        &[
            r"runner has received a shutdown signal",
            r"lost communication with the server",
            r"the (self-hosted|hosted) runner.*(lost|encountered an error)",
            r"runner .* (did not respond|is offline)",
        ],
    ),
    (
        "out_of_memory",
        &[
            r"exit(ed)? (with )?(code|status) 137\b",
            r"\bOOMKilled\b",
            r"\bout of memory\b",
            r"cannot allocate memory",
            r"^\s*Killed\s*$",
        ],
    ),
    ("disk_full", &[r"no space left on device"]),
    (
        "network",
        &[
            r"could not resolve host",
            r"temporary failure in name resolution",
            r"\bE(CONNRESET|CONNREFUSED|TIMEDOUT|AI_AGAIN)\b",
            r"connection (reset by peer|refused|timed out)",
            r"TLS handshake timeout",
            r"\bi/o timeout\b",
            r"\b(502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)\b",
        ],
    ),
];

/// Which side a failure is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureClass {
    /// The runner, the network, the platform; `reason` names the rule.
    Infrastructure { reason: String },
    /// Everything else: the code, its tests, its configuration.
    Code,
}

impl FailureClass {
    /// `infrastructure` or `code`, as stored and answered.
    pub fn kind(&self) -> &'static str {
        match self {
            FailureClass::Infrastructure { .. } => "infrastructure",
            FailureClass::Code => "code",
        }
    }
}

/// What is known of one failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailureFacts<'a> {
    /// The provider's conclusion word (`failure`, `timed_out`, `cancelled`…).
    pub conclusion: Option<&'a str>,
    /// GitLab's `failure_reason`, as given.
    pub failure_reason: Option<&'a str>,
    /// Error messages (annotations, error lines of the log).
    pub messages: &'a [String],
}

/// The rule table with the configured patterns added.
#[derive(Debug, Clone)]
pub struct Classifier {
    rules: Vec<(&'static str, RegexSet)>,
    configured: Vec<Regex>,
}

impl Classifier {
    /// The built-in table plus `patterns` (regular expressions, matched
    /// case-insensitively against each message).
    ///
    /// Errors: a pattern that is not a valid regular expression, named.
    pub fn new(patterns: &[String]) -> Result<Classifier, String> {
        let mut rules = Vec::new();
        for (reason, patterns) in MESSAGE_RULES {
            let set = RegexSetBuilder::new(*patterns)
                .case_insensitive(true)
                .multi_line(true)
                .build()
                .map_err(|e| format!("built-in failure rule {reason}: {e}"))?;
            rules.push((*reason, set));
        }
        let configured = patterns
            .iter()
            .map(|p| {
                RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("infrastructure failure pattern {p:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Classifier { rules, configured })
    }

    /// The class of one failure (the table in the module doc).
    pub fn classify(&self, facts: &FailureFacts) -> FailureClass {
        let infra = |reason: &str| FailureClass::Infrastructure { reason: reason.to_owned() };
        if let Some(reason) = facts.failure_reason.filter(|r| GITLAB_SYSTEM_REASONS.contains(r)) {
            return infra(reason);
        }
        match facts.conclusion {
            Some("timed_out") => return infra("timeout"),
            Some("cancelled" | "canceled") => return infra("cancelled"),
            _ => {}
        }
        for (reason, set) in &self.rules {
            if facts.messages.iter().any(|m| set.is_match(m)) {
                return infra(reason);
            }
        }
        if facts.messages.iter().any(|m| self.configured.iter().any(|r| r.is_match(m))) {
            return infra("configured");
        }
        FailureClass::Code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(conclusion: Option<&str>, reason: Option<&str>, messages: &[&str]) -> FailureClass {
        let messages: Vec<String> = messages.iter().map(|m| (*m).to_owned()).collect();
        let classifier = Classifier::new(&["artifactory .* unavailable".to_owned()]).expect("valid patterns");
        classifier.classify(&FailureFacts { conclusion, failure_reason: reason, messages: &messages })
    }

    fn infra(reason: &str) -> FailureClass {
        FailureClass::Infrastructure { reason: reason.to_owned() }
    }

    #[test]
    fn each_rule_of_the_table() {
        assert_eq!(class(Some("failed"), Some("runner_system_failure"), &[]), infra("runner_system_failure"));
        assert_eq!(class(Some("failed"), Some("script_failure"), &[]), FailureClass::Code);
        assert_eq!(class(Some("timed_out"), None, &[]), infra("timeout"));
        assert_eq!(class(Some("cancelled"), None, &[]), infra("cancelled"));
        assert_eq!(
            class(
                Some("failure"),
                None,
                &[
                    "The runner has received a shutdown signal. This can happen when the runner service is stopped."
                ]
            ),
            infra("runner_lost")
        );
        assert_eq!(
            class(Some("failure"), None, &["##[error]Process completed with exit code 137."]),
            infra("out_of_memory")
        );
        assert_eq!(
            class(
                Some("failure"),
                None,
                &["FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"]
            ),
            infra("out_of_memory")
        );
        assert_eq!(
            class(Some("failure"), None, &["OSError: [Errno 28] No space left on device"]),
            infra("disk_full")
        );
        assert_eq!(
            class(
                Some("failure"),
                None,
                &[
                    "npm ERR! network request to https://registry.npmjs.org/x failed, reason: getaddrinfo EAI_AGAIN"
                ]
            ),
            infra("network")
        );
        assert_eq!(
            class(
                Some("failure"),
                None,
                &["fatal: unable to access 'https://github.com/a/b/': Could not resolve host: github.com"]
            ),
            infra("network")
        );
        assert_eq!(
            class(Some("failure"), None, &["Artifactory at repo.local is unavailable"]),
            infra("configured")
        );
    }

    #[test]
    fn code_failures_stay_code() {
        assert_eq!(
            class(Some("failure"), None, &["##[error]Process completed with exit code 1."]),
            FailureClass::Code
        );
        assert_eq!(
            class(Some("failure"), None, &["AssertionError: expected 200 but got 503"]),
            FailureClass::Code
        );
        assert_eq!(class(Some("failure"), None, &[]), FailureClass::Code);
        assert_eq!(class(None, None, &["error[E0308]: mismatched types"]).kind(), "code");
    }

    #[test]
    fn a_bad_configured_pattern_is_named() {
        let err = Classifier::new(&["(unclosed".to_owned()]).expect_err("invalid");
        assert!(err.contains("(unclosed"), "{err}");
    }
}
