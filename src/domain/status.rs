//! Status vocabularies: the provider's raw `status` / `conclusion` strings and
//! the normalised [`BuildStatus`] the API, metrics and page use.
//!
//! GitHub's values are documented at
//! <https://docs.github.com/en/rest/actions/workflow-runs> (`status` and
//! `conclusion` query parameters) and in the `workflow_run` / `workflow_job`
//! webhook payload docs. The vocabularies are open: a value nobody documented
//! yet is stored verbatim and normalises to [`BuildStatus::Unknown`].

use serde::Serialize;

/// Which CI provider a record came from. The provider seam: every provider
/// normalises into the same [`crate::domain::RunAttempt`] and
/// [`crate::domain::Job`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// GitHub Actions (`workflow_run` / `workflow_job` webhooks, REST API).
    GitHub,
}

impl ProviderKind {
    /// Stable machine name stored in `providers.kind` and answered as
    /// `provider_kind` (e.g. `"github"`).
    pub fn kind(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "github",
        }
    }

    /// Human name answered as `provider_name` (e.g. `"GitHub Actions"`).
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "GitHub Actions",
        }
    }

    /// Parses [`ProviderKind::kind`] back; `None` for an unknown kind.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "github" => Some(ProviderKind::GitHub),
            _ => None,
        }
    }
}

/// Progress order of a raw provider `status`, used so that a state never
/// moves backwards: `requested` (0) < `queued`/`pending` (1) < `waiting` (2) <
/// `in_progress` (3) < `completed` (4). A status nobody documented yet ranks
/// 1 (as queued): it can replace a `requested` but never a running or
/// completed state.
pub fn status_rank(provider_status: &str) -> u8 {
    match provider_status {
        "requested" => 0,
        "queued" | "pending" => 1,
        "waiting" => 2,
        "in_progress" => 3,
        "completed" => 4,
        _ => 1,
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
/// | `in_progress` | – | `running` |
/// | `completed` | `success` | `success` |
/// | `completed` | `failure`, `timed_out`, `startup_failure` | `failed` |
/// | `completed` | `cancelled` | `cancelled` |
/// | `completed` | `skipped` | `skipped` |
/// | `completed` | `neutral` | `neutral` |
/// | `completed` | `action_required` | `action_required` |
/// | `completed` | `stale` | `stale` |
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
}

impl BuildStatus {
    /// Every normalised status, in display order.
    pub const ALL: [BuildStatus; 10] = [
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
    ];

    /// Normalises a raw provider `status` and `conclusion` (table above).
    pub fn from_provider(provider_status: &str, conclusion: Option<&str>) -> Self {
        match provider_status {
            "requested" | "queued" | "pending" | "waiting" => BuildStatus::Queued,
            "in_progress" => BuildStatus::Running,
            "completed" => match conclusion {
                Some("success") => BuildStatus::Success,
                Some("failure" | "timed_out" | "startup_failure") => BuildStatus::Failed,
                Some("cancelled") => BuildStatus::Cancelled,
                Some("skipped") => BuildStatus::Skipped,
                Some("neutral") => BuildStatus::Neutral,
                Some("action_required") => BuildStatus::ActionRequired,
                Some("stale") => BuildStatus::Stale,
                _ => BuildStatus::Unknown,
            },
            _ => BuildStatus::Unknown,
        }
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
            ("brand_new_value", BuildStatus::Unknown),
        ];
        for (conclusion, want) in cases {
            assert_eq!(BuildStatus::from_provider("completed", Some(conclusion)), want, "{conclusion}");
        }
        assert_eq!(BuildStatus::from_provider("completed", None), BuildStatus::Unknown);
    }

    #[test]
    fn unfinished_statuses_normalise_and_ignore_conclusion() {
        for s in ["requested", "queued", "pending", "waiting"] {
            assert_eq!(BuildStatus::from_provider(s, None), BuildStatus::Queued);
        }
        assert_eq!(BuildStatus::from_provider("in_progress", Some("failure")), BuildStatus::Running);
        assert_eq!(BuildStatus::from_provider("mystery", None), BuildStatus::Unknown);
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        let order = ["requested", "queued", "waiting", "in_progress", "completed"];
        for pair in order.windows(2) {
            assert!(status_rank(pair[0]) < status_rank(pair[1]), "{pair:?}");
        }
        assert_eq!(status_rank("pending"), status_rank("queued"));
        assert!(status_rank("something_new") < status_rank("in_progress"));
    }

    #[test]
    fn names_round_trip() {
        for s in BuildStatus::ALL {
            assert_eq!(BuildStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(BuildStatus::parse("failure"), None);
    }
}
