//! Settings that bound what hostile or careless clients can take from
//! `serve`: connections, header and idle time, memory for request bodies,
//! and which addresses alert deliveries may reach. Defaults fit a single
//! server behind a reverse proxy or on its own.

use clap::Args;

/// The default of `--test-insights-recompute-budget-ms`.
pub const DEFAULT_TEST_INSIGHTS_BUDGET_MS: u64 = 100;

/// Limits of the HTTP server and of outgoing alert requests.
#[derive(Debug, Clone, Args)]
pub struct ServeLimits {
    /// Most client connections open at once; at the limit, new connections
    /// wait in the listen queue until one closes (keep it under the
    /// process's open-file limit, `ulimit -n`, minus the database pool).
    #[arg(long, env = "CICD_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's headers, and may
    /// stay idle between requests (keep-alive), before it is closed.
    #[arg(long, env = "CICD_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Seconds a request may take from its arrival to its answer (a
    /// streamed answer such as `/api/events` is bounded only until its
    /// headers), before it is answered 408; test-result uploads have
    /// `--upload-timeout` instead.
    #[arg(long, env = "CICD_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Seconds a test-result upload (`POST /api/test-results`) may take to
    /// be sent, parsed and stored before it is answered 408: large reports
    /// on a busy machine take longer than other requests.
    #[arg(long, env = "CICD_UPLOAD_TIMEOUT", default_value_t = 300)]
    pub upload_timeout: u64,
    /// MiB of webhook bodies held in memory at once, across all requests;
    /// a body that does not fit is answered 503 with `Retry-After`.
    #[arg(long, env = "CICD_WEBHOOK_BODY_BUDGET", default_value_t = 128)]
    pub webhook_body_budget: usize,
    /// Let alert URLs reach loopback and private addresses (10/8,
    /// 172.16/12, 192.168/16, 100.64/10, fc00::/7, 127/8, ::1): for
    /// receivers on your own network. Link-local and cloud metadata
    /// addresses are refused even then.
    #[arg(long, env = "CICD_ALERT_ALLOW_PRIVATE_ADDRESSES")]
    pub alert_allow_private_addresses: bool,
    /// Milliseconds a reader of `/api/insights/tests` may wait for the
    /// lists to be recomputed after new uploads: an answer whose last
    /// computation took longer is served as it was (`stale: true`, with
    /// its `computed_at`) while it is recomputed in the background.
    #[arg(long, env = "CICD_TEST_INSIGHTS_RECOMPUTE_BUDGET_MS", default_value_t = DEFAULT_TEST_INSIGHTS_BUDGET_MS)]
    pub test_insights_recompute_budget_ms: u64,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 512,
            header_read_timeout: 10,
            request_timeout: 30,
            upload_timeout: 300,
            webhook_body_budget: 128,
            alert_allow_private_addresses: false,
            test_insights_recompute_budget_ms: DEFAULT_TEST_INSIGHTS_BUDGET_MS,
        }
    }
}
