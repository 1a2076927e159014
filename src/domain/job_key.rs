//! Job identity across runs: the *job key* (repository, workflow, job name
//! with matrix values removed) that `/api/insights/jobs` groups by, and the
//! matrix values kept for drill-down. Pure.
//!
//! The job-name part, [`JobName::parse`]:
//!
//! - A matrix job is named `NAME (VALUE, VALUE, …)` by GitHub: the trailing
//!   parenthesised suffix is the matrix, removed from the key and kept as
//!   the job's *matrix variant*: `test (ubuntu-latest, 3.11)` → key `test`,
//!   variant `ubuntu-latest, 3.11`.
//! - A job of a called (reusable) workflow is named `CALLER / CALLEE`.
//!   Such jobs are grouped by the full `CALLER / CALLEE` path, with the
//!   matrix suffix removed from each part: `build (linux) / test (3.11)` →
//!   key `build / test`, variant `linux / 3.11` (the parts' values joined
//!   with ` / `; a part without values contributes nothing).
//! - Parentheses anywhere but at the end of a part stay in the key
//!   (`lint (strict) extra` is its own key); surrounding blanks are
//!   trimmed; a name that is only a suffix (`(a, b)`) keeps its text as key.
//! - A job without a name has no key and is left out of job insights.
//!
//! The repository and workflow come from the job's run attempt.

/// A job name split into its key part and its matrix variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobName {
    /// The name with matrix suffixes removed (the job key's name part).
    pub key: String,
    /// The matrix values, `None` when the name carries none.
    pub matrix: Option<String>,
}

/// `(key, values)` of one ` / `-separated part.
fn split_part(part: &str) -> (&str, Option<&str>) {
    let part = part.trim();
    if let Some(open) = part.strip_suffix(')').and_then(|p| p.rfind(" (")) {
        let base = part[..open].trim_end();
        if !base.is_empty() {
            let values = part[open + 2..part.len() - 1].trim();
            return (base, (!values.is_empty()).then_some(values));
        }
    }
    (part, None)
}

impl JobName {
    /// Splits a provider's job name (see the module doc); `None` for a
    /// missing or blank name.
    pub fn parse(name: Option<&str>) -> Option<JobName> {
        let name = name?.trim();
        if name.is_empty() {
            return None;
        }
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for part in name.split(" / ") {
            let (key, matrix) = split_part(part);
            keys.push(key);
            values.extend(matrix);
        }
        Some(JobName { key: keys.join(" / "), matrix: (!values.is_empty()).then(|| values.join(" / ")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> (String, Option<String>) {
        let n = JobName::parse(Some(name)).expect("a key");
        (n.key, n.matrix)
    }

    #[test]
    fn matrix_suffixes_are_grouped() {
        assert_eq!(parse("test (ubuntu-latest, 3.11)"), ("test".into(), Some("ubuntu-latest, 3.11".into())));
        assert_eq!(parse("test (windows-latest, 3.12)").0, "test");
        assert_eq!(parse("build"), ("build".into(), None));
        assert_eq!(parse("  build  "), ("build".into(), None));
        assert_eq!(parse("test ()"), ("test".into(), None));
    }

    #[test]
    fn reusable_workflow_jobs_keep_the_full_path() {
        assert_eq!(parse("ci / test"), ("ci / test".into(), None));
        assert_eq!(
            parse("build (linux) / test (3.11, x64)"),
            ("build / test".into(), Some("linux / 3.11, x64".into()))
        );
        assert_eq!(parse("deploy / smoke (eu)"), ("deploy / smoke".into(), Some("eu".into())));
    }

    #[test]
    fn odd_names_are_kept_as_they_are() {
        assert_eq!(parse("lint (strict) extra"), ("lint (strict) extra".into(), None));
        assert_eq!(parse("(a, b)"), ("(a, b)".into(), None));
        assert_eq!(parse("a/b (x)"), ("a/b".into(), Some("x".into())));
        assert_eq!(JobName::parse(Some("   ")), None);
        assert_eq!(JobName::parse(None), None);
    }
}
