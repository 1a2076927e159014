//! Failure alerts name the build's failed tests (from uploaded JUnit
//! reports): the first [`LISTED`] by class and name, and how many there are
//! in all, so a message can say "and N more". Read on the ingest
//! transaction's connection; one indexed query per failure alert.

use sqlx::AnyConnection;

use super::evaluate::Decision;
use crate::store::StoreError;
use crate::store::test_results::failed_test_names;

/// Failed tests an alert lists by name.
pub const LISTED: i64 = 5;

/// The kinds of alert about a failed attempt.
const FAILURE_KINDS: [&str; 2] = ["build_failed", "started_failing"];

/// Fills in the failed tests of a failure alert about `build_id` (other
/// kinds are left as they are).
///
/// Errors: SQL failures (the transaction then fails, as any rule's).
pub(super) async fn name_failed_tests(
    conn: &mut AnyConnection,
    decision: &mut Decision,
    build_id: i64,
) -> Result<(), StoreError> {
    let details = match decision {
        Decision::Send(details) | Decision::Suppress(details, _) => details,
    };
    if !FAILURE_KINDS.contains(&details.kind.as_str()) {
        return Ok(());
    }
    let (names, total) = failed_test_names(conn, build_id, LISTED).await?;
    details.failed_tests = names;
    details.failed_tests_total = total;
    Ok(())
}
