//! Settings: flags with environment fallbacks (clap), shared by the
//! subcommands. Secrets are wrapped in [`Secret`] so `Debug` never shows them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::secret::Secret;

mod delivery;
mod failures;
mod github;
mod gitlab;
mod limits;
mod runners;

pub use delivery::DeliverySettings;
pub use failures::FailureSettings;
pub use github::{GitHubApiSettings, GitHubPollSettings};
pub use gitlab::{
    GitLabApiSettings, GitLabInstance, GitLabPollSettings, GitLabTarget, GitLabTokenType, target,
};
pub use limits::{DEFAULT_TEST_INSIGHTS_BUDGET_MS, ServeLimits};
pub use runners::RunnerSettings;

/// Where the database is and how to pool connections to it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://PATH` (embedded; the folder is created on first
    /// run) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://./data/cicd-dashboard.db")]
    pub database_url: String,
    /// Most pooled database connections.
    #[arg(long, env = "CICD_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,
    /// Seconds a request waits for a free database connection before it is
    /// answered 503.
    #[arg(long, env = "CICD_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    pub db_acquire_timeout: u64,
    /// PostgreSQL only: seconds after which a statement is cancelled (0: no
    /// limit); the migrations and backfills at start-up run without it.
    #[arg(long, env = "CICD_DB_STATEMENT_TIMEOUT", default_value_t = 30)]
    pub db_statement_timeout: u64,
}

impl DatabaseSettings {
    /// Defaults for `url`, for tests and tools.
    pub fn for_url(url: &str) -> Self {
        DatabaseSettings {
            database_url: url.to_owned(),
            db_max_connections: 8,
            db_acquire_timeout: 5,
            db_statement_timeout: 30,
        }
    }
}

/// The key that seals secrets at rest (alert channel secrets).
#[derive(Debug, Clone, Default, Args)]
pub struct SecretSettings {
    /// 32-byte key, base64 or hex (`openssl rand -base64 32`).
    #[arg(long, env = "CICD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret>,
    /// File holding the key. With neither this nor `CICD_SECRET_KEY`, a
    /// SQLite installation keeps a generated key in `secret.key` beside its
    /// database file; PostgreSQL needs one of the two to store secrets.
    #[arg(long, env = "CICD_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
}

/// Settings of the periodic jobs (`serve` runs them unless `--no-worker`;
/// `worker` runs only them).
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// Days of run attempts and raw deliveries to keep; older ones are
    /// deleted hourly (0 keeps everything).
    #[arg(long, env = "CICD_RETENTION_DAYS", default_value_t = 90)]
    pub retention_days: u32,
    /// Days of uploaded test results (JUnit reports' executions) to keep,
    /// by upload time; older ones are deleted hourly (0 keeps everything).
    /// Separate from `--retention-days`: test executions are the largest
    /// table by far. A run attempt deleted by `--retention-days` takes its
    /// test results with it.
    #[arg(long, env = "CICD_TEST_RETENTION_DAYS", default_value_t = 90)]
    pub test_retention_days: u32,
    /// Seconds between scheduler ticks (each tick starts the jobs that are due).
    #[arg(long, env = "CICD_SCHEDULER_TICK", default_value_t = 60, hide = true)]
    pub scheduler_tick: u64,
    #[command(flatten)]
    pub github: GitHubPollSettings,
    #[command(flatten)]
    pub gitlab: GitLabPollSettings,
    #[command(flatten)]
    pub failures: FailureSettings,
    /// Production environments and deployment rules (the DORA figures and
    /// the delivery alert rules).
    #[command(flatten)]
    pub delivery: Box<DeliverySettings>,
    /// Seconds between evaluations of the `failure_rate` and `stuck` alert rules.
    #[arg(long, env = "CICD_ALERT_CHECK_INTERVAL", default_value_t = 60, hide = true)]
    pub alert_check_interval: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            retention_days: 90,
            test_retention_days: 90,
            scheduler_tick: 60,
            alert_check_interval: 60,
            github: GitHubPollSettings::default(),
            gitlab: GitLabPollSettings::default(),
            failures: FailureSettings::default(),
            delivery: Default::default(),
        }
    }
}

