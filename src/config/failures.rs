//! Settings of failure reasons: whether pollers fetch job logs
//! (`--fetch-logs`, off by default: logs can hold secrets), how much of a
//! log is kept, how many failed jobs a poller pass asks about, and the
//! configured infrastructure patterns (`--infra-failure-pattern`). Used by
//! `crate::scheduler::failure_reasons` and the providers' failure fetchers.

use clap::Args;

/// Failure-reason settings (`serve` and `worker`).
#[derive(Debug, Clone, Args)]
pub struct FailureSettings {
    /// Fetch the last lines of failed jobs' logs (GitHub job logs, GitLab
    /// job traces) for their error lines. Off by default: logs can hold
    /// secrets the provider did not mask. Excerpts are read with the API's
    /// read rule and shown as text only.
    #[arg(long, env = "CICD_FETCH_LOGS", default_value_t = false)]
    pub fetch_logs: bool,
    /// Bytes kept of the end of one job's log.
    #[arg(long, env = "CICD_LOG_EXCERPT_BYTES", default_value_t = 16_384)]
    pub log_excerpt_bytes: usize,
    /// Bytes of log excerpts kept in all; the oldest are dropped first.
    #[arg(long, env = "CICD_LOG_EXCERPT_TOTAL_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub log_excerpt_total_bytes: i64,
    /// Days log excerpts are kept (they go sooner with their run attempt).
    #[arg(long, env = "CICD_LOG_RETENTION_DAYS", default_value_t = 14)]
    pub log_retention_days: u32,
    /// Failed jobs a poller pass asks the provider about (annotations and,
    /// with --fetch-logs, the log); the rest wait for the next pass.
    #[arg(long, env = "CICD_FAILURE_FETCH_PER_PASS", default_value_t = 50)]
    pub failure_fetch_per_pass: i64,
    /// A regular expression (case-insensitive) that marks a failure whose
    /// error line matches it as infrastructure; repeat the flag or separate
    /// with newlines in the environment variable.
    #[arg(long = "infra-failure-pattern", env = "CICD_INFRA_FAILURE_PATTERNS", value_delimiter = '\n')]
    pub infra_failure_patterns: Vec<String>,
}

impl Default for FailureSettings {
    fn default() -> Self {
        FailureSettings {
            fetch_logs: false,
            log_excerpt_bytes: 16_384,
            log_excerpt_total_bytes: 256 * 1024 * 1024,
            log_retention_days: 14,
            failure_fetch_per_pass: 50,
            infra_failure_patterns: Vec::new(),
        }
    }
}
