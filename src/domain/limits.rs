//! The longest text the dashboard stores in each field, and the one check
//! every stored text passes at the boundary (webhook deliveries and polled
//! REST objects alike), so SQLite and PostgreSQL accept and refuse the same
//! input.
//!
//! Why limits at all: PostgreSQL refuses a NUL character in `text` and an
//! index entry over 2 704 bytes (a B-tree page's third): a 3 000-character
//! repository name or status would be a 500 on PostgreSQL and stored on
//! SQLite. The limits follow GitHub's own where it documents one and are
//! generous elsewhere; the indexed fields (repository, status, run and job
//! ids, GUID) stay far below PostgreSQL's index row limit together (the
//! `builds_window` index holds the repository and the provider's status:
//! at most 201 + 64 bytes, plus the dashboard's own short status word).
//!
//! A delivery breaking a limit is answered 400 naming the field (and kept as
//! `rejected` with its raw body); a polled object breaking one is skipped
//! with a log line.

/// One field's limit, in bytes of UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The field as error messages name it.
    pub field: &'static str,
    /// Most bytes of UTF-8 (a character may take up to 4).
    pub max_bytes: usize,
    /// Where the number comes from.
    pub basis: &'static str,
}

/// Every stored text field and its limit. Fields not listed get
/// [`DEFAULT_MAX_BYTES`].
pub const LIMITS: &[Limit] = &[
    Limit {
        field: "repository",
        max_bytes: 201,
        basis: "GitHub: owner ≤ 100 (logins ≤ 39) + '/' + name ≤ 100",
    },
    Limit { field: "run id", max_bytes: 64, basis: "a provider's numeric or opaque id" },
    Limit { field: "deployment id", max_bytes: 64, basis: "a provider's numeric or opaque id" },
    Limit { field: "environment", max_bytes: 255, basis: "GitHub environment names are ≤ 255 characters" },
    Limit { field: "incident id", max_bytes: 200, basis: "the caller's id of an incident" },
    Limit { field: "job id", max_bytes: 64, basis: "a provider's numeric or opaque id" },
    Limit { field: "workflow", max_bytes: 1024, basis: "a workflow's `name:` (GitHub documents none)" },
    Limit { field: "job name", max_bytes: 1024, basis: "a job's `name:`, matrix values included" },
    Limit {
        field: "step name",
        max_bytes: 1024,
        basis: "a step's `name:` or its `run:` command's first line",
    },
    Limit { field: "event", max_bytes: 64, basis: "GitHub event names are under 40 characters" },
    Limit { field: "branch", max_bytes: 255, basis: "git refs: 255 bytes per name on common file systems" },
    Limit { field: "commit", max_bytes: 64, basis: "a SHA-1 (40) or SHA-256 (64) in hex" },
    Limit { field: "actor", max_bytes: 255, basis: "GitHub logins ≤ 39; other providers' user names" },
    Limit { field: "url", max_bytes: 2048, basis: "the common practical URL limit" },
    Limit { field: "status", max_bytes: 64, basis: "provider status words, e.g. in_progress" },
    Limit { field: "conclusion", max_bytes: 64, basis: "provider conclusion words, e.g. startup_failure" },
    Limit { field: "runner", max_bytes: 255, basis: "runner names (GitHub: ≤ 64)" },
    Limit { field: "runner group", max_bytes: 255, basis: "runner group names (GitHub: ≤ 64)" },
    Limit { field: "label", max_bytes: 255, basis: "runner labels (GitHub: ≤ 100 characters)" },
    Limit { field: "action", max_bytes: 64, basis: "the payload's `action` word, e.g. completed" },
    Limit { field: "x-github-delivery", max_bytes: 200, basis: "a GUID (36 characters); visible ASCII only" },
    Limit { field: "x-github-event", max_bytes: 200, basis: "an event name; visible ASCII only" },
    Limit { field: "stage", max_bytes: 255, basis: "a GitLab stage name" },
    Limit { field: "failure reason", max_bytes: 64, basis: "GitLab failure reasons, e.g. script_failure" },
    Limit { field: "idempotency-key", max_bytes: 200, basis: "GitLab's key, a UUID; visible ASCII only" },
    Limit {
        field: "x-gitlab-event-uuid",
        max_bytes: 200,
        basis: "a UUID (36 characters); visible ASCII only",
    },
    Limit { field: "x-gitlab-event", max_bytes: 200, basis: "an event name, e.g. Pipeline Hook" },
];

/// Limit of a field not in [`LIMITS`].
pub const DEFAULT_MAX_BYTES: usize = 1024;

/// Most runner labels one job may carry.
pub const MAX_LABELS: usize = 100;

/// Most steps one job may carry (GitHub documents no limit; real jobs have
/// tens).
pub const MAX_STEPS: usize = 1000;

/// The limit of `field`, in bytes.
pub fn max_bytes(field: &str) -> usize {
    LIMITS.iter().find(|limit| limit.field == field).map_or(DEFAULT_MAX_BYTES, |limit| limit.max_bytes)
}

/// Checks one text: no NUL character, and no longer than its field's limit.
/// The error names the field and says what is wrong.
pub fn check(field: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err(format!("the {field} contains a NUL character"));
    }
    let max = max_bytes(field);
    if text.len() > max {
        return Err(format!("the {field} is {} bytes long; at most {max} are stored", text.len()));
    }
    Ok(())
}

/// Checks every `(field, text)` (absent texts pass), answering the first
/// problem; more than [`MAX_LABELS`] labels is one too.
pub fn check_all<'a>(texts: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<(), String> {
    let mut labels = 0;
    for (field, text) in texts {
        labels += usize::from(field == "label");
        if labels > MAX_LABELS {
            return Err(format!("more than {MAX_LABELS} labels"));
        }
        if let Some(text) = text {
            check(field, text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_within_their_limits_pass_and_others_name_the_field() {
        assert_eq!(check("repository", &"a".repeat(201)), Ok(()));
        let long = check("repository", &"a".repeat(202)).expect_err("too long");
        assert!(long.contains("repository") && long.contains("201"), "{long}");
        assert!(check("status", "in\0progress").expect_err("NUL").contains("status"));
        // Bytes, not characters: 64 × 'é' is 128 bytes.
        assert!(check("status", &"é".repeat(40)).is_err());
        assert_eq!(check("something new", &"a".repeat(DEFAULT_MAX_BYTES)), Ok(()));
        assert_eq!(check_all([("branch", None), ("commit", Some("abc"))]), Ok(()));
        let labels = vec![("label", Some("x")); MAX_LABELS + 1];
        assert!(check_all(labels).is_err());
    }

    #[test]
    fn the_indexed_fields_stay_far_below_postgresql_index_rows() {
        // builds_window indexes repository + provider status + status; the
        // unique key repository + run id. PostgreSQL's limit is 2 704 bytes.
        assert!(max_bytes("repository") + 2 * max_bytes("status") < 1000);
        assert!(max_bytes("repository") + max_bytes("run id") < 1000);
        let fields: Vec<_> = LIMITS.iter().map(|l| l.field).collect();
        let mut unique = fields.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), fields.len(), "one line per field");
    }
}
