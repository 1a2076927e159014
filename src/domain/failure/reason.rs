//! A failed job's reason, put together from what is known of it: its
//! check-run annotations (GitHub), the error lines of its log excerpt (when
//! logs are fetched), GitLab's `failure_reason`; then its failure signature
//! and its class (infrastructure or code).
//!
//! Rules (the README's definitions table repeats them):
//! - **error lines**: the `failure`-level annotation messages first, then
//!   the log excerpt's error lines ([`super::error_lines`]), repeated lines
//!   kept once, at most [`MAX_ERROR_LINES`];
//! - **source**: `annotation` when an annotation gave a line, else `log`
//!   when the log did, else `failure_reason` when GitLab gave one (it is
//!   then the only error line), else `none`;
//! - **signature**: the signature ([`super::Signature`]) of the first error
//!   line that is not only the runner's "Process completed with exit code
//!   N" (that line says nothing of the cause; it is used when it is the
//!   only one); `None` without error lines;
//! - **class**: [`super::Classifier`] over the conclusion, the
//!   `failure_reason` and every error line.

use std::sync::LazyLock;

use regex::Regex;

use super::{Classifier, FailureClass, FailureFacts, Signature};

/// Error lines kept per failed job.
pub const MAX_ERROR_LINES: usize = 20;

/// Where a failed job's error lines came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonSource {
    Annotation,
    Log,
    FailureReason,
    None,
}

impl ReasonSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonSource::Annotation => "annotation",
            ReasonSource::Log => "log",
            ReasonSource::FailureReason => "failure_reason",
            ReasonSource::None => "none",
        }
    }
}

/// What is known of one failed job.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReasonInput<'a> {
    pub conclusion: Option<&'a str>,
    /// GitLab's `failure_reason`, as given.
    pub failure_reason: Option<&'a str>,
    /// Messages of the job's `failure`-level check-run annotations.
    pub annotations: &'a [String],
    /// The last lines of the job's log, when fetched.
    pub log: Option<&'a str>,
}

/// A failed job's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureReason {
    pub source: ReasonSource,
    pub error_lines: Vec<String>,
    pub signature: Option<Signature>,
    pub class: FailureClass,
}

static EXIT_ONLY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)^(##\[error\])?\s*process completed with exit code \d+\.?\s*$").ok());

fn exit_only(line: &str) -> bool {
    EXIT_ONLY.as_ref().is_some_and(|re| re.is_match(line.trim()))
}

/// The reason of one failed job (rules in the module doc).
pub fn reason(input: &ReasonInput, classifier: &Classifier) -> FailureReason {
    let mut lines: Vec<String> = Vec::new();
    let push = |line: String, lines: &mut Vec<String>| {
        let line = line.trim().to_owned();
        if !line.is_empty() && lines.len() < MAX_ERROR_LINES && !lines.contains(&line) {
            lines.push(line);
        }
    };
    for message in input.annotations {
        // An annotation may hold several lines; each counts.
        for line in message.lines() {
            push(super::extract::capped(line), &mut lines);
        }
    }
    let from_annotations = lines.len();
    if let Some(log) = input.log {
        for line in super::error_lines(log, MAX_ERROR_LINES) {
            push(line, &mut lines);
        }
    }
    let reason_text = input.failure_reason.map(str::trim).filter(|r| !r.is_empty());
    let source = if from_annotations > 0 {
        ReasonSource::Annotation
    } else if !lines.is_empty() {
        ReasonSource::Log
    } else if let Some(text) = reason_text {
        lines.push(text.to_owned());
        ReasonSource::FailureReason
    } else {
        ReasonSource::None
    };
    let signature = lines
        .iter()
        .filter(|l| !exit_only(l))
        .find_map(|l| Signature::of(l))
        .or_else(|| lines.iter().find_map(|l| Signature::of(l)));
    let class = classifier.classify(&FailureFacts {
        conclusion: input.conclusion,
        failure_reason: input.failure_reason,
        messages: &lines,
    });
    FailureReason { source, error_lines: lines, signature, class }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        Classifier::new(&["artifactory .* unavailable".to_owned()]).expect("valid patterns")
    }

    #[test]
    fn annotations_come_first_and_the_exit_line_is_not_the_signature() {
        let annotations = vec!["Process completed with exit code 1.".to_owned()];
        let log = "2024-01-01T00:00:01.0000000Z error[E0308]: mismatched types\n\
                   2024-01-01T00:00:02.0000000Z ##[error]Process completed with exit code 1.\n";
        let input = ReasonInput {
            conclusion: Some("failure"),
            annotations: &annotations,
            log: Some(log),
            ..ReasonInput::default()
        };
        let got = reason(&input, &classifier());
        assert_eq!(got.source, ReasonSource::Annotation);
        assert_eq!(
            got.error_lines,
            vec![
                "Process completed with exit code 1.",
                "error[E0308]: mismatched types",
                "##[error]Process completed with exit code 1."
            ]
        );
        assert_eq!(got.signature.expect("a signature").text, "error[E<n>]: mismatched types");
        assert_eq!(got.class, FailureClass::Code);
    }

    #[test]
    fn the_exit_line_alone_is_still_a_signature() {
        let annotations = vec!["Process completed with exit code 137.".to_owned()];
        let input =
            ReasonInput { conclusion: Some("failure"), annotations: &annotations, ..Default::default() };
        let got = reason(&input, &classifier());
        assert_eq!(got.signature.expect("a signature").text, "Process completed with exit code <n>.");
        assert_eq!(got.class, FailureClass::Infrastructure { reason: "out_of_memory".into() });
    }

    #[test]
    fn gitlab_failure_reason_when_nothing_else() {
        let input = ReasonInput {
            conclusion: Some("failed"),
            failure_reason: Some("runner_system_failure"),
            ..Default::default()
        };
        let got = reason(&input, &classifier());
        assert_eq!(got.source, ReasonSource::FailureReason);
        assert_eq!(got.error_lines, vec!["runner_system_failure"]);
        assert_eq!(got.signature.expect("a signature").text, "runner_system_failure");
        assert_eq!(got.class, FailureClass::Infrastructure { reason: "runner_system_failure".into() });
    }

    #[test]
    fn nothing_known_and_configured_patterns() {
        let got = reason(&ReasonInput { conclusion: Some("failure"), ..Default::default() }, &classifier());
        assert_eq!((got.source, got.error_lines.len(), got.signature), (ReasonSource::None, 0, None));
        let log = "ERROR: artifactory mirror is unavailable\n";
        let got = reason(&ReasonInput { log: Some(log), ..Default::default() }, &classifier());
        assert_eq!(got.source, ReasonSource::Log);
        assert_eq!(got.class, FailureClass::Infrastructure { reason: "configured".into() });
    }

    #[test]
    fn lines_are_capped_in_number() {
        let annotations: Vec<String> = (0..40).map(|i| format!("error: thing {i} broke")).collect();
        let got = reason(&ReasonInput { annotations: &annotations, ..Default::default() }, &classifier());
        assert_eq!(got.error_lines.len(), MAX_ERROR_LINES);
    }
}
