//! Keeping the failure roll-up (`failure_days`, migration 0024) in step
//! with `job_failures`: every write that adds, rewrites, moves or deletes
//! failures reads the failures of the run attempts it touches before and
//! after, and applies the difference to the roll-up in the same
//! transaction ([`Refold`]). Whole attempts are refolded so the "latest
//! failure of a (signature, attempt) pair" that `builds` counts moves
//! correctly. The coarser `failure_signature_days` (migration 0027: the
//! same sums per day, signature and class only, what the list's totals
//! read when no repository, workflow or branch narrows it) takes the
//! differences of its keys in the same pass, with its `class_builds`
//! (migration 0030: the pairs whose latest failure *of that class* is on
//! that day) worked out per class from the same failures. Also the full rebuild (after
//! `db copy`, or for a bulk-filled database). Owns both tables' writes;
//! reads are in `window`.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::store::{Backend, Failures, StoreError};

/// Seconds in a UTC day.
pub(super) const DAY: i64 = 86_400;

/// The roll-up's key of a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    day: i64,
    signature_id: i64,
    repo: String,
    workflow: String,
    branch: String,
    job_name: String,
    nulls: i64,
    class: String,
}

/// A failure as the roll-up counts it (only those with a signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    job_id: i64,
    build_id: i64,
    signature_id: i64,
    failed_at: i64,
    key: Key,
}

/// What one key holds of a set of failures.
#[derive(Debug, Default, PartialEq)]
struct Share {
    failures: i64,
    builds: i64,
    last_at: i64,
    /// (failed_at, job id) of each failure, sorted.
    members: Vec<(i64, i64)>,
}

/// Per key, the failures, the pairs whose latest failure it holds, and the
/// members.
fn shares(failures: &[Counted]) -> BTreeMap<Key, Share> {
    let mut latest: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for f in failures {
        let entry = latest.entry((f.signature_id, f.build_id)).or_insert((f.failed_at, f.job_id));
        *entry = (*entry).max((f.failed_at, f.job_id));
    }
    let mut out: BTreeMap<Key, Share> = BTreeMap::new();
    for f in failures {
        let share = out.entry(f.key.clone()).or_default();
        share.failures += 1;
        if latest.get(&(f.signature_id, f.build_id)) == Some(&(f.failed_at, f.job_id)) {
            share.builds += 1;
        }
        share.last_at = share.last_at.max(f.failed_at);
        share.members.push((f.failed_at, f.job_id));
    }
    for share in out.values_mut() {
        share.members.sort_unstable();
    }
    out
}

const COUNTED: &str = "SELECT job_id, build_id, signature_id, failed_at, repo, workflow, branch, job_name, class \
     FROM job_failures WHERE signature_id IS NOT NULL AND build_id IN ";

/// The failures (with a signature) of `builds`.
async fn counted(conn: &mut AnyConnection, builds: &[i64]) -> Result<Vec<Counted>, StoreError> {
    let mut out = Vec::new();
    for chunk in builds.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(AssertSqlSafe(format!("{COUNTED}({list})"))).fetch_all(&mut *conn).await?;
        for row in &rows {
            let failed_at: i64 = row.try_get("failed_at")?;
            let workflow: Option<String> = row.try_get("workflow")?;
            let branch: Option<String> = row.try_get("branch")?;
            let job_name: Option<String> = row.try_get("job_name")?;
            let nulls = i64::from(workflow.is_none())
                + 2 * i64::from(branch.is_none())
                + 4 * i64::from(job_name.is_none());
            let signature_id: i64 = row.try_get("signature_id")?;
            out.push(Counted {
                job_id: row.try_get("job_id")?,
                build_id: row.try_get("build_id")?,
                signature_id,
                failed_at,
                key: Key {
                    day: failed_at / DAY,
                    signature_id,
                    repo: row.try_get("repo")?,
                    workflow: workflow.unwrap_or_default(),
                    branch: branch.unwrap_or_default(),
                    job_name: job_name.unwrap_or_default(),
                    nulls,
                    class: row.try_get("class")?,
                },
            });
        }
    }
    Ok(out)
}

