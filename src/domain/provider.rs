//! [`ProviderKind`]: the closed vocabulary of CI systems a record can come
//! from. GitHub Actions and GitLab CI have their own webhooks and pollers;
//! every other kind here reports through the generic build API (`POST
//! /api/builds/events`, `crate::providers::generic`). A CI not listed
//! reports as `other`.
//!
//! Each kind has a fixed id in the `providers` table (migrations 0001, 0008
//! and 0009; `store::rows` maps them). Pure; must not know storage or HTTP.

/// Which CI provider a record came from. The provider seam: every provider
/// normalises into the same [`crate::domain::RunAttempt`] and
/// [`crate::domain::Job`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    /// GitHub Actions (`workflow_run` / `workflow_job` webhooks, REST API).
    GitHub,
    /// GitLab CI (`Pipeline Hook` / `Job Hook` webhooks, REST API): a
    /// pipeline is a run, a job a job.
    GitLab,
    /// Jenkins (pipelines and freestyle jobs).
    Jenkins,
    /// Buildkite.
    Buildkite,
    /// CircleCI.
    CircleCi,
    /// Azure Pipelines (Azure DevOps).
    AzurePipelines,
    /// Bitbucket Pipelines.
    BitbucketPipelines,
    /// JetBrains TeamCity.
    TeamCity,
    /// Drone CI.
    Drone,
    /// Woodpecker CI.
    Woodpecker,
    /// Travis CI.
    Travis,
    /// Any CI system not listed above (reported through the generic API).
    Other,
}

impl ProviderKind {
    /// Every provider, in display order.
    pub const ALL: [ProviderKind; 12] = [
        ProviderKind::GitHub,
        ProviderKind::GitLab,
        ProviderKind::Jenkins,
        ProviderKind::Buildkite,
        ProviderKind::CircleCi,
        ProviderKind::AzurePipelines,
        ProviderKind::BitbucketPipelines,
        ProviderKind::TeamCity,
        ProviderKind::Drone,
        ProviderKind::Woodpecker,
        ProviderKind::Travis,
        ProviderKind::Other,
    ];

    /// Stable machine name stored in `providers.kind` and answered as
    /// `provider_kind` (e.g. `"github"`, `"azure-pipelines"`).
    pub fn kind(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "github",
            ProviderKind::GitLab => "gitlab",
            ProviderKind::Jenkins => "jenkins",
            ProviderKind::Buildkite => "buildkite",
            ProviderKind::CircleCi => "circleci",
            ProviderKind::AzurePipelines => "azure-pipelines",
            ProviderKind::BitbucketPipelines => "bitbucket-pipelines",
            ProviderKind::TeamCity => "teamcity",
            ProviderKind::Drone => "drone",
            ProviderKind::Woodpecker => "woodpecker",
            ProviderKind::Travis => "travis",
            ProviderKind::Other => "other",
        }
    }

    /// Human name answered as `provider_name` (e.g. `"GitHub Actions"`).
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::GitHub => "GitHub Actions",
            ProviderKind::GitLab => "GitLab CI",
            ProviderKind::Jenkins => "Jenkins",
            ProviderKind::Buildkite => "Buildkite",
            ProviderKind::CircleCi => "CircleCI",
            ProviderKind::AzurePipelines => "Azure Pipelines",
            ProviderKind::BitbucketPipelines => "Bitbucket Pipelines",
            ProviderKind::TeamCity => "TeamCity",
            ProviderKind::Drone => "Drone",
            ProviderKind::Woodpecker => "Woodpecker",
            ProviderKind::Travis => "Travis CI",
            ProviderKind::Other => "Other CI",
        }
    }

    /// Parses [`ProviderKind::kind`] back; `None` for an unknown kind.
    pub fn from_kind(kind: &str) -> Option<Self> {
        ProviderKind::ALL.into_iter().find(|p| p.kind() == kind)
    }

    /// Whether builds of this kind are reported through the generic build
    /// API. GitHub Actions is not: its runs come from its webhook and REST
    /// API, whose ids and timestamps the generic events would collide with.
    pub fn reports_generic_events(self) -> bool {
        !matches!(self, ProviderKind::GitHub | ProviderKind::GitLab)
    }

    /// The kinds the generic build API accepts, in display order.
    pub fn generic() -> impl Iterator<Item = ProviderKind> {
        ProviderKind::ALL.into_iter().filter(|p| p.reports_generic_events())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_are_unique() {
        for p in ProviderKind::ALL {
            assert_eq!(ProviderKind::from_kind(p.kind()), Some(p));
        }
        let mut kinds: Vec<&str> = ProviderKind::ALL.iter().map(|p| p.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), ProviderKind::ALL.len());
        assert_eq!(ProviderKind::from_kind("Jenkins"), None, "kinds are exact");
        assert!(!ProviderKind::generic().any(|p| p == ProviderKind::GitHub));
        assert_eq!(ProviderKind::generic().count(), ProviderKind::ALL.len() - 2);
    }
}
