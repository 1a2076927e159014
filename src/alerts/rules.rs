//! Which builds a rule is about: its repository, workflow and branch globs,
//! its event and its provider, matched against a build's facts. Pure: no
//! SQL, no I/O.

use globset::{Glob, GlobBuilder, GlobMatcher};

use super::config::Rule;

/// Branches a rule without `branch` applies to: the usual default
/// branches (the dashboard does not store each repository's default branch).
pub const DEFAULT_BRANCHES: [&str; 2] = ["main", "master"];

/// Compiles a filter glob: `*` and `?` match any characters, `/` included;
/// `{a,b}` alternatives and `[…]` classes work.
pub fn compile_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(false).backslash_escape(true).build()
}

fn matcher(pattern: &str) -> Option<GlobMatcher> {
    compile_glob(pattern).ok().map(|g| g.compile_matcher())
}

/// The fields of a build that rule filters look at.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub repo: &'a str,
    pub workflow: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub event: Option<&'a str>,
    /// The provider's kind (`github`, `gitlab`, …).
    pub provider: Option<&'a str>,
}

impl Rule {
    /// Whether the rule's filters accept `subject`. A filter on a field
    /// the build lacks does not match; an invalid glob (rejected at
    /// configuration) matches nothing.
    pub fn applies_to(&self, subject: &Subject<'_>) -> bool {
        let glob_ok = |pattern: &Option<String>, value: Option<&str>| match pattern {
            None => true,
            Some(pattern) => value.is_some_and(|v| matcher(pattern).is_some_and(|m| m.is_match(v))),
        };
        let branch_ok = match &self.branch {
            None => subject.branch.is_some_and(|b| DEFAULT_BRANCHES.contains(&b)),
            Some(_) => glob_ok(&self.branch, subject.branch),
        };
        glob_ok(&self.repo, Some(subject.repo))
            && glob_ok(&self.workflow, subject.workflow)
            && branch_ok
            && self.event.as_deref().is_none_or(|e| subject.event == Some(e))
            && self.provider.as_deref().is_none_or(|p| subject.provider == Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::config::RuleKind;

    fn rule(repo: Option<&str>, branch: Option<&str>) -> Rule {
        Rule {
            id: "r".into(),
            kind: RuleKind::BuildFailed,
            channels: vec!["c".into()],
            repo: repo.map(Into::into),
            workflow: None,
            branch: branch.map(Into::into),
            event: None,
            provider: None,
            include_cancelled: false,
            threshold: None,
            window_minutes: None,
            min_builds: None,
            duration_seconds: None,
            stuck_minutes: None,
            queue_minutes: None,
            labels: None,
            min_occurrences: None,
            cooldown_minutes: None,
            failure_class: None,
            wait_for_reason_seconds: None,
        }
    }

    #[test]
    fn a_provider_filter_matches_the_provider_kind_exactly() {
        let gitlab_only = Rule { provider: Some("gitlab".into()), ..rule(None, None) };
        let on = |provider| Subject {
            repo: "grp/app",
            workflow: None,
            branch: Some("main"),
            event: None,
            provider,
        };
        assert!(gitlab_only.applies_to(&on(Some("gitlab"))));
        assert!(!gitlab_only.applies_to(&on(Some("github"))));
        assert!(!gitlab_only.applies_to(&on(None)));
        assert!(rule(None, None).applies_to(&on(Some("github"))), "no filter: every provider");
    }

    #[test]
    fn globs_and_the_default_branch() {
        let on = |repo, branch| Subject {
            repo,
            workflow: Some("CI"),
            branch: Some(branch),
            event: Some("push"),
            provider: Some("github"),
        };
        assert!(rule(Some("octo-org/*"), None).applies_to(&on("octo-org/app", "main")));
        assert!(!rule(Some("octo-org/*"), None).applies_to(&on("other/app", "main")));
        assert!(!rule(None, None).applies_to(&on("octo-org/app", "feature/x")));
        assert!(rule(None, Some("*")).applies_to(&on("octo-org/app", "feature/x")));
        assert!(rule(None, Some("release/*")).applies_to(&on("a/b", "release/1.2")));
    }
}
