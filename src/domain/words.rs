//! Counted nouns in sentences for people (CLI output, summaries): "1 test",
//! "2 tests", "1 repository", "0 repositories". Pure; says nothing about
//! what is counted.

use std::fmt::Display;

/// `n` and the noun that agrees with it: `one` when `n` is exactly 1, else
/// `many` (English uses the plural for 0 too), e.g. `count(1, "test",
/// "tests")` = `"1 test"`, `count(0, "delivery", "deliveries")` =
/// `"0 deliveries"`.
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: Display + Copy + TryInto<u64>,
{
    let noun = if n.try_into().ok() == Some(1) { one } else { many };
    format!("{n} {noun}")
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(count(1usize, "test", "tests"), "1 test");
        assert_eq!(count(0usize, "test", "tests"), "0 tests");
        assert_eq!(count(2u64, "repository", "repositories"), "2 repositories");
        assert_eq!(count(1i64, "delivery", "deliveries"), "1 delivery");
        assert_eq!(count(-1i64, "row", "rows"), "-1 rows");
    }
}
