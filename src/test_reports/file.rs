//! One uploaded report file: plain or gzip-compressed (by its magic
//! number), decompressed as it is read and never past a byte cap (so a
//! gzip bomb stops at the cap instead of filling memory), hashed (SHA-256
//! of the decompressed bytes: the file's identity for idempotent uploads)
//! and read into the dashboard's test executions.

use std::io::{BufReader, Read};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::{Limits, ReportError, TestCase, read_report};
use crate::domain::{FailureText, RepoName, TestExecution, TestIdentity, TestOutcome};

/// A report file read.
#[derive(Debug, Clone)]
pub struct ReadFile {
    /// SHA-256 (hex) of the file's bytes after gzip decoding.
    pub digest: String,
    /// Bytes after gzip decoding.
    pub decoded_bytes: u64,
    pub executions: Vec<TestExecution>,
}

impl ReadFile {
    /// Executions with `outcome`.
    pub fn count(&self, outcome: TestOutcome) -> usize {
        self.executions.iter().filter(|e| e.outcome == outcome).count()
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The decompressed bytes passed `max_decoded`.
    #[error("the report decompresses to more than {0} bytes")]
    TooLarge(u64),
    #[error("the gzip data is corrupt: {0}")]
    BadGzip(String),
    /// Gzip data expanding more than [`MAX_GZIP_RATIO`]-fold (plus 1 MiB):
    /// a decompression bomb, refused before it is decoded in full.
    #[error("the gzip data expands more than {MAX_GZIP_RATIO}-fold: refused as a decompression bomb")]
    Bomb,
}

/// The most a gzip-compressed report may expand (its decoded bytes per
/// compressed byte, with 1 MiB allowed on top). Real JUnit reports
/// compress 10–50-fold; deflate's own ceiling is about 1 032-fold.
pub const MAX_GZIP_RATIO: u64 = 250;

/// Whether `bytes` start with gzip's magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads one report file of `repo` from `bytes` (gzip-decoded when they
/// start with gzip's magic number or `gzip` is set), reading at most
/// `max_decoded` decoded bytes (and, gzip-compressed, no more than
/// [`MAX_GZIP_RATIO`] times its compressed size plus 1 MiB).
///
/// Errors: the report's ([`ReportError`], with byte positions in the
/// decoded text), [`FileError::TooLarge`] past `max_decoded`,
/// [`FileError::Bomb`] past the ratio, [`FileError::BadGzip`].
pub fn read_file(
    bytes: &[u8],
    gzip: bool,
    repo: &RepoName,
    limits: &Limits,
    max_decoded: u64,
) -> Result<ReadFile, FileError> {
    let gzip = gzip || is_gzip(bytes);
    let source: Box<dyn Read + '_> =
        if gzip { Box::new(MultiGzDecoder::new(bytes)) } else { Box::new(bytes) };
    let ratio_cap = (bytes.len() as u64).saturating_mul(MAX_GZIP_RATIO).saturating_add(1 << 20);
    let (max, past_max) = if gzip && ratio_cap < max_decoded {
        (ratio_cap, FileError::Bomb)
    } else {
        (max_decoded, FileError::TooLarge(max_decoded))
    };
    let mut counted =
        Counted { inner: source, hasher: Sha256::new(), bytes: 0, max, past_max, failure: None };
    let mut executions = Vec::new();
    let result = read_report(BufReader::with_capacity(64 * 1024, &mut counted), limits, |case| {
        executions.push(execution(repo, case));
    });
    // A read failure below the XML reader (cap, gzip) explains the error it caused.
    if let Some(failure) = counted.failure.take() {
        return Err(failure);
    }
    result?;
    // Trailing bytes after the root element (quick-xml stops at its end)
    // still count toward the digest and the cap.
    std::io::copy(&mut counted, &mut std::io::sink()).ok();
    if let Some(failure) = counted.failure.take() {
        return Err(failure);
    }
    Ok(ReadFile { digest: hex::encode(counted.hasher.finalize()), decoded_bytes: counted.bytes, executions })
}

/// The dashboard's view of one test case of `repo`'s report: its identity
/// (classname, else the enclosing suite), outcome, duration rounded to
/// whole milliseconds, reruns, and failure texts for failures only. NUL
/// characters (which no stored text may hold) become U+FFFD.
pub fn execution(repo: &RepoName, case: TestCase) -> TestExecution {
    let clean = |text: String| if text.contains('\0') { text.replace('\0', "\u{fffd}") } else { text };
    let failure = case.outcome.is_failure().then(|| FailureText {
        message: case.message.map(clean),
        failure_type: case.failure_type.map(clean),
        details: case.details.map(clean),
    });
    TestExecution {
        identity: TestIdentity {
            repo: repo.clone(),
            classname: case.classname.filter(|c| !c.is_empty()).or(case.suite).map(clean),
            name: clean(case.name),
            file: case.file.filter(|f| !f.is_empty()).map(clean),
        },
        outcome: case.outcome,
        duration_ms: case.duration_seconds.map(|s| (s * 1000.0).round().min(i32::MAX as f64) as i64),
        reruns: i64::try_from(case.reruns.len()).unwrap_or(i64::MAX),
        failure,
    }
}

/// A reader that hashes and counts what passes through it and fails past
/// its cap, remembering why.
struct Counted<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    max: u64,
    /// The error past `max`.
    past_max: FileError,
    failure: Option<FileError>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(err) => {
                self.failure = Some(FileError::BadGzip(err.to_string()));
                return Err(err);
            }
        };
        self.bytes += n as u64;
        if self.bytes > self.max {
            self.failure = Some(self.past_max.clone());
            return Err(std::io::Error::other("over the decompressed size cap"));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const REPORT: &str = r#"<testsuite name="s"><testcase classname="A" name="ok" time="0.0125"/><testcase name="bad" time="1"><failure message="boom" type="E">trace</failure></testcase></testsuite>"#;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("compress")
    }

    #[test]
    fn plain_and_gzip_read_alike_with_the_same_digest() {
        let repo = RepoName::from("octo/app");
        let plain = read_file(REPORT.as_bytes(), false, &repo, &Limits::default(), 1 << 20).expect("plain");
        let zipped =
            read_file(&gzip(REPORT.as_bytes()), false, &repo, &Limits::default(), 1 << 20).expect("gzip");
        assert_eq!(plain.digest, zipped.digest);
        assert_eq!(plain.digest, hex::encode(Sha256::digest(REPORT.as_bytes())));
        assert_eq!(plain.executions, zipped.executions);
        // 0.0125 s → 12.5 ms → 13 ms (rounded half away from zero).
        assert_eq!(plain.executions[0].duration_ms, Some(13));
        assert_eq!(plain.executions[0].identity.classname.as_deref(), Some("A"));
        // No classname: the suite's name stands in.
        assert_eq!(plain.executions[1].identity.classname.as_deref(), Some("s"));
        let failure = plain.executions[1].failure.as_ref().expect("failure texts");
        assert_eq!(failure.message.as_deref(), Some("boom"));
        assert_eq!(plain.count(TestOutcome::Failed), 1);
        assert!(plain.executions[0].failure.is_none());
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        // 64 MiB of spaces inside a report compress to about 64 KiB.
        let mut xml = b"<testsuite name=\"s\">".to_vec();
        xml.extend(std::iter::repeat_n(b' ', 64 << 20));
        xml.extend_from_slice(b"</testsuite>");
        let bomb = gzip(&xml);
        assert!(bomb.len() < 1 << 20);
        let err =
            read_file(&bomb, false, &RepoName::from("o/r"), &Limits::default(), 1 << 20).expect_err("capped");
        assert_eq!(err, FileError::TooLarge(1 << 20));
        // Under a larger cap, the ratio stops it: 64 KiB × 250 + 1 MiB ≈ 17 MiB < 64 MiB.
        let err =
            read_file(&bomb, false, &RepoName::from("o/r"), &Limits::default(), 1 << 30).expect_err("ratio");
        assert_eq!(err, FileError::Bomb);
        // The same text uncompressed is only held to the size cap.
        let err =
            read_file(&xml, false, &RepoName::from("o/r"), &Limits::default(), 1 << 20).expect_err("capped");
        assert_eq!(err, FileError::TooLarge(1 << 20));
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        let mut bytes = gzip(REPORT.as_bytes());
        let middle = bytes.len() / 2;
        bytes.truncate(middle);
        let err = read_file(&bytes, false, &RepoName::from("o/r"), &Limits::default(), 1 << 20)
            .expect_err("corrupt");
        assert!(matches!(err, FileError::BadGzip(_) | FileError::Report(_)), "{err:?}");
    }
}
