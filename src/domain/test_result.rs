//! Test results as the dashboard keeps them: a test's identity
//! ([`TestIdentity`], stable across runs), how one execution ended
//! ([`TestOutcome`]) and what one execution of a report says
//! ([`TestExecution`]). Pure: readers of report formats produce these, the
//! store keeps them.

use sha2::{Digest, Sha256};

use super::keys::RepoName;

/// How a test case ended, as the report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestOutcome {
    /// No `failure`, `error` or `skipped` child (Surefire's `flakyFailure`
    /// children mean it passed on a rerun: still `Passed`, with reruns).
    Passed,
    /// A `failure` child: an assertion failed.
    Failed,
    /// An `error` child: the test (or its suite's set-up) raised an error.
    Errored,
    /// A `skipped` child (also JUnit 4's `ignored`/`disabled` forms a few
    /// tools write as `<skipped/>`).
    Skipped,
}

impl TestOutcome {
    /// Every outcome, in stored-code order.
    pub const ALL: [TestOutcome; 4] =
        [TestOutcome::Passed, TestOutcome::Failed, TestOutcome::Errored, TestOutcome::Skipped];

    /// Stable name stored and answered (`passed`, `failed`, `errored`, `skipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            TestOutcome::Passed => "passed",
            TestOutcome::Failed => "failed",
            TestOutcome::Errored => "errored",
            TestOutcome::Skipped => "skipped",
        }
    }

    /// Whether the outcome counts as a failure (`failed` or `errored`).
    pub fn is_failure(self) -> bool {
        matches!(self, TestOutcome::Failed | TestOutcome::Errored)
    }

    /// The small integer a stored execution keeps (0 passed, 1 failed,
    /// 2 errored, 3 skipped).
    pub fn code(self) -> i64 {
        match self {
            TestOutcome::Passed => 0,
            TestOutcome::Failed => 1,
            TestOutcome::Errored => 2,
            TestOutcome::Skipped => 3,
        }
    }

    /// The outcome of a stored code; `None` for an unknown one.
    pub fn from_code(code: i64) -> Option<TestOutcome> {
        TestOutcome::ALL.into_iter().find(|o| o.code() == code)
    }
}

/// What makes two executions the same test: the repository, the test's
/// class (the report's `classname`, else its enclosing suite's name), its
/// `name`, and its `file` where the report gives one. Absent and empty
/// parts are the same; nothing else (line, duration, suite timestamps,
/// host names) takes part, so the identity is stable across runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestIdentity {
    pub repo: RepoName,
    pub classname: Option<String>,
    pub name: String,
    pub file: Option<String>,
}

impl TestIdentity {
    /// The identity's key: SHA-256 (lower-case hex) of its four parts, each
    /// followed by a NUL byte (stored texts hold no NUL, so no two
    /// identities share a key by concatenation).
    pub fn key(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [
            self.repo.as_str(),
            self.classname.as_deref().unwrap_or(""),
            &self.name,
            self.file.as_deref().unwrap_or(""),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        hex::encode(hasher.finalize())
    }
}

/// Why an execution failed, for failed and errored executions only; texts
/// capped by the report reader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailureText {
    pub message: Option<String>,
    /// An exception class, usually.
    pub failure_type: Option<String>,
    /// The first lines of the failure's text (a stack trace, usually).
    pub details: Option<String>,
}

/// One execution of one test in a report.
#[derive(Debug, Clone, PartialEq)]
pub struct TestExecution {
    pub identity: TestIdentity,
    pub outcome: TestOutcome,
    /// Whole milliseconds (rounded); `None` when the report gives no time.
    pub duration_ms: Option<i64>,
    /// Earlier failed tries in the same job (Surefire reruns).
    pub reruns: i64,
    /// `Some` only when `outcome` is a failure.
    pub failure: Option<FailureText>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(classname: Option<&str>, name: &str, file: Option<&str>) -> TestIdentity {
        TestIdentity {
            repo: RepoName::from("octo/app"),
            classname: classname.map(str::to_owned),
            name: name.to_owned(),
            file: file.map(str::to_owned),
        }
    }

    #[test]
    fn keys_are_stable_and_tell_parts_apart() {
        let a = identity(Some("pkg.A"), "test_x", None);
        assert_eq!(a.key(), identity(Some("pkg.A"), "test_x", None).key());
        assert_eq!(a.key(), identity(Some("pkg.A"), "test_x", Some("")).key());
        assert_eq!(a.key().len(), 64);
        // "pkg.A" + "test_x" must differ from "pkg.At" + "est_x".
        assert_ne!(a.key(), identity(Some("pkg.At"), "est_x", None).key());
        assert_ne!(a.key(), identity(Some("pkg.A"), "test_x", Some("a.py")).key());
        let mut other_repo = a.clone();
        other_repo.repo = RepoName::from("octo/other");
        assert_ne!(a.key(), other_repo.key());
    }

    #[test]
    fn outcome_codes_round_trip() {
        for outcome in TestOutcome::ALL {
            assert_eq!(TestOutcome::from_code(outcome.code()), Some(outcome));
        }
        assert_eq!(TestOutcome::from_code(9), None);
    }
}
