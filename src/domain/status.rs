//! Status vocabularies: the provider's raw `status` / `conclusion` strings and
//! the normalised [`BuildStatus`] the API, metrics and page use.
//!
//! GitHub's values are documented at
//! <https://docs.github.com/en/rest/actions/workflow-runs> (`status` and
//! `conclusion` query parameters) and in the `workflow_run` / `workflow_job`
//! webhook payload docs. The vocabularies are open: a value nobody documented
//! yet is stored verbatim and normalises to [`BuildStatus::Unknown`].

use serde::Serialize;

pub use super::provider::ProviderKind;

/// An open vocabulary of a provider: the documented values as variants,
/// anything newer kept verbatim as `Other`, so nothing compares strings
/// after the edge and nothing is lost.
macro_rules! open_vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value nobody documented yet, kept as sent.
            Other(String),
        }

        impl $name {
            /// The value a provider sent as `text`.
            pub fn parse(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The provider's text, as stored and answered.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }
    };
}

open_vocabulary!(
    /// A provider's raw `status` of a run attempt or job (`provider_status`),
    /// parsed once at the edge. GitHub's values, then GitLab's unfinished
    /// ones (a finished GitLab pipeline or job is stored as `completed`
    /// with GitLab's status as its conclusion, see `providers::gitlab`),
    /// then the dashboard's own `tests_reported`: the placeholder of an
    /// attempt known only from a test-results upload, which no provider
    /// sends and every real delivery replaces.
    RunStatus {
        Requested = "requested",
        Queued = "queued",
        Pending = "pending",
        Waiting = "waiting",
        InProgress = "in_progress",
        Completed = "completed",
        Created = "created",
        WaitingForResource = "waiting_for_resource",
        Preparing = "preparing",
        Manual = "manual",
        Scheduled = "scheduled",
        Running = "running",
        TestsReported = "tests_reported",
    }
);

open_vocabulary!(
    /// A provider's raw `conclusion` of a completed run attempt or job,
    /// parsed once at the edge.
    Conclusion {
        Success = "success",
        Failure = "failure",
        TimedOut = "timed_out",
        StartupFailure = "startup_failure",
        Cancelled = "cancelled",
        Skipped = "skipped",
        Neutral = "neutral",
        ActionRequired = "action_required",
        Stale = "stale",
        Failed = "failed",
        Canceled = "canceled",
    }
);

impl RunStatus {
    /// Progress order, so that a state never moves backwards:
    /// `tests_reported` (0, a placeholder: any real state replaces it) <
    /// `requested` / `created` (1) < `queued` / `pending` /
    /// `waiting_for_resource` / `preparing` (2) < `waiting` / `manual` /
    /// `scheduled` (3) < `in_progress` / `running` (4) < `completed` (5). A
    /// status nobody documented yet ranks 2 (as queued): it can replace a
    /// `requested` but never a running or completed state.
    pub fn rank(&self) -> u8 {
        match self {
            RunStatus::TestsReported => 0,
            RunStatus::Requested | RunStatus::Created => 1,
            RunStatus::Queued
            | RunStatus::Pending
            | RunStatus::WaitingForResource
            | RunStatus::Preparing
            | RunStatus::Other(_) => 2,
            RunStatus::Waiting | RunStatus::Manual | RunStatus::Scheduled => 3,
            RunStatus::InProgress | RunStatus::Running => 4,
            RunStatus::Completed => 5,
        }
    }

    /// Whether a runner is on it or done with it (`in_progress`, `running`
    /// or `completed`).
    pub fn has_started(&self) -> bool {
        matches!(self, RunStatus::InProgress | RunStatus::Running | RunStatus::Completed)
    }

    /// Whether the provider reports it finished.
    pub fn is_completed(&self) -> bool {
        *self == RunStatus::Completed
    }
}

/// The normalised status of a run attempt or job.
///
/// Derived from the raw provider `status` and `conclusion` by
/// [`BuildStatus::from_provider`]:
///
/// | provider status | conclusion | normalised |
/// |---|---|---|
/// | `requested`, `queued`, `pending`, `waiting` | – | `queued` |
/// | `created`, `waiting_for_resource`, `preparing`, `manual`, `scheduled` (GitLab) | – | `queued` |
/// | `in_progress`, `running` (GitLab) | – | `running` |
/// | `completed` | `success` | `success` |
/// | `completed` | `failure`, `timed_out`, `startup_failure`, `failed` (GitLab) | `failed` |
/// | `completed` | `cancelled`, `canceled` (GitLab) | `cancelled` |
/// | `completed` | `skipped` | `skipped` |
/// | `completed` | `neutral` | `neutral` |
/// | `completed` | `action_required` | `action_required` |
/// | `completed` | `stale` | `stale` |
/// | `tests_reported` (the dashboard's placeholder, see [`RunStatus`]) | – | `tests_reported` |
/// | anything else | | `unknown` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    Queued,
    Running,
    Success,
    Failed,
    Cancelled,
    Skipped,
    Neutral,
    ActionRequired,
    Stale,
    Unknown,
    /// Known only from a test-results upload: neither running nor finished.
    TestsReported,
}

impl BuildStatus {
    /// Every normalised status, in display order.
    pub const ALL: [BuildStatus; 11] = [
        BuildStatus::Queued,
        BuildStatus::Running,
        BuildStatus::Success,
        BuildStatus::Failed,
        BuildStatus::Cancelled,
        BuildStatus::Skipped,
        BuildStatus::Neutral,
        BuildStatus::ActionRequired,
        BuildStatus::Stale,
        BuildStatus::Unknown,
        BuildStatus::TestsReported,
    ];