/// Alert settings: delivery, templates, and a configuration from the
/// environment for a zero-UI start (stored only if the database has none:
/// what is stored wins).
#[derive(Debug, Clone, Default, Args)]
pub struct AlertSettings {
    /// Accept plain `http://` alert URLs (Slack, webhooks) for any host; by
    /// default only loopback hosts may use `http://`.
    #[arg(long, env = "CICD_ALLOW_HTTP_ALERT_URLS")]
    pub allow_http_alert_urls: bool,
    /// Folder whose template files override the shipped ones (e.g.
    /// `email/subject.txt`, `email/build_failed/body.html`, `slack/message.json`).
    #[arg(long, env = "CICD_ALERT_TEMPLATES_DIR")]
    pub alert_templates_dir: Option<PathBuf>,
    /// Bootstrap: SMTP server host for email alerts.
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Bootstrap: SMTP port (default by security: 587, 465 or 25).
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// Bootstrap: `starttls` (default), `tls` or `none`.
    #[arg(long, env = "SMTP_SECURITY")]
    pub smtp_security: Option<String>,
    /// Bootstrap: SMTP user name.
    #[arg(long, env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// Bootstrap: SMTP password.
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// Bootstrap: sender address of alert emails.
    #[arg(long, env = "SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Bootstrap: comma-separated recipients of alert emails.
    #[arg(long, env = "ALERT_EMAIL_TO", value_delimiter = ',')]
    pub alert_email_to: Vec<String>,
    /// Bootstrap: Slack incoming-webhook URL.
    #[arg(long, env = "SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook_url: Option<Secret>,
    /// Do not run the alert sender in this process.
    #[arg(long, env = "CICD_NO_ALERT_SENDER", hide = true)]
    pub no_alert_sender: bool,
    /// Milliseconds between outbox polls when no change wakes the sender.
    #[arg(long, env = "CICD_ALERT_POLL_MS", default_value_t = 1000, hide = true)]
    pub alert_poll_ms: u64,
    /// Milliseconds before the first retry of a failed send (doubles each time).
    #[arg(long, env = "CICD_ALERT_RETRY_BASE_MS", default_value_t = 5000, hide = true)]
    pub alert_retry_base_ms: u64,
    /// Longest retry delay, milliseconds.
    #[arg(long, env = "CICD_ALERT_RETRY_CAP_MS", default_value_t = 600_000, hide = true)]
    pub alert_retry_cap_ms: u64,
    /// Attempts before an alert is recorded as `failed`.
    #[arg(long, env = "CICD_ALERT_MAX_ATTEMPTS", default_value_t = 8, hide = true)]
    pub alert_max_attempts: i64,
    /// Seconds one delivery may take (HTTP request, SMTP connection and commands).
    #[arg(long, env = "CICD_ALERT_SEND_TIMEOUT", default_value_t = 10, hide = true)]
    pub alert_send_timeout: u64,
}

impl AlertSettings {
    /// The defaults (as with no flags and no environment).
    pub fn defaults() -> Self {
        AlertSettings {
            alert_poll_ms: 1000,
            alert_retry_base_ms: 5000,
            alert_retry_cap_ms: 600_000,
            alert_max_attempts: 8,
            alert_send_timeout: 10,
            ..AlertSettings::default()
        }
    }
}

/// Settings of `worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerCommandSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    #[command(flatten)]
    pub worker: WorkerSettings,
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CICD_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    /// Secret configured on the GitHub webhook; deliveries must carry a valid
    /// `X-Hub-Signature-256` made with it.
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<Secret>,
    /// Secret token configured on the GitLab webhook; deliveries to
    /// `/api/webhook/gitlab` must carry it as `X-Gitlab-Token`.
    #[arg(long, env = "GITLAB_WEBHOOK_SECRET", hide_env_values = true)]
    pub gitlab_webhook_secret: Option<Secret>,
    /// Token that senders other than GitHub present as
    /// `Authorization: Bearer <token>` to post deliveries.
    #[arg(long, env = "CICD_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<Secret>,
    /// Whether the read API, event stream and /metrics answer without a
    /// token (`true`/`false`; default: true when bound to a loopback
    /// address, false otherwise).
    #[arg(long, env = "CICD_PUBLIC_READ")]
    pub public_read: Option<bool>,
    /// API requests per minute per client address and per token (0: no
    /// limit).
    #[arg(long, env = "CICD_API_RATE_LIMIT", default_value_t = 1200)]
    pub api_rate_limit: u32,
    /// Failed webhook deliveries (authentication refused) per minute per
    /// client address; over it, 429. Verified deliveries never count and
    /// are never refused for their number (0: no limit).
    #[arg(long, env = "CICD_WEBHOOK_RATE_LIMIT", default_value_t = 6000)]
    pub webhook_rate_limit: u32,
    /// Proxies whose `X-Forwarded-For` is believed: comma-separated CIDRs or
    /// addresses (e.g. `127.0.0.1,10.0.0.0/8`).
    #[arg(long, env = "CICD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Origins allowed to call the API from a browser (CORS), comma-separated
    /// (e.g. `https://ops.example.com`); none by default: same origin only.
    #[arg(long, env = "CICD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Do not run the periodic jobs in this process (run `cicd-dashboard
    /// worker` separately, or let another replica run them).
    #[arg(long, env = "CICD_NO_WORKER")]
    pub no_worker: bool,
    #[command(flatten)]
    pub worker: WorkerSettings,
    #[command(flatten)]
    pub alerts: Box<AlertSettings>,
    #[command(flatten)]
    pub limits: ServeLimits,
    #[command(flatten)]
    pub runners: Box<RunnerSettings>,
}

impl ServeSettings {
    /// Whether reads are public: the setting, else whether the bind
    /// address is loopback.
    pub fn public_read(&self) -> bool {
        self.public_read.unwrap_or_else(|| self.bind.ip().is_loopback())
    }

    /// Settings for a server on `bind` with `database_url`, for tests and tools.
    pub fn new(bind: SocketAddr, database_url: &str) -> Self {
        ServeSettings {
            bind,
            database: DatabaseSettings::for_url(database_url),
            secrets: SecretSettings::default(),
            github_webhook_secret: None,
            gitlab_webhook_secret: None,
            ingest_token: None,
            public_read: None,
            api_rate_limit: 1200,
            webhook_rate_limit: 6000,
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            no_worker: false,
            worker: WorkerSettings::default(),
            alerts: Box::new(AlertSettings::defaults()),
            limits: Default::default(),
            runners: Default::default(),
        }
    }
}
