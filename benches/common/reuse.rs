//! `BENCH_REUSE=1`: measure on a database an earlier run seeded instead of
//! seeding it again. Shared by the benches that seed in bulk SQL.

use sqlx::Row;

/// The builds stored, when `BENCH_REUSE=1` is set and the database holds
/// some (then it is measured as it is); `None`: seed it.
pub async fn reuse_seeded(conn: &mut sqlx::AnyConnection) -> Option<i64> {
    if !std::env::var("BENCH_REUSE").is_ok_and(|v| v == "1") {
        return None;
    }
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM builds")
        .fetch_one(conn)
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    (stored > 0).then_some(stored)
}