const UPSERT: &str = "INSERT INTO failure_days (day, signature_id, repo, workflow, branch, job_name, nulls, \
     class, failures, builds, last_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (day, signature_id, repo, workflow, branch, job_name, nulls, class) DO UPDATE SET \
     failures = failure_days.failures + excluded.failures, builds = failure_days.builds + excluded.builds, \
     last_at = CASE WHEN excluded.last_at > failure_days.last_at THEN excluded.last_at \
     ELSE failure_days.last_at END RETURNING failures";

const KEY_WHERE: &str = "day = $1 AND signature_id = $2 AND repo = $3 AND workflow = $4 AND branch = $5 \
     AND job_name = $6 AND nulls = $7 AND class = $8";

/// The latest failed_at of a key's raw failures (`$1`…`$8` as [`KEY_WHERE`]).
const KEY_LAST: &str = "SELECT MAX(failed_at) AS last_at FROM job_failures WHERE signature_id = $2 \
     AND failed_at >= $1 * 86400 AND failed_at < ($1 + 1) * 86400 AND repo = $3 \
     AND COALESCE(workflow, '') = $4 AND COALESCE(branch, '') = $5 AND COALESCE(job_name, '') = $6 \
     AND (CASE WHEN workflow IS NULL THEN 1 ELSE 0 END) + (CASE WHEN branch IS NULL THEN 2 ELSE 0 END) \
     + (CASE WHEN job_name IS NULL THEN 4 ELSE 0 END) = $7 AND class = $8";

fn bind_key<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    key: &'q Key,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(key.day)
        .bind(key.signature_id)
        .bind(key.repo.as_str())
        .bind(key.workflow.as_str())
        .bind(key.branch.as_str())
        .bind(key.job_name.as_str())
        .bind(key.nulls)
        .bind(key.class.as_str())
}

/// A write to `job_failures` in progress: the failures of the attempts it
/// touches as they were before it. [`Refold::finish`] reads them again and
/// applies the difference. PostgreSQL: holds a transaction lock per
/// attempt, so two writers never refold one attempt at once.
pub(crate) struct Refold {
    builds: Vec<i64>,
    before: Vec<Counted>,
}

impl Refold {
    /// Starts a write touching the failures of `builds`.
    pub(crate) async fn start(
        conn: &mut AnyConnection,
        backend: Backend,
        builds: &[i64],
    ) -> Result<Refold, StoreError> {
        let mut builds = builds.to_vec();
        builds.sort_unstable();
        builds.dedup();
        if backend == Backend::Postgres {
            for id in &builds {
                crate::store::alerts::lock_key(conn, backend, &format!("failure_days:{id}")).await?;
            }
        }
        let before = counted(conn, &builds).await?;
        Ok(Refold { builds, before })
    }

    /// Applies what the write changed to the roll-up.
    pub(crate) async fn finish(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let after = counted(conn, &self.builds).await?;
        apply(conn, &self.before, &after).await
    }
}

/// Per (day, signature, class): the (signature, attempt) pairs whose
/// latest failure of that class is there.
fn class_builds(failures: &[Counted]) -> BTreeMap<(i64, i64, String), i64> {
    let mut latest: BTreeMap<(i64, i64, &str), (i64, i64, i64)> = BTreeMap::new();
    for f in failures {
        let entry = latest.entry((f.signature_id, f.build_id, &f.key.class)).or_insert((
            f.failed_at,
            f.job_id,
            f.key.day,
        ));
        *entry = (*entry).max((f.failed_at, f.job_id, f.key.day));
    }
    let mut out = BTreeMap::new();
    for ((signature_id, _, class), (_, _, day)) in latest {
        *out.entry((day, signature_id, class.to_string())).or_default() += 1;
    }
    out
}