    /// Normalises a raw provider `status` and `conclusion` (table above).
    pub fn from_provider(status: &RunStatus, conclusion: Option<&Conclusion>) -> Self {
        match status {
            RunStatus::Requested
            | RunStatus::Queued
            | RunStatus::Pending
            | RunStatus::Waiting
            | RunStatus::Created
            | RunStatus::WaitingForResource
            | RunStatus::Preparing
            | RunStatus::Manual
            | RunStatus::Scheduled => BuildStatus::Queued,
            RunStatus::InProgress | RunStatus::Running => BuildStatus::Running,
            RunStatus::Completed => match conclusion {
                Some(Conclusion::Success) => BuildStatus::Success,
                Some(
                    Conclusion::Failure
                    | Conclusion::TimedOut
                    | Conclusion::StartupFailure
                    | Conclusion::Failed,
                ) => BuildStatus::Failed,
                Some(Conclusion::Cancelled | Conclusion::Canceled) => BuildStatus::Cancelled,
                Some(Conclusion::Skipped) => BuildStatus::Skipped,
                Some(Conclusion::Neutral) => BuildStatus::Neutral,
                Some(Conclusion::ActionRequired) => BuildStatus::ActionRequired,
                Some(Conclusion::Stale) => BuildStatus::Stale,
                Some(Conclusion::Other(_)) | None => BuildStatus::Unknown,
            },
            RunStatus::TestsReported => BuildStatus::TestsReported,
            RunStatus::Other(_) => BuildStatus::Unknown,
        }
    }

    /// Whether an attempt with this status is conclusive: it either
    /// succeeded or failed (the population of rates and build times).
    pub fn is_conclusive(self) -> bool {
        matches!(self, BuildStatus::Success | BuildStatus::Failed)
    }

    /// Whether an attempt with this status has finished: every status but
    /// `queued`, `running`, `unknown` and `tests_reported` (a job of a
    /// finished attempt never gets a runner).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            BuildStatus::Queued | BuildStatus::Running | BuildStatus::Unknown | BuildStatus::TestsReported
        )
    }

    /// The snake_case name stored in the `status` column and answered by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Queued => "queued",
            BuildStatus::Running => "running",
            BuildStatus::Success => "success",
            BuildStatus::Failed => "failed",
            BuildStatus::Cancelled => "cancelled",
            BuildStatus::Skipped => "skipped",
            BuildStatus::Neutral => "neutral",
            BuildStatus::ActionRequired => "action_required",
            BuildStatus::Stale => "stale",
            BuildStatus::Unknown => "unknown",
            BuildStatus::TestsReported => "tests_reported",
        }
    }

    /// Parses [`BuildStatus::as_str`] back; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        BuildStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status stored as `text` in a `status` column; a text this
    /// version does not know reads as [`BuildStatus::Unknown`].
    pub fn from_stored(text: &str) -> Self {
        BuildStatus::parse(text).unwrap_or(BuildStatus::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_conclusion_normalises() {
        let cases = [
            ("success", BuildStatus::Success),
            ("failure", BuildStatus::Failed),
            ("timed_out", BuildStatus::Failed),
            ("startup_failure", BuildStatus::Failed),
            ("cancelled", BuildStatus::Cancelled),
            ("skipped", BuildStatus::Skipped),
            ("neutral", BuildStatus::Neutral),
            ("action_required", BuildStatus::ActionRequired),
            ("stale", BuildStatus::Stale),
            ("failed", BuildStatus::Failed),
            ("canceled", BuildStatus::Cancelled),
            ("brand_new_value", BuildStatus::Unknown),
        ];
        for (conclusion, want) in cases {
            let parsed = Conclusion::parse(conclusion);
            assert_eq!(
                BuildStatus::from_provider(&RunStatus::Completed, Some(&parsed)),
                want,
                "{conclusion}"
            );
            assert_eq!(parsed.as_str(), conclusion, "kept verbatim");
        }
        assert_eq!(BuildStatus::from_provider(&RunStatus::Completed, None), BuildStatus::Unknown);
    }

    #[test]
    fn unfinished_statuses_normalise_and_ignore_conclusion() {
        for s in [
            "requested",
            "queued",
            "pending",
            "waiting",
            "created",
            "waiting_for_resource",
            "preparing",
            "manual",
            "scheduled",
        ] {
            assert_eq!(BuildStatus::from_provider(&RunStatus::parse(s), None), BuildStatus::Queued);
            assert_eq!(RunStatus::parse(s).as_str(), s, "kept verbatim");
        }
        assert_eq!(BuildStatus::from_provider(&RunStatus::parse("running"), None), BuildStatus::Running);
        let failure = Conclusion::parse("failure");
        assert_eq!(
            BuildStatus::from_provider(&RunStatus::parse("in_progress"), Some(&failure)),
            BuildStatus::Running
        );
        let mystery = RunStatus::parse("mystery");
        assert_eq!(mystery.as_str(), "mystery", "kept verbatim");
        assert_eq!(BuildStatus::from_provider(&mystery, None), BuildStatus::Unknown);
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        let order = ["requested", "queued", "waiting", "in_progress", "completed"];
        let rank = |s: &str| RunStatus::parse(s).rank();
        for pair in order.windows(2) {
            assert!(rank(pair[0]) < rank(pair[1]), "{pair:?}");
        }
        assert_eq!(rank("pending"), rank("queued"));
        assert!(rank("something_new") < rank("in_progress"));
    }

    #[test]
    fn names_round_trip() {
        for s in BuildStatus::ALL {
            assert_eq!(BuildStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(BuildStatus::parse("failure"), None);
    }
}
