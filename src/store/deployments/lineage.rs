//! A deployment's commit walk on the stored pushes, loaded push by push:
//! the rules of `crate::metrics::dora::lineage` (from the deployed SHA back
//! through the pushes to the previous successful deployment's SHA, a
//! commit no push is known for, or `MAX_WALK` commits).

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};

use crate::metrics::dora::lineage::MAX_WALK;
use crate::store::StoreError;

/// One commit of a push: SHA and time (committed, else authored).
type PushCommit = (String, Option<i64>);

struct Push {
    before: Option<String>,
    /// Oldest first.
    commits: Vec<PushCommit>,
}

/// The walk's answer: commits newest first with their times, and the SHA
/// it stopped at for want of a known push, if it did.
pub(super) struct Walked {
    pub commits: Vec<PushCommit>,
    pub gap: Option<String>,
}

/// Pushes of one repository read so far.
pub(super) struct Pushes {
    provider_id: i64,
    repo: String,
    by_head: HashMap<String, Option<std::sync::Arc<Push>>>,
}

impl Pushes {
    pub(super) fn new(provider_id: i64, repo: &str) -> Pushes {
        Pushes { provider_id, repo: repo.to_owned(), by_head: HashMap::new() }
    }

    async fn push(
        &mut self,
        conn: &mut AnyConnection,
        head: &str,
    ) -> Result<Option<std::sync::Arc<Push>>, StoreError> {
        if let Some(found) = self.by_head.get(head) {
            return Ok(found.clone());
        }
        let rows = sqlx::query(
            "SELECT sha, committed_at, authored_at, push_before FROM commits \
             WHERE provider_id = $1 AND repo = $2 AND push_head = $3 ORDER BY position",
        )
        .bind(self.provider_id)
        .bind(self.repo.as_str())
        .bind(head)
        .fetch_all(&mut *conn)
        .await?;
        let push = if rows.is_empty() {
            None
        } else {
            let mut before = None;
            let mut commits = Vec::with_capacity(rows.len());
            for row in &rows {
                let time: Option<i64> = row.try_get::<Option<i64>, _>(1)?.or(row.try_get(2)?);
                if before.is_none() {
                    before = row.try_get::<Option<String>, _>(3)?;
                }
                commits.push((row.try_get::<String, _>(0)?, time));
            }
            Some(std::sync::Arc::new(Push { before, commits }))
        };
        self.by_head.insert(head.to_owned(), push.clone());
        Ok(push)
    }

    async fn head_of(&self, conn: &mut AnyConnection, sha: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT push_head FROM commits WHERE provider_id = $1 AND repo = $2 AND sha = $3")
                .bind(self.provider_id)
                .bind(self.repo.as_str())
                .bind(sha)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The commits from `target` back to (not including) `stop`.
    pub(super) async fn walk(
        &mut self,
        conn: &mut AnyConnection,
        target: &str,
        stop: Option<&str>,
    ) -> Result<Walked, StoreError> {
        let mut out: Vec<PushCommit> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut visited: HashSet<String> = HashSet::new();
        let mut current = target.to_owned();
        loop {
            if Some(current.as_str()) == stop || !visited.insert(current.clone()) {
                return Ok(Walked { commits: out, gap: None });
            }
            let (push, upto) = match self.push(conn, &current).await? {
                Some(push) => {
                    let upto = push.commits.len();
                    (push, upto)
                }
                None => {
                    let found = match self.head_of(conn, &current).await? {
                        Some(head) => self.push(conn, &head).await?,
                        None => None,
                    };
                    let Some(push) = found else {
                        return Ok(Walked { commits: out, gap: Some(current) });
                    };
                    let Some(i) = push.commits.iter().position(|(sha, _)| *sha == current) else {
                        return Ok(Walked { commits: out, gap: Some(current) });
                    };
                    (push, i + 1)
                }
            };
            for (sha, time) in push.commits[..upto].iter().rev() {
                if Some(sha.as_str()) == stop || out.len() >= MAX_WALK {
                    return Ok(Walked { commits: out, gap: None });
                }
                if seen.insert(sha.clone()) {
                    out.push((sha.clone(), *time));
                }
            }
            match &push.before {
                Some(before) => current = before.clone(),
                None => return Ok(Walked { commits: out, gap: None }),
            }
        }
    }
}
