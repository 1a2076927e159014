//! The packed queue-time histogram of `rollup_runner_days.queues`: one
//! value per day and label set instead of one row per distinct second, so
//! a 30-day read loads a few hundred values, not tens of thousands of rows.
//!
//! Layout, little-endian: `u8` version (1), `u32` pairs, each `i64`
//! seconds and `i64` jobs, ascending by seconds. Bytes that do not follow
//! it are an `Invariant` error, never a panic.

use bytes::{Buf, BufMut};

use crate::metrics::tally::Histogram;
use crate::store::StoreError;

const VERSION: u8 = 1;

fn bad(what: &str) -> StoreError {
    StoreError::Invariant(format!("packed runner queue histogram: {what}"))
}

/// The bytes of `histogram`.
pub(super) fn encode(histogram: &Histogram) -> Result<Vec<u8>, StoreError> {
    let pairs: Vec<(i64, i64)> = histogram.iter().collect();
    let mut out = Vec::with_capacity(5 + pairs.len() * 16);
    out.put_u8(VERSION);
    out.put_u32_le(u32::try_from(pairs.len()).map_err(|_| bad("too many values"))?);
    for (seconds, n) in pairs {
        out.put_i64_le(seconds);
        out.put_i64_le(n);
    }
    Ok(out)
}

/// Adds the histogram of `bytes` to `into`.
pub(super) fn add_into(mut bytes: &[u8], into: &mut Histogram) -> Result<(), StoreError> {
    let buf = &mut bytes;
    match buf.try_get_u8() {
        Ok(VERSION) => {}
        Ok(_) => return Err(bad("unknown version")),
        Err(_) => return Err(bad("empty")),
    }
    let n = buf.try_get_u32_le().map_err(|_| bad("cut short"))? as usize;
    if buf.remaining() != n * 16 {
        return Err(bad("cut short or too long"));
    }
    for _ in 0..n {
        into.add(buf.get_i64_le(), buf.get_i64_le());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip_and_bad_bytes_are_errors() {
        let mut h = Histogram::default();
        for (s, n) in [(0, 3), (30, 1), (4_000_000_000_000, 2)] {
            h.add(s, n);
        }
        let bytes = encode(&h).expect("encode");
        let mut back = Histogram::default();
        add_into(&bytes, &mut back).expect("decode");
        assert_eq!(back, h);
        for cut in 0..bytes.len() {
            assert!(add_into(&bytes[..cut], &mut Histogram::default()).is_err(), "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = 9;
        assert!(add_into(&wrong, &mut Histogram::default()).is_err());
    }
}
