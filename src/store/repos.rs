//! The read behind `/api/repos`: every repository that has a stored run
//! attempt, with the start of its latest attempt.

use sqlx::Row;

use super::StoreError;
use crate::store::Builds;

/// A repository with stored attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownRepo {
    pub repo: String,
    /// Start (Unix seconds) of its latest attempt; `None` when none has started.
    pub last_started: Option<i64>,
}

/// Distinct repositories by walking the `(repo, sort_at, id)` index one
/// repository at a time (a "skip scan"): one index lookup per repository,
/// not a scan of every attempt. Same SQL on SQLite and PostgreSQL.
const KNOWN_REPOS: &str = "WITH RECURSIVE names(repo) AS ( \
       SELECT MIN(repo) FROM builds \
       UNION ALL \
       SELECT (SELECT MIN(b.repo) FROM builds b WHERE b.repo > names.repo) FROM names WHERE names.repo IS NOT NULL \
     ) \
     SELECT repo, (SELECT MAX(b.sort_at) FROM builds b WHERE b.repo = names.repo) AS last_started \
     FROM names WHERE repo IS NOT NULL ORDER BY repo";

impl Builds<'_> {
    /// Every repository with a stored attempt, by name.
    pub async fn known_repos(&self) -> Result<Vec<KnownRepo>, StoreError> {
        let rows = sqlx::query(KNOWN_REPOS).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let last: Option<i64> = row.try_get("last_started")?;
                // Attempts with no start yet carry sort_at 0.
                Ok(KnownRepo { repo: row.try_get("repo")?, last_started: last.filter(|t| *t > 0) })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
