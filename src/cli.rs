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
#[allow(clippy::large_enum_variant)] // parsed once at start-up; boxing buys nothing
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
    /// Report a run or job of any CI to a running server's generic build
    /// API, or upload a job's JUnit reports (for a pipeline step); fields
    /// come from the CI's environment variables (Jenkins, Buildkite,
    /// CircleCI, GitLab, Azure Pipelines; GitHub Actions for `tests`)
    /// unless given as flags.
    #[command(subcommand)]
    Report(ReportCommand),
}

/// `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Report the pipeline run (workflow run) this step belongs to.
    Run(ReportRunArgs),
    /// Report one job of the run.
    Job(ReportJobArgs),
    /// Upload a job's JUnit XML reports (files, or directories searched for
    /// `*.xml`) to `POST /api/test-results`, gzip-compressed.
    Tests(ReportTestsArgs),
}

/// `report tests`.
#[derive(Debug, Clone, Args)]
pub struct ReportTestsArgs {
    /// JUnit XML files, or directories searched (with their subdirectories)
    /// for files ending in `.xml`.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
    /// The CI (github, gitlab, jenkins, buildkite, circleci, …); default:
    /// the CI whose environment variables are present.
    #[arg(long)]
    pub provider: Option<String>,
    /// Repository (or project) the run belongs to.
    #[arg(long)]
    pub repository: Option<String>,
    /// The CI's id of the run.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Attempt of the run, from 1 (default: the CI's, else 1).
    #[arg(long)]
    pub attempt: Option<i64>,
    /// The job's name, as the dashboard shows the job (GitHub Actions gives
    /// only the job's id, GITHUB_JOB: give the name when they differ).
    #[arg(long)]
    pub job: Option<String>,
    /// Base URL of the dashboard.
    #[arg(long = "server", env = "CICD_URL", default_value = "http://127.0.0.1:8000")]
    pub server: String,
    /// A token with the write role, or the server's ingest token.
    #[arg(long, env = "CICD_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// Attempts after the first on a connection error or 5xx answer.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// First wait between attempts, in milliseconds (doubles each time).
    #[arg(long, default_value_t = 1000)]
    pub retry_delay_ms: u64,
}

/// `report run`.
#[derive(Debug, Clone, Args)]
pub struct ReportRunArgs {
    #[command(flatten)]
    pub common: ReportCommon,
    /// Build number shown to people (Jenkins BUILD_NUMBER, …).
    #[arg(long)]
    pub number: Option<i64>,
    /// What triggered the run (push, schedule, manual, …).
    #[arg(long)]
    pub event: Option<String>,
    /// Who triggered the run.
    #[arg(long)]
    pub actor: Option<String>,
}

/// `report job`.
#[derive(Debug, Clone, Args)]
pub struct ReportJobArgs {
    #[command(flatten)]
    pub common: ReportCommon,
    /// The job's id, unique among the provider's jobs (Buildkite
    /// BUILDKITE_JOB_ID, GitLab CI_JOB_ID, CircleCI CIRCLE_WORKFLOW_JOB_ID,
    /// Azure SYSTEM_JOBID; Jenkins has none: give one).
    #[arg(long)]
    pub job_id: Option<String>,
    /// The job's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The runner (agent) that ran it.
    #[arg(long)]
    pub runner_name: Option<String>,
    /// A runner label (repeat the flag for several).
    #[arg(long = "label")]
    pub labels: Vec<String>,
}

/// What `report run` and `report job` share.
#[derive(Debug, Clone, Args)]
pub struct ReportCommon {
    /// `queued`, `started` or `completed`.
    #[arg(long)]
    pub status: String,
    /// With `--status completed`: success, failure, cancelled, skipped,
    /// timed_out, neutral (also Jenkins' SUCCESS, UNSTABLE, FAILURE,
    /// ABORTED, NOT_BUILT and passed/failed/canceled).
    #[arg(long)]
    pub conclusion: Option<String>,
    /// With `--status completed`: the step's exit code instead of a
    /// conclusion (0 = success, anything else = failure).
    #[arg(long, conflicts_with = "conclusion")]
    pub exit_code: Option<i32>,
    /// The CI (jenkins, buildkite, circleci, azure-pipelines, …, other);
    /// default: the CI whose environment variables are present.
    #[arg(long)]
    pub provider: Option<String>,
    /// Repository (or project) the run belongs to.
    #[arg(long)]
    pub repository: Option<String>,
    /// Pipeline (workflow) name.
    #[arg(long)]
    pub workflow: Option<String>,
    /// The CI's id of the run.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Attempt of the run, from 1 (default 1).
    #[arg(long)]
    pub attempt: Option<i64>,
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long)]
    pub commit: Option<String>,
    /// Link to the run (or job) on the CI.
    #[arg(long)]
    pub url: Option<String>,
    /// RFC 3339; default: now for `--status queued`.
    #[arg(long)]
    pub created_at: Option<String>,
    /// RFC 3339; default: now for `--status started`.
    #[arg(long)]
    pub started_at: Option<String>,
    /// RFC 3339; default: now for `--status completed`.
    #[arg(long)]
    pub completed_at: Option<String>,
    /// The event's idempotency key; default: made from the provider,
    /// repository, run, attempt, job and status, so a repeated step is
    /// answered `duplicate`.
    #[arg(long)]
    pub key: Option<String>,
    /// Base URL of the dashboard.
    #[arg(long = "server", env = "CICD_URL", default_value = "http://127.0.0.1:8000")]
    pub server: String,
    /// A token with the write role, or the server's ingest token.
    #[arg(long, env = "CICD_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// Attempts after the first on a connection error or 5xx answer.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// First wait between attempts, in milliseconds (doubles each time).
    #[arg(long, default_value_t = 1000)]
    pub retry_delay_ms: u64,
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
