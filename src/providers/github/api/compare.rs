//! The commits of a successful deployment that no `push` webhook listed
//! (a push of more than 20 commits, or no push webhook at all): `GET
//! /repos/{owner}/{repo}/compare/{base}...{head}` from the previous
//! successful deployment's SHA of its environment (`base`) to the deployed
//! SHA (`head`), its `commits` (oldest first) followed through `Link`
//! pages, recorded as the commits one push brought from `base` to `head`
//! (`Change::Commits`, the write path), so lead time walks them like a
//! push's. Each commit's committed and authored times are kept. Asked
//! after each deployment pass for at most [`COMPARE_LIMIT`] deployments;
//! one answered 404 (a SHA GitHub no longer has) is left out.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::PollError;
use super::answer::{Answer, ApiError};
use super::runs::RepoSync;
use crate::domain::deployment::{Commit, PushedCommits};
use crate::domain::time::parse_timestamp;
use crate::domain::{Change, ProviderKind, RepoName};
use crate::providers::PollStats;
use crate::store::UnlistedDeployment;

/// Most deployments whose commits one pass asks for.
pub const COMPARE_LIMIT: i64 = 20;

#[derive(Debug, Deserialize)]
struct Comparison {
    #[serde(default)]
    commits: Vec<ComparedCommit>,
}

#[derive(Debug, Deserialize)]
struct ComparedCommit {
    sha: Option<String>,
    commit: Option<CommitDetail>,
}

#[derive(Debug, Deserialize)]
struct CommitDetail {
    author: Option<Signature>,
    committer: Option<Signature>,
}

#[derive(Debug, Deserialize)]
struct Signature {
    date: Option<String>,
}

fn date(signature: Option<&Signature>) -> Option<DateTime<Utc>> {
    signature.and_then(|s| s.date.as_deref()).and_then(|d| parse_timestamp(d).ok())
}

impl RepoSync<'_> {
    /// Records the commits of the successful deployments finished since
    /// `since` that no commit list names.
    pub async fn deployment_commits(
        &self,
        since: DateTime<Utc>,
        stats: &mut PollStats,
    ) -> Result<(), PollError> {
        let polls = self.store.poll_state();
        for unlisted in
            polls.unlisted_deployments(ProviderKind::GitHub, self.repo, since, COMPARE_LIMIT).await?
        {
            if let Some(change) = self.compare(&unlisted).await? {
                stats.rows_changed += self.store.deliveries().apply_polled(&[change]).await?;
            }
        }
        Ok(())
    }

    async fn compare(&self, unlisted: &UnlistedDeployment) -> Result<Option<Change>, PollError> {
        let path = format!("/repos/{}/compare/{}...{}", self.repo, unlisted.base, unlisted.sha);
        let mut next = Some(self.client.url(&path, &[("per_page", "100")]));
        let mut commits = Vec::new();
        while let Some(url) = next.take() {
            match self.client.get::<Comparison>(&url, None).await {
                Ok(Answer::Fresh { value, next: following, .. }) => {
                    commits.extend(value.commits.into_iter().filter_map(|c| {
                        let detail = c.commit.as_ref();
                        Some(Commit {
                            sha: c.sha.filter(|s| !s.is_empty())?,
                            authored_at: date(detail.and_then(|d| d.author.as_ref())),
                            committed_at: date(detail.and_then(|d| d.committer.as_ref())),
                        })
                    }));
                    next = following;
                }
                Ok(Answer::NotModified) => {}
                Err(ApiError::NotFound(_) | ApiError::Gone(_)) => {
                    tracing::warn!(
                        repo = self.repo,
                        head = unlisted.sha,
                        "GitHub cannot compare a deployment's SHA"
                    );
                    return Ok(None);
                }
                Err(err) => return Err(err.into()),
            }
        }
        if !commits.iter().any(|c| c.sha == unlisted.sha) {
            return Ok(None);
        }
        let change = Change::Commits(PushedCommits {
            provider: ProviderKind::GitHub,
            repo: RepoName::from(self.repo.to_owned()),
            git_ref: unlisted.git_ref.clone(),
            before: Some(unlisted.base.clone()),
            head: unlisted.sha.clone(),
            commits,
        });
        if change.check_text().is_err() {
            return Ok(None);
        }
        Ok(Some(change))
    }
}