/// Applies `after − before` per key; keys that lost a failure get their
/// `last_at` from the raw rows again, and go when empty.
async fn apply(
    conn: &mut AnyConnection,
    before_failures: &[Counted],
    after_failures: &[Counted],
) -> Result<(), StoreError> {
    let (mut before, after) = (shares(before_failures), shares(after_failures));
    let mut keys: Vec<Key> = before.keys().chain(after.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let mut coarse: BTreeMap<(i64, i64, String), Coarse> = BTreeMap::new();
    for key in keys {
        let old = before.remove(&key).unwrap_or_default();
        let new = after.get(&key);
        let empty = Share::default();
        let new = new.unwrap_or(&empty);
        if &old == new {
            continue;
        }
        let lost = old.members.iter().any(|m| new.members.binary_search(m).is_err());
        let sum = coarse.entry((key.day, key.signature_id, key.class.clone())).or_default();
        sum.failures += new.failures - old.failures;
        sum.builds += new.builds - old.builds;
        sum.last_at = sum.last_at.max(new.last_at);
        sum.lost |= lost;
        let left: i64 = bind_key(sqlx::query(UPSERT), &key)
            .bind(new.failures - old.failures)
            .bind(new.builds - old.builds)
            .bind(new.last_at)
            .fetch_one(&mut *conn)
            .await?
            .try_get("failures")?;
        if left <= 0 {
            let sql = format!("DELETE FROM failure_days WHERE {KEY_WHERE}");
            bind_key(sqlx::query(AssertSqlSafe(sql)), &key).execute(&mut *conn).await?;
        } else if lost {
            let last: Option<i64> =
                bind_key(sqlx::query(KEY_LAST), &key).fetch_one(&mut *conn).await?.try_get("last_at")?;
            let sql = format!("UPDATE failure_days SET last_at = $9 WHERE {KEY_WHERE}");
            bind_key(sqlx::query(AssertSqlSafe(sql)), &key)
                .bind(last.unwrap_or(0))
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut class_before = class_builds(before_failures);
    for (key, n) in class_builds(after_failures) {
        let old = class_before.remove(&key).unwrap_or(0);
        if n != old {
            coarse.entry(key).or_default().class_builds += n - old;
        }
    }
    for (key, old) in class_before {
        coarse.entry(key).or_default().class_builds -= old;
    }
    apply_coarse(conn, coarse).await
}

/// What a write changes of one (day, signature, class) of `failure_signature_days`.
#[derive(Debug, Default)]
struct Coarse {
    failures: i64,
    builds: i64,
    class_builds: i64,
    last_at: i64,
    /// A failure went: its latest time is read again.
    lost: bool,
}

const COARSE_UPSERT: &str = "INSERT INTO failure_signature_days (day, signature_id, class, failures, builds, \
     last_at, class_builds) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (day, signature_id, class) DO UPDATE SET \
     failures = failure_signature_days.failures + excluded.failures, \
     builds = failure_signature_days.builds + excluded.builds, \
     class_builds = failure_signature_days.class_builds + excluded.class_builds, \
     last_at = CASE WHEN excluded.last_at > failure_signature_days.last_at THEN excluded.last_at \
     ELSE failure_signature_days.last_at END RETURNING failures";

/// Applies the summed differences to `failure_signature_days`, after
/// `failure_days` took them (a key that lost a failure reads its latest
/// time from there).
async fn apply_coarse(
    conn: &mut AnyConnection,
    coarse: BTreeMap<(i64, i64, String), Coarse>,
) -> Result<(), StoreError> {
    for ((day, signature_id, class), change) in coarse {
        let left: i64 = sqlx::query(COARSE_UPSERT)
            .bind(day)
            .bind(signature_id)
            .bind(class.as_str())
            .bind(change.failures)
            .bind(change.builds)
            .bind(change.last_at)
            .bind(change.class_builds)
            .fetch_one(&mut *conn)
            .await?
            .try_get("failures")?;
        let key = "day = $1 AND signature_id = $2 AND class = $3";
        if left <= 0 {
            let sql = format!("DELETE FROM failure_signature_days WHERE {key}");
            sqlx::query(AssertSqlSafe(sql))
                .bind(day)
                .bind(signature_id)
                .bind(class.as_str())
                .execute(&mut *conn)
                .await?;
        } else if change.lost {
            let sql = format!(
                "UPDATE failure_signature_days SET last_at = \
                 (SELECT COALESCE(MAX(last_at), 0) FROM failure_days WHERE {key}) WHERE {key}"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(day)
                .bind(signature_id)
                .bind(class.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// `failure_signature_days` summed from `failure_days` (as migration 0027
/// fills it); its `class_builds` then from `job_failures` ([`CLASS_BUILDS`]).
pub(super) const COARSE_REBUILD: &str = "INSERT INTO failure_signature_days (day, signature_id, class, failures, \
     builds, last_at) SELECT day, signature_id, class, CAST(SUM(failures) AS BIGINT), CAST(SUM(builds) AS BIGINT), \
     MAX(last_at) FROM failure_days GROUP BY day, signature_id, class";

/// `class_builds` from `job_failures` (as migration 0030 fills it).
const CLASS_BUILDS: &str = "UPDATE failure_signature_days SET class_builds = c.n \
     FROM (SELECT failed_at / 86400 AS day, signature_id, class, COUNT(*) AS n \
     FROM (SELECT f.failed_at, f.signature_id, f.class, ROW_NUMBER() OVER (PARTITION BY f.signature_id, \
     f.build_id, f.class ORDER BY f.failed_at DESC, f.job_id DESC) AS latest \
     FROM job_failures f WHERE f.signature_id IS NOT NULL) AS x \
     WHERE latest = 1 GROUP BY failed_at / 86400, signature_id, class) AS c \
     WHERE failure_signature_days.day = c.day AND failure_signature_days.signature_id = c.signature_id \
     AND failure_signature_days.class = c.class";

/// The roll-up computed from `job_failures` (as migration 0024 fills it).
const REBUILD: &str = "INSERT INTO failure_days (day, signature_id, repo, workflow, branch, job_name, nulls, \
     class, failures, builds, last_at) \
     SELECT failed_at / 86400, signature_id, repo, COALESCE(workflow, ''), COALESCE(branch, ''), \
     COALESCE(job_name, ''), {NULLS}, class, COUNT(*), \
     CAST(SUM(CASE WHEN latest = 1 THEN 1 ELSE 0 END) AS BIGINT), MAX(failed_at) \
     FROM (SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.signature_id, f.build_id \
     ORDER BY f.failed_at DESC, f.job_id DESC) AS latest \
     FROM job_failures f WHERE f.signature_id IS NOT NULL) AS x \
     GROUP BY failed_at / 86400, signature_id, repo, COALESCE(workflow, ''), COALESCE(branch, ''), \
     COALESCE(job_name, ''), {NULLS}, class";

const NULLS: &str = "(CASE WHEN workflow IS NULL THEN 1 ELSE 0 END) + (CASE WHEN branch IS NULL THEN 2 ELSE 0 END) \
     + (CASE WHEN job_name IS NULL THEN 4 ELSE 0 END)";

impl Failures<'_> {
    /// Recomputes the whole failure roll-up from `job_failures`, in one
    /// transaction (after `db copy`, or when rows were bulk-written
    /// around the write path).
    pub async fn rebuild_days(&self) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM failure_days").execute(&mut *tx).await?;
        sqlx::query(AssertSqlSafe(REBUILD.replace("{NULLS}", NULLS))).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM failure_signature_days").execute(&mut *tx).await?;
        sqlx::query(COARSE_REBUILD).execute(&mut *tx).await?;
        sqlx::query(CLASS_BUILDS).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_per_class_count_a_pair_on_its_latest_failure_of_each_class() {
        // One attempt, one signature: code on days 1 and 3, infrastructure on day 2.
        let failure = |job_id: i64, day: i64, class: &str| Counted {
            job_id,
            build_id: 7,
            signature_id: 1,
            failed_at: day * DAY + 5,
            key: Key { day, signature_id: 1, class: class.into(), ..Key::default() },
        };
        let all = [failure(1, 1, "code"), failure(2, 2, "infrastructure"), failure(3, 3, "code")];
        let expected =
            BTreeMap::from([((2, 1, "infrastructure".to_string()), 1), ((3, 1, "code".to_string()), 1)]);
        assert_eq!(class_builds(&all), expected);
        // The pair's overall builds sit on day 3 only.
        let builds: Vec<(i64, i64)> = shares(&all).iter().map(|(k, s)| (k.day, s.builds)).collect();
        assert_eq!(builds, [(1, 0), (2, 0), (3, 1)]);
    }
}
