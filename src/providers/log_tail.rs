//! The end of a job's log, read from a streaming HTTP answer without
//! holding more than twice the kept size: GitHub's job logs and GitLab's
//! job traces can be many megabytes, and only their last lines say why a
//! job failed. Shared by the providers' failure fetchers. Owns no requests.

/// Bytes read of one log at most; what follows is not read.
pub const MAX_READ: usize = 64 * 1024 * 1024;

/// The last lines of a log: at most `cap` bytes, starting at a line start
/// when the log was cut, decoded as UTF-8 (bad bytes replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    pub text: String,
    /// Whether the log was longer than `cap`.
    pub truncated: bool,
}

/// Keeps the last `cap` bytes of `tail` (a buffer being filled).
fn trim_front(tail: &mut Vec<u8>, cap: usize) {
    if tail.len() > cap {
        tail.drain(..tail.len() - cap);
    }
}

/// The tail of `bytes` as [`LogTail`] (the pure part of [`read_tail`]).
pub fn tail_of(bytes: &[u8], cap: usize, longer: bool) -> LogTail {
    let mut kept = bytes.to_vec();
    let truncated = longer || kept.len() > cap;
    trim_front(&mut kept, cap);
    let mut start = 0;
    if truncated && let Some(newline) = kept.iter().position(|b| *b == b'\n') {
        start = newline + 1;
    }
    LogTail { text: String::from_utf8_lossy(&kept[start..]).into_owned(), truncated }
}

/// Reads `response`'s body, keeping its last `cap` bytes (reading at most
/// [`MAX_READ`]).
///
/// Errors: the body could not be read.
pub async fn read_tail(mut response: reqwest::Response, cap: usize) -> Result<LogTail, reqwest::Error> {
    let mut tail: Vec<u8> = Vec::new();
    let mut read = 0usize;
    let mut longer = false;
    while let Some(chunk) = response.chunk().await? {
        read += chunk.len();
        tail.extend_from_slice(&chunk);
        if tail.len() > cap.saturating_mul(2).max(8192) {
            trim_front(&mut tail, cap);
            longer = true;
        }
        if read >= MAX_READ {
            longer = true;
            break;
        }
    }
    Ok(tail_of(&tail, cap, longer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whole_lines_of_the_end() {
        let log = b"first line\nsecond line\nthird\n";
        assert_eq!(
            tail_of(log, 100, false),
            LogTail { text: "first line\nsecond line\nthird\n".into(), truncated: false }
        );
        // 14 bytes from the end start inside "second line"; the cut line is dropped.
        assert_eq!(tail_of(log, 14, false), LogTail { text: "third\n".into(), truncated: true });
        assert!(tail_of(b"abc", 10, true).truncated);
    }

    #[test]
    fn bad_bytes_do_not_stop_it() {
        let got = tail_of(b"ok\n\xff\xfe error\n", 100, false);
        assert!(got.text.contains("error"));
    }
}
