//! Test reports: reading the JUnit XML files test runners write into
//! [`TestCase`]s (the report's suites flattened, outcomes, durations,
//! failure messages, Surefire reruns), streaming and capped.
//!
//! Owns the XML dialect knowledge and its safety rules (see [`junit`]) and
//! the decoding of an uploaded file ([`file`]); must not touch storage,
//! HTTP or the CI providers: what a test's identity is, the domain says
//! (`domain::TestIdentity`), where it is kept, the store.
//!
//! Files: `case` (the model), `junit` (the streaming reader), `text`
//! (capped texts and attributes), `file` (one uploaded file: gzip-decoded
//! under a byte cap, hashed, read into the domain's test executions).

mod case;
pub mod file;
pub mod junit;
mod text;

use std::io::BufRead;

pub use case::{Rerun, TestCase, TestOutcome};
pub use junit::read_report;
pub use text::cap as cap_text;

/// Caps a report must stay within; the defaults fit real reports of large
/// monorepos (50 000 tests) with room to spare.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Test cases in one report.
    pub max_cases: usize,
    /// Nesting depth of elements.
    pub max_depth: usize,
    /// Bytes kept of any one text (attribute, message, details, output).
    pub max_text: usize,
    /// Lines kept of a failure's details.
    pub max_detail_lines: usize,
    /// Surefire reruns kept per case.
    pub max_reruns: usize,
    /// Properties kept per case.
    pub max_properties: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cases: 200_000,
            max_depth: 64,
            max_text: 4_096,
            max_detail_lines: 40,
            max_reruns: 10,
            max_properties: 20,
        }
    }
}

/// What one report held besides its cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportSummary {
    /// Test cases read (suite-level failures included).
    pub cases: usize,
    /// `testsuite` elements read, nested ones included.
    pub suites: usize,
}

/// Why a report was refused; every variant is the sender's mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is not well-formed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("the report was refused at byte {position}: {reason}")]
    Hostile { position: u64, reason: String },
    #[error("the report is not UTF-8 (at byte {position}); test reports must be UTF-8")]
    NotUtf8 { position: u64 },
    #[error("the report is not a JUnit report: {0}")]
    NotAReport(String),
    #[error("the report is too large: {0}")]
    TooLarge(String),
}

/// Reads a whole report into memory as its cases (convenient for tests and
/// small reports; [`junit::read_report`] streams).
///
/// Errors: as [`junit::read_report`].
pub fn read_all<R: BufRead>(
    input: R,
    limits: &Limits,
) -> Result<(Vec<TestCase>, ReportSummary), ReportError> {
    let mut cases = Vec::new();
    let summary = junit::read_report(input, limits, |case| cases.push(case))?;
    Ok((cases, summary))
}

#[cfg(test)]
mod tests;
