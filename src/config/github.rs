//! Settings of GitHub's REST API and its poller: where the API is, how to
//! sign in (token or App), which repositories to poll and how often. Owns
//! the flags and their checks; what is done with them is
//! `providers::github`'s.

use std::path::PathBuf;

use clap::Args;

use crate::secret::Secret;

/// Where GitHub's REST API is and how to sign in to it: what the poller of
/// `serve` / `worker` and the `poll` command share.
#[derive(Debug, Clone, Args)]
pub struct GitHubApiSettings {
    /// GitHub REST API base: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Token for the REST API (a personal access token with `actions:read`
    /// or `repo`, or any bearer token GitHub accepts).
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true)]
    pub github_token: Option<Secret>,
    /// GitHub App id (with a private key: the poller acts as the app's
    /// installation and discovers its repositories).
    #[arg(long, env = "GITHUB_APP_ID")]
    pub github_app_id: Option<String>,
    /// The GitHub App's private key (PEM text).
    #[arg(long, env = "GITHUB_APP_PRIVATE_KEY", hide_env_values = true)]
    pub github_app_private_key: Option<Secret>,
    /// File holding the GitHub App's private key (PEM).
    #[arg(long, env = "GITHUB_APP_PRIVATE_KEY_FILE")]
    pub github_app_private_key_file: Option<PathBuf>,
    /// Installation of the app to act as (default: its first installation).
    #[arg(long, env = "GITHUB_APP_INSTALLATION_ID")]
    pub github_app_installation_id: Option<i64>,
    /// Share of the hourly REST rate limit the poller may use (0–1]; it
    /// pauses until the reset once the rest is all that is left.
    #[arg(long, env = "CICD_GITHUB_RATE_SHARE", default_value_t = 0.8)]
    pub github_rate_share: f64,
}

impl Default for GitHubApiSettings {
    fn default() -> Self {
        GitHubApiSettings {
            github_api_url: "https://api.github.com".into(),
            github_token: None,
            github_app_id: None,
            github_app_private_key: None,
            github_app_private_key_file: None,
            github_app_installation_id: None,
            github_rate_share: 0.8,
        }
    }
}

/// Settings of the GitHub poller (backfill and reconciliation over the REST
/// API). It runs when repositories, organisations or a GitHub App are
/// configured.
#[derive(Debug, Clone, Args)]
pub struct GitHubPollSettings {
    #[command(flatten)]
    pub api: GitHubApiSettings,
    /// Repositories to poll, `owner/name,owner/name`.
    #[arg(long, env = "CICD_GITHUB_REPOS", value_delimiter = ',')]
    pub repos: Vec<String>,
    /// Organisations whose repositories are discovered and polled.
    #[arg(long, env = "CICD_GITHUB_ORGS", value_delimiter = ',')]
    pub github_orgs: Vec<String>,
    /// Seconds between polls of each repository.
    #[arg(long, env = "CICD_POLL_INTERVAL", default_value_t = 300)]
    pub poll_interval: u64,
    /// Seconds between repository discovery passes.
    #[arg(long, env = "CICD_DISCOVERY_INTERVAL", default_value_t = 3600)]
    pub discovery_interval: u64,
    /// Days of history a newly seen repository is backfilled with.
    #[arg(long, env = "CICD_BACKFILL_DAYS", default_value_t = 30)]
    pub backfill_days: u32,
    /// Milliseconds of the first backoff after a 5xx or network error.
    #[arg(long, env = "CICD_GITHUB_RETRY_BASE_MS", default_value_t = 1000, hide = true)]
    pub github_retry_base_ms: u64,
    /// Milliseconds of the first wait after a secondary rate limit without
    /// `retry-after`.
    #[arg(long, env = "CICD_GITHUB_SECONDARY_WAIT_MS", default_value_t = 60_000, hide = true)]
    pub github_secondary_wait_ms: u64,
}

impl Default for GitHubPollSettings {
    fn default() -> Self {
        GitHubPollSettings {
            api: GitHubApiSettings::default(),
            repos: Vec::new(),
            github_orgs: Vec::new(),
            poll_interval: 300,
            discovery_interval: 3600,
            backfill_days: 30,
            github_retry_base_ms: 1000,
            github_secondary_wait_ms: 60_000,
        }
    }
}

impl GitHubPollSettings {
    /// The configured repositories, trimmed, empty entries dropped (an
    /// empty `CICD_GITHUB_REPOS=` means none).
    ///
    /// Errors: an entry that is not `owner/name`.
    pub fn repo_list(&self) -> Result<Vec<String>, String> {
        let mut repos = Vec::new();
        for entry in self.repos.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
            let valid = matches!(entry.split_once('/'), Some((owner, name))
                if !owner.is_empty() && !name.is_empty() && !name.contains('/'));
            if !valid {
                return Err(format!("--repos / CICD_GITHUB_REPOS: {entry:?} is not owner/name"));
            }
            repos.push(entry.to_owned());
        }
        Ok(repos)
    }

    /// The organisations to discover, empty entries dropped.
    pub fn org_list(&self) -> Vec<String> {
        self.github_orgs.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect()
    }
}
