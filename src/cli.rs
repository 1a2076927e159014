//! The command line: `serve` (the default), `migrate`, `replay`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    DatabaseSettings, GitHubApiSettings, GitLabApiSettings, SecretSettings, ServeSettings,
    WorkerCommandSettings,
};
use crate::secret::Secret;
use crate::telemetry::LogFormat;

/// Self-hosted CI/CD pipeline dashboard: GitHub Actions webhooks in; builds,
/// metrics and a live page out.
#[derive(Debug, Parser)]
#[command(name = "cicd-dashboard", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `serve` runs with these settings.
    #[command(flatten)]
    pub serve: ServeSettings,
    /// Log format: readable `text` lines or one `json` object per line.
    #[arg(long, env = "CICD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
#[expect(clippy::large_enum_variant, reason = "parsed once at start-up; boxing buys nothing")]
pub enum Command {
    /// Serve the API, webhook endpoint and dashboard (the default).
    Serve(ServeSettings),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseSettings),
    /// Run only the periodic jobs (retention, summary roll-ups, alert checks,
    /// the GitHub poller), e.g. in a worker container.
    Worker(WorkerCommandSettings),
    /// Post webhook payload files to a running server the way GitHub would.
    Replay(ReplayArgs),
    /// Backfill one repository (GitHub) or project (GitLab) from the
    /// provider's REST API now (resuming an interrupted backfill), then sync
    /// it once; shows progress.
    Poll(PollArgs),
    /// Database tools.
    #[command(subcommand)]
    Db(DbCommand),
    /// API tokens: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every table, id and raw delivery from one database to another
    /// (e.g. SQLite to PostgreSQL). Creates the target's schema; safe to
    /// re-run. Stop the source's server first.
    Copy {
        /// Source database URL, e.g. sqlite://./data/cicd-dashboard.db
        #[arg(long)]
        from: String,
        /// Target database URL, e.g. postgres://cicd@db/cicd
        #[arg(long)]
        to: String,
    },
}

/// Arguments of `replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// JSON payload files, or folders searched (recursively) for `*.json`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Base URL of the running server.
    #[arg(long, env = "CICD_URL", default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// Webhook secret to sign each delivery with (`X-Hub-Signature-256`).
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Send `Authorization: Bearer <token>` instead of signing.
    #[arg(long, env = "CICD_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// Shift the timestamps of each payload by one amount so that its newest
    /// one is now (turns old example payloads into recent demo data).
    #[arg(long)]
    pub shift_to_now: bool,
}

/// Arguments of `poll`.
#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// Which provider's API: `github` or `gitlab`.
    #[arg(long, default_value = "github")]
    pub provider: String,
    /// GitHub: the repository to backfill, `owner/name`.
    #[arg(long, required_unless_present = "project", conflicts_with = "project")]
    pub repo: Option<String>,
    /// GitLab: the project to backfill: its numeric id, `group/app` path, or
    /// `https://host/group/app` address on a `--gitlab-url` instance.
    #[arg(long)]
    pub project: Option<String>,
    /// How far back: a duration (`90d`, `12h`) or an RFC 3339 instant.
    #[arg(long, default_value = "30d")]
    pub since: String,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    #[command(flatten)]
    pub github: GitHubApiSettings,
    #[command(flatten)]
    pub gitlab: GitLabApiSettings,
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it alone on the last line (shown only once).
    Create {
        /// A name to know it by (unique among live tokens).
        #[arg(long)]
        name: String,
        /// `read` (read API, event stream), `write` (also ingest) or `admin`
        /// (also alert configuration and tests, audit log).
        #[arg(long)]
        role: String,
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        database: DatabaseSettings,
    },
    /// Revoke the live token with this name.
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseSettings,
    },
}
