//! What one test case of a report says: [`TestCase`], its [`TestOutcome`]
//! and the earlier failed tries a re-running runner recorded ([`Rerun`]).

pub use crate::domain::TestOutcome;

/// One earlier failed try of a test the runner re-ran within the same job
/// (Maven Surefire's `rerunFailureCount`): `flakyFailure`/`flakyError` when
/// a later try passed, `rerunFailure`/`rerunError` when every try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    /// `Failed` for `…Failure`, `Errored` for `…Error`.
    pub outcome: TestOutcome,
    /// The `message` attribute, capped.
    pub message: Option<String>,
    /// The `type` attribute (an exception class, usually), capped.
    pub failure_type: Option<String>,
}

/// One test case of a report, flattened out of its (possibly nested)
/// suites. Texts are capped by [`super::Limits`]; nothing here is HTML.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The innermost enclosing `testsuite`'s `name`.
    pub suite: Option<String>,
    /// The `classname` attribute (a class, a Go package, a pytest module).
    pub classname: Option<String>,
    /// The `name` attribute.
    pub name: String,
    /// The `file` attribute where the tool writes one (pytest, jest-junit
    /// with `addFileAttribute`, .NET loggers).
    pub file: Option<String>,
    /// The `line` attribute where given.
    pub line: Option<u32>,
    /// The `time` attribute in seconds; `None` when absent, negative or not
    /// a number.
    pub duration_seconds: Option<f64>,
    pub outcome: TestOutcome,
    /// The failure's, error's or skip's `message` attribute, capped.
    pub message: Option<String>,
    /// The failure's or error's `type` attribute, capped.
    pub failure_type: Option<String>,
    /// The first lines of the failure's or error's text (a stack trace,
    /// usually), capped; `None` for passed and skipped tests.
    pub details: Option<String>,
    /// Earlier failed tries within the job (Surefire reruns), in order.
    pub reruns: Vec<Rerun>,
    /// The start of `system-out` and `system-err`, for failed tests only.
    pub system_out: Option<String>,
    pub system_err: Option<String>,
    /// The test case's own `properties` (name, value), capped in number.
    pub properties: Vec<(String, String)>,
}

impl TestCase {
    /// Whether the case failed at first and then passed within the job
    /// (Surefire's `flakyFailure`/`flakyError`).
    pub fn passed_on_rerun(&self) -> bool {
        self.outcome == TestOutcome::Passed && !self.reruns.is_empty()
    }
}
