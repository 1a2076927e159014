//! Error lines out of a job's log text: the lines a reader would look at
//! first, so the page and alerts can show "what went wrong" without the
//! whole log.
//!
//! A line is an error line when, after its leading timestamp and colour
//! codes are removed, it matches one of [`MARKERS`] (GitHub's `##[error]`,
//! compilers' `error:`/`error[E…]`, `Error:`/`ERROR`/`[ERROR]`, `FAILED`,
//! Jest's `FAIL `, Go's `--- FAIL:`, pytest's `E   ` assertion lines,
//! `npm ERR!`, git's `fatal:`, Rust's `panicked at`, Python's `Traceback`,
//! `Exception`/`AssertionError` lines, "exit code N"). The first
//! `max_lines − 1` such lines are kept (the first error is usually the
//! cause) and, if more matched, the last one too (usually the runner's
//! "Process completed with exit code N"); each is capped at
//! [`MAX_LINE_LEN`] bytes; repeated identical lines are kept once.

use std::sync::LazyLock;

use regex::RegexSet;

/// Bytes kept of one error line.
pub const MAX_LINE_LEN: usize = 500;

/// The patterns that make a line an error line (case-sensitive unless the
/// pattern says `(?i)`).
pub const MARKERS: &[&str] = &[
    r"##\[error\]",
    r"^error(\[E\d+\])?:",
    r"^(?i:error):\s",
    r"^\[?ERROR\]?[\s:]",
    r"\bFAILED\b",
    r"^FAIL\s",
    r"^--- FAIL:",
    r"^E\s{2,}\S",
    r"^npm ERR!",
    r"^fatal:",
    r"panicked at",
    r"^Traceback \(most recent call last\)",
    r"^\w+(\.\w+)*(Error|Exception)\b:?",
    r"(?i)\bexit(ed)? (with )?(code|status) \d+",
];

static MARKER_SET: LazyLock<Option<RegexSet>> = LazyLock::new(|| RegexSet::new(MARKERS).ok());
static PREFIX: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"^\s*(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\s?)?").ok());
static ANSI: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").ok());

/// The error lines of `log` (rules in the module doc), at most `max_lines`.
pub fn error_lines(log: &str, max_lines: usize) -> Vec<String> {
    let (Some(markers), Some(prefix), Some(ansi)) = (MARKER_SET.as_ref(), PREFIX.as_ref(), ANSI.as_ref())
    else {
        return Vec::new();
    };
    if max_lines == 0 {
        return Vec::new();
    }
    let mut kept: Vec<String> = Vec::new();
    let mut last_extra: Option<String> = None;
    for raw in log.lines() {
        let line = ansi.replace_all(raw, "");
        let line = prefix.replace(&line, "");
        let line = line.trim_end();
        if line.is_empty() || !markers.is_match(line) {
            continue;
        }
        let line = cap(line);
        if kept.contains(&line) {
            continue;
        }
        if kept.len() + 1 < max_lines {
            kept.push(line);
        } else {
            last_extra = Some(line);
        }
    }
    kept.extend(last_extra);
    kept
}

/// `line` cut to [`MAX_LINE_LEN`] bytes (at a character boundary, `…` added).
pub(crate) fn capped(line: &str) -> String {
    cap(line)
}

fn cap(line: &str) -> String {
    if line.len() <= MAX_LINE_LEN {
        return line.to_owned();
    }
    let mut end = MAX_LINE_LEN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_compiles() {
        assert!(MARKER_SET.is_some() && PREFIX.is_some() && ANSI.is_some());
    }

    #[test]
    fn a_github_log_gives_its_error_lines_without_timestamps() {
        let log = "\
2024-05-01T10:00:00.0000000Z ##[group]Run cargo test
2024-05-01T10:00:01.0000000Z    Compiling app v0.1.0
2024-05-01T10:00:09.0000000Z error[E0308]: mismatched types
2024-05-01T10:00:09.0000001Z   --> src/main.rs:3:5
2024-05-01T10:00:09.0000002Z error: could not compile `app` (bin \"app\") due to 1 previous error
2024-05-01T10:00:10.0000000Z ##[error]Process completed with exit code 101.
";
        assert_eq!(
            error_lines(log, 10),
            [
                "error[E0308]: mismatched types",
                "error: could not compile `app` (bin \"app\") due to 1 previous error",
                "##[error]Process completed with exit code 101.",
            ]
        );
    }

    #[test]
    fn test_runner_lines_are_error_lines() {
        let log = "\
\u{1b}[31mFAIL\u{1b}[0m src/login.test.ts
    ✓ renders
--- FAIL: TestParse (0.00s)
E       AssertionError: assert 1 == 2
npm ERR! code ELIFECYCLE
ok      example.com/pkg 0.01s
thread 'main' panicked at src/lib.rs:10:5:
Traceback (most recent call last):
ValueError: invalid literal for int() with base 10: 'x'
";
        let lines = error_lines(log, 20);
        assert_eq!(lines.len(), 7, "{lines:?}");
        assert!(lines[0].starts_with("FAIL src/login.test.ts"));
        assert!(!lines.iter().any(|l| l.contains('✓') || l.starts_with("ok")));
    }

    #[test]
    fn the_first_lines_and_the_last_are_kept_when_there_are_many() {
        let mut log: String = (0..50).map(|i| format!("error: problem {i}\n")).collect();
        log.push_str("##[error]Process completed with exit code 1.\n");
        let lines = error_lines(&log, 4);
        assert_eq!(
            lines,
            [
                "error: problem 0",
                "error: problem 1",
                "error: problem 2",
                "##[error]Process completed with exit code 1."
            ]
        );
    }

    #[test]
    fn repeated_lines_are_kept_once_and_long_lines_capped() {
        let log = format!("error: same\nerror: same\nerror: {}\n", "x".repeat(2_000));
        let lines = error_lines(&log, 10);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].len() <= MAX_LINE_LEN + '…'.len_utf8());
    }
}
