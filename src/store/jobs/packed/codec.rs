//! The integers of the packed job roll-up's two layouts (`super`), and
//! nothing of what they mean. Version 1 (read only): fixed-width
//! little-endian, `i64` values, `u32` lengths and histogram pairs (seconds,
//! jobs), `u16` step name lengths, seconds beyond `u32::MAX` stored as
//! `u32::MAX`. Version 2 (written since): LEB128 varints (the
//! `integer-encoding` crate), zigzag for the values that may be negative,
//! and a histogram's seconds, ascending, each stored as the gap from the
//! one before (from 0 for the first), exactly: a key's histogram of a day
//! is mostly gaps and counts under 128, two bytes a pair instead of eight,
//! so PostgreSQL has a quarter of the bytes to detoast and send and the
//! reader a quarter to copy. Bytes off either layout are an `Invariant`
//! error, never a panic.

use integer_encoding::VarInt;

use crate::metrics::tally::Histogram;
use crate::store::StoreError;

/// The fixed-width layout, still read.
const V1: u8 = 1;
/// The varint layout, written.
const V2: u8 = 2;

pub(super) fn bad(what: &str) -> StoreError {
    StoreError::Invariant(format!("packed job roll-up: {what}"))
}

/// Writes the version-2 layout.
pub(super) struct Writer(Vec<u8>);

impl Writer {
    /// A value starting with the version byte.
    pub(super) fn new(capacity: usize) -> Writer {
        let mut out = Vec::with_capacity(capacity);
        out.push(V2);
        Writer(out)
    }

    fn unsigned(&mut self, n: u64) {
        let mut bytes = [0u8; 10];
        let len = n.encode_var(&mut bytes);
        self.0.extend_from_slice(&bytes[..len]);
    }

    /// A value that may be negative (zigzag).
    pub(super) fn int(&mut self, n: i64) {
        let mut bytes = [0u8; 10];
        let len = n.encode_var(&mut bytes);
        self.0.extend_from_slice(&bytes[..len]);
    }

    /// A count of entries.
    pub(super) fn len(&mut self, n: usize) {
        self.unsigned(n as u64);
    }

    /// A text: its length in bytes, then its UTF-8.
    pub(super) fn text(&mut self, text: &str) {
        self.len(text.len());
        self.0.extend_from_slice(text.as_bytes());
    }

    /// The pairs (seconds, jobs), seconds ascending: the count of pairs,
    /// then each pair's gap from the seconds before and its jobs.
    pub(super) fn histogram(&mut self, histogram: &Histogram) -> Result<(), StoreError> {
        let pairs: Vec<(i64, i64)> = histogram.iter().collect();
        self.len(pairs.len());
        let mut previous = 0u64;
        for (seconds, n) in pairs {
            // Durations are clamped to 0 before they are tallied; a
            // negative one would sort first, so clamping keeps the order.
            let seconds = u64::try_from(seconds).unwrap_or(0).max(previous);
            self.unsigned(seconds - previous);
            previous = seconds;
            self.unsigned(u64::try_from(n).map_err(|_| bad("a histogram count out of range"))?);
        }
        Ok(())
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads either layout, by the value's version byte.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    version: u8,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Result<Reader<'a>, StoreError> {
        match buf.split_first() {
            Some((&version @ (V1 | V2), rest)) => Ok(Reader { buf: rest, version }),
            Some(_) => Err(bad("unknown version")),
            None => Err(bad("empty")),
        }
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let (head, rest) = self.buf.split_first_chunk::<N>().ok_or_else(|| bad("cut short"))?;
        self.buf = rest;
        Ok(*head)
    }

    fn unsigned(&mut self) -> Result<u64, StoreError> {
        let (n, len) = u64::decode_var(self.buf).ok_or_else(|| bad("cut short"))?;
        self.buf = &self.buf[len..];
        Ok(n)
    }

    /// A value written by [`Writer::int`] (v1: an `i64`).
    pub(super) fn int(&mut self) -> Result<i64, StoreError> {
        if self.version == V1 {
            return Ok(i64::from_le_bytes(self.fixed()?));
        }
        let (n, len) = i64::decode_var(self.buf).ok_or_else(|| bad("cut short"))?;
        self.buf = &self.buf[len..];
        Ok(n)
    }

    /// A count written by [`Writer::len`] (v1: a `u32`).
    pub(super) fn len(&mut self) -> Result<usize, StoreError> {
        if self.version == V1 {
            return Ok(u32::from_le_bytes(self.fixed()?) as usize);
        }
        let n = self.unsigned()?;
        // Every entry takes at least a byte: a larger count is corrupt,
        // and would only make a reader reserve memory for nothing.
        usize::try_from(n).ok().filter(|&n| n <= self.buf.len()).ok_or_else(|| bad("cut short"))
    }

    /// A text written by [`Writer::text`] (v1: a `u16` length).
    pub(super) fn text(&mut self) -> Result<&'a str, StoreError> {
        let len =
            if self.version == V1 { usize::from(u16::from_le_bytes(self.fixed()?)) } else { self.len()? };
        if self.buf.len() < len {
            return Err(bad("cut short"));
        }
        let (text, rest) = self.buf.split_at(len);
        self.buf = rest;
        std::str::from_utf8(text).map_err(|_| bad("a step name not UTF-8"))
    }

    /// The pairs of a histogram written by [`Writer::histogram`], pushed
    /// onto `into` with their jobs times `sign`, or skipped (`None`).
    pub(super) fn pairs_into(
        &mut self,
        into: Option<&mut Vec<(i64, i64)>>,
        sign: i64,
    ) -> Result<(), StoreError> {
        let n = self.len()?;
        if self.version == V1 {
            if self.buf.len() < n * 8 {
                return Err(bad("cut short"));
            }
            let (pairs, rest) = self.buf.split_at(n * 8);
            self.buf = rest;
            if let Some(into) = into {
                into.extend(pairs.chunks_exact(8).map(|pair| {
                    let seconds = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
                    let jobs = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
                    (i64::from(seconds), sign * i64::from(jobs))
                }));
            }
            return Ok(());
        }
        let mut into = into;
        if let Some(into) = into.as_deref_mut() {
            into.reserve(n);
        }
        let mut seconds = 0u64;
        for _ in 0..n {
            seconds = seconds.checked_add(self.unsigned()?).ok_or_else(|| bad("seconds out of range"))?;
            let jobs = self.unsigned()?;
            if let Some(into) = into.as_deref_mut() {
                let seconds = i64::try_from(seconds).map_err(|_| bad("seconds out of range"))?;
                let jobs = i64::try_from(jobs).map_err(|_| bad("a histogram count out of range"))?;
                into.push((seconds, sign * jobs));
            }
        }
        Ok(())
    }
}
