//! The read behind `/api/repos`: every (provider, repository) pair that
//! has a stored run attempt, with the start of its latest attempt. A
//! repository name on two providers (e.g. `grp/app` on GitHub and GitLab)
//! is two entries.

use sqlx::Row;

use super::StoreError;
use crate::domain::ProviderKind;
use crate::store::Builds;
use crate::store::rows::provider_id;

/// A repository of one provider with stored attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownRepo {
    pub provider: ProviderKind,
    pub repo: String,
    /// Start (Unix seconds) of its latest attempt; `None` when none has started.
    pub last_started: Option<i64>,
}

/// One provider's distinct repositories by walking the unique
/// `(provider_id, repo, external_id, run_attempt)` index one repository at a
/// time (a "skip scan"): one index lookup per repository, not a scan of
/// every attempt; the latest start walks the `(repo, sort_at, id)` index
/// back to the first attempt of that provider. Same SQL on SQLite and
/// PostgreSQL.
const KNOWN_REPOS: &str = "WITH RECURSIVE names(repo) AS ( \
       SELECT MIN(repo) FROM builds WHERE provider_id = $1 \
       UNION ALL \
       SELECT (SELECT MIN(b.repo) FROM builds b WHERE b.provider_id = $1 AND b.repo > names.repo) \
       FROM names WHERE names.repo IS NOT NULL \
     ) \
     SELECT repo, (SELECT b.sort_at FROM builds b WHERE b.repo = names.repo AND b.provider_id = $1 \
       ORDER BY b.sort_at DESC LIMIT 1) AS last_started \
     FROM names WHERE repo IS NOT NULL ORDER BY repo";

impl Builds<'_> {
    /// Every repository with a stored attempt, by name then provider kind;
    /// only `provider`'s when given.
    pub async fn known_repos(&self, provider: Option<ProviderKind>) -> Result<Vec<KnownRepo>, StoreError> {
        let mut out = Vec::new();
        for kind in ProviderKind::ALL.into_iter().filter(|kind| provider.is_none_or(|p| p == *kind)) {
            let rows = sqlx::query(KNOWN_REPOS).bind(provider_id(kind)).fetch_all(&self.read).await?;
            for row in &rows {
                let last: Option<i64> = row.try_get("last_started")?;
                // Attempts with no start yet carry sort_at 0.
                out.push(KnownRepo {
                    provider: kind,
                    repo: row.try_get("repo")?,
                    last_started: last.filter(|t| *t > 0),
                });
            }
        }
        out.sort_by(|a, b| (&a.repo, a.provider.kind()).cmp(&(&b.repo, b.provider.kind())));
        Ok(out)
    }
}
