//! Failure signatures: an error message with everything that changes from
//! run to run taken out, and a short fingerprint of what is left.
//!
//! Normalisation, in this order (each rule a regular expression, tested
//! below on real messages):
//! 1. ANSI colour codes, a log line's leading timestamp and GitHub's
//!    `##[error]` marker are removed;
//! 2. quoted values (`'…'`, `"…"`, `` `…` ``, typographic quotes) become
//!    `'<value>'` (a quote right after a letter is an apostrophe, not a
//!    quote: `can't`);
//! 3. URLs become `<url>`, UUIDs `<uuid>`, timestamps and dates `<time>`;
//! 4. file paths (`/a/b/c.rs`, `C:\a\b`, `./x/y`) become `<path>`, keeping
//!    a path's last part's extension out too (temp names vary);
//! 5. `0x…` numbers and hexadecimal runs of 7+ characters mixing digits
//!    and letters (commit SHAs, object ids) become `<hex>`;
//! 6. remaining numbers become `<n>` (line numbers, ports, counts, exit
//!    codes — "exit code 1" and "exit code 137" share a signature; the
//!    classifier reads the raw message, not the signature);
//! 7. runs of white space become one space; the result is trimmed and
//!    capped at [`MAX_SIGNATURE_LEN`] bytes.
//!
//! The fingerprint is the first 16 hex digits of SHA-256 over the
//! normalised text.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Bytes kept of a normalised message.
pub const MAX_SIGNATURE_LEN: usize = 300;

/// A normalised error message and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The message with its varying parts replaced (see the module doc).
    pub text: String,
    /// 16 hex digits identifying `text`.
    pub fingerprint: String,
}

impl Signature {
    /// The signature of one error message; `None` when nothing is left
    /// after normalisation (an empty or all-variable line).
    pub fn of(message: &str) -> Option<Signature> {
        let text = normalise(message);
        if !PLACEHOLDER.replace_all(&text, "").chars().any(|c| c.is_alphabetic()) {
            return None;
        }
        let digest = Sha256::digest(text.as_bytes());
        let fingerprint = hex::encode(&digest[..8]);
        Some(Signature { text, fingerprint })
    }
}

fn regex(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests below.
    Regex::new(pattern).unwrap_or_else(|e| panic!("failure signature pattern {pattern}: {e}"))
}

static ANSI: LazyLock<Regex> = LazyLock::new(|| regex(r"\x1b\[[0-9;?]*[A-Za-z]"));
static LOG_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?\s+|##\[(?:error|warning)\]\s*")
});
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"(^|[^\w])(?:'[^'\n]*'|"[^"\n]*"|`[^`\n]*`|‘[^’\n]*’|“[^”\n]*”)"#));
static URL: LazyLock<Regex> = LazyLock::new(|| regex(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+"));
static UUID: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"));
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
    )
});
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:[A-Za-z]:\\|\.{0,2}/)?(?:[\w.@~+-]+[/\\])+[\w.@~+-]*|(?:[A-Za-z]:\\|/)[\w.@~+-]+")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:0x[0-9a-fA-F]+|[0-9a-fA-F]{7,})\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| regex(r"\d+(?:\.\d+)?"));
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| regex(r"<(?:n|hex|path|url|uuid|time|value)>"));
static SPACE: LazyLock<Regex> = LazyLock::new(|| regex(r"\s+"));

/// The normalised form of `message` (rules in the module doc).
pub fn normalise(message: &str) -> String {
    let text = ANSI.replace_all(message, "");
    let text = LOG_PREFIX.replace_all(&text, "");
    let text = QUOTED.replace_all(&text, "${1}'<value>'");
    let text = URL.replace_all(&text, "<url>");
    let text = UUID.replace_all(&text, "<uuid>");
    let text = TIME.replace_all(&text, "<time>");
    let text = PATH.replace_all(&text, "<path>");
    let text = HEX.replace_all(&text, |caps: &regex::Captures| {
        let m = &caps[0];
        let mixed = m.chars().any(|c| c.is_ascii_digit()) && m.chars().any(|c| c.is_ascii_alphabetic());
        if m.starts_with("0x") || mixed { "<hex>".to_owned() } else { m.to_owned() }
    });
    let text = NUMBER.replace_all(&text, "<n>");
    let text = SPACE.replace_all(&text, " ");
    let text = text.trim();
    if text.len() <= MAX_SIGNATURE_LEN {
        return text.to_owned();
    }
    let mut end = MAX_SIGNATURE_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_error_in_two_runs_has_one_signature() {
        let a = "2024-03-01T10:00:01.1234567Z ##[error]Process completed with exit code 1.";
        let b = "2024-03-02T23:59:59.0000001Z ##[error]Process completed with exit code 2.";
        assert_eq!(normalise(a), "Process completed with exit code <n>.");
        assert_eq!(Signature::of(a), Signature::of(b));
    }

    #[test]
    fn paths_hashes_quotes_and_ids_are_taken_out() {
        let a = "thread 'main' panicked at src/store/write/apply.rs:142:9: row 9f2c1e7a missing in /tmp/.tmpA1b2C3/db.sqlite";
        let b = "thread 'worker-3' panicked at src/store/write/apply.rs:150:13: row 00ab77f1 missing in /tmp/.tmpZZ9/db.sqlite";
        assert_eq!(normalise(a), "thread '<value>' panicked at <path>:<n>:<n>: row <hex> missing in <path>");
        assert_eq!(normalise(a), normalise(b));
        let c = r#"Cannot find module "./fixtures/user-5f0c.json" (request 3fa85f64-5717-4562-b3fc-2c963f66afa6 at 2024-01-02 03:04:05)"#;
        assert_eq!(normalise(c), "Cannot find module '<value>' (request <uuid> at <time>)");
        let d = r"Error: ENOENT: no such file or directory, open 'C:\Users\runner\work\app\out.txt'";
        assert_eq!(normalise(d), "Error: ENOENT: no such file or directory, open '<value>'");
        let e =
            "fatal: unable to access https://github.com/org/repo.git/: Could not resolve host: github.com";
        assert_eq!(normalise(e), "fatal: unable to access <url> Could not resolve host: github.com");
    }

    #[test]
    fn colour_codes_and_spacing_do_not_split_signatures() {
        let a = "\u{1b}[31mFAIL\u{1b}[0m  tests/login.test.ts   (12.5 s)";
        let b = "FAIL tests/login.test.ts (3.1 s)";
        assert_eq!(normalise(a), "FAIL <path> (<n> s)");
        assert_eq!(normalise(a), normalise(b));
    }

    #[test]
    fn different_errors_keep_different_signatures() {
        let a = Signature::of("AssertionError: expected 200 but got 500");
        let b = Signature::of("TimeoutError: navigation timed out after 30000 ms");
        assert_ne!(a, b);
        assert_eq!(Signature::of("  12345  "), None);
        assert_eq!(a.map(|s| s.fingerprint.len()), Some(16));
    }

    #[test]
    fn apostrophes_are_not_quotes() {
        assert_eq!(
            normalise(
                "Can't find any online and idle self-hosted runner that matches the required labels: 'ubuntu-latest'"
            ),
            "Can't find any online and idle self-hosted runner that matches the required labels: '<value>'"
        );
    }

    #[test]
    fn long_messages_are_capped_on_a_character_boundary() {
        let long = "é".repeat(400);
        assert!(normalise(&long).len() <= MAX_SIGNATURE_LEN);
    }
}
