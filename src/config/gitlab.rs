//! Settings of the GitLab poller: which GitLab instances, how to sign in to
//! each, and which projects and groups to poll. Owns parsing and pairing
//! the entries (instance ↔ token ↔ project); what is done with them is
//! `providers::gitlab`'s.
//!
//! Pairing rules (also in the README's *GitLab* section):
//! - `--gitlab-url` names one or more instances (API base without
//!   `/api/v4`); the first is the default instance.
//! - A `--gitlab-token` entry is `TOKEN` (for every instance without one of
//!   its own) or `URL=TOKEN` (for that instance only).
//! - A `--gitlab-projects` / `--gitlab-groups` entry is a numeric id or a
//!   `group/app` path on the default instance, or the full web address
//!   `https://host/group/app` of a project or group on any listed instance.

use clap::{Args, ValueEnum};

use crate::secret::Secret;

/// How a GitLab token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GitLabTokenType {
    /// `PRIVATE-TOKEN: <token>`: personal, project and group access tokens.
    #[default]
    Private,
    /// `Authorization: Bearer <token>`: OAuth 2 access tokens.
    Oauth,
}

/// GitLab's REST API: instances and credentials.
#[derive(Debug, Clone, Args)]
pub struct GitLabApiSettings {
    /// GitLab instances (comma-separated or repeated): `https://gitlab.com`
    /// or a self-managed `https://gitlab.example.com`. The first is the
    /// default for project and group entries that do not name one.
    #[arg(long, env = "GITLAB_URL", value_delimiter = ',', default_value = "https://gitlab.com")]
    pub gitlab_url: Vec<String>,
    /// Tokens with the `read_api` scope: `TOKEN` for every instance, or
    /// `URL=TOKEN` for one instance (comma-separated or repeated).
    #[arg(long, env = "GITLAB_TOKEN", value_delimiter = ',', hide_env_values = true)]
    pub gitlab_token: Vec<Secret>,
    /// How tokens are sent: `private` (`PRIVATE-TOKEN` header: personal,
    /// project or group access tokens) or `oauth` (`Authorization: Bearer`).
    #[arg(long, env = "GITLAB_TOKEN_TYPE", value_enum, default_value_t = GitLabTokenType::Private)]
    pub gitlab_token_type: GitLabTokenType,
    /// Share of each instance's rate limit the poller may use (0–1]; it
    /// pauses until the reset once the rest is all that is left.
    #[arg(long, env = "CICD_GITLAB_RATE_SHARE", default_value_t = 0.8)]
    pub gitlab_rate_share: f64,
    /// Milliseconds of the first backoff after a 5xx or network error.
    #[arg(long, env = "CICD_GITLAB_RETRY_BASE_MS", default_value_t = 1000, hide = true)]
    pub gitlab_retry_base_ms: u64,
}

impl Default for GitLabApiSettings {
    fn default() -> Self {
        GitLabApiSettings {
            gitlab_url: vec!["https://gitlab.com".into()],
            gitlab_token: Vec::new(),
            gitlab_token_type: GitLabTokenType::Private,
            gitlab_rate_share: 0.8,
            gitlab_retry_base_ms: 1000,
        }
    }
}

/// The GitLab poller's settings: the API plus what to poll. It runs when
/// projects or groups are configured.
#[derive(Debug, Clone, Default, Args)]
pub struct GitLabPollSettings {
    #[command(flatten)]
    pub api: GitLabApiSettings,
    /// Projects to poll: numeric ids, `group/app` paths, or
    /// `https://host/group/app` addresses (comma-separated or repeated).
    #[arg(long, env = "CICD_GITLAB_PROJECTS", value_delimiter = ',')]
    pub gitlab_projects: Vec<String>,
    /// Groups whose projects (subgroups included) are discovered and polled:
    /// ids, paths or addresses, like projects.
    #[arg(long, env = "CICD_GITLAB_GROUPS", value_delimiter = ',')]
    pub gitlab_groups: Vec<String>,
}

/// One configured instance and its credential.
#[derive(Debug, Clone, PartialEq)]
pub struct GitLabInstance {
    /// The instance's base URL without a trailing `/` (e.g.
    /// `https://gitlab.com`); the API is under `/api/v4`.
    pub url: String,
    pub token: Option<Secret>,
}

/// A project or group entry resolved to its instance: `key` is what the
/// API takes in `/projects/:id` (an id, or a path to be URL-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabTarget {
    pub instance: String,
    pub key: String,
}

fn normalise_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed =
        url::Url::parse(trimmed).map_err(|err| format!("--gitlab-url {trimmed:?} is not a URL: {err}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("--gitlab-url {trimmed:?} must be an http(s) address"));
    }
    Ok(trimmed.trim_end_matches("/api/v4").to_owned())
}

impl GitLabApiSettings {
    /// The instances with their tokens, in the order given.
    ///
    /// Errors: a URL that is not http(s); a `URL=TOKEN` whose URL is not a
    /// listed instance; two tokens for one instance.
    pub fn instances(&self) -> Result<Vec<GitLabInstance>, String> {
        let mut instances: Vec<GitLabInstance> = Vec::new();
        for url in self.gitlab_url.iter().filter(|u| !u.trim().is_empty()) {
            let url = normalise_url(url)?;
            if !instances.iter().any(|i| i.url == url) {
                instances.push(GitLabInstance { url, token: None });
            }
        }
        let mut default: Option<Secret> = None;
        for entry in self.gitlab_token.iter().map(|t| t.expose().trim()).filter(|t| !t.is_empty()) {
            let scoped = entry.split_once('=').filter(|(url, _)| url.starts_with("http"));
            match scoped {
                Some((url, token)) => {
                    let url = normalise_url(url)?;
                    let instance = instances
                        .iter_mut()
                        .find(|i| i.url == url)
                        .ok_or_else(|| format!("--gitlab-token names {url}, which is not a --gitlab-url"))?;
                    if instance.token.is_some() {
                        return Err(format!("--gitlab-token: two tokens for {url}"));
                    }
                    instance.token = Some(Secret::from(token.trim()));
                }
                None if default.is_some() => {
                    return Err("--gitlab-token: two tokens without an instance URL".into());
                }
                None => default = Some(Secret::from(entry)),
            }
        }
        for instance in &mut instances {
            if instance.token.is_none() {
                instance.token = default.clone();
            }
        }
        Ok(instances)
    }
}

/// Resolves a project or group entry against the instances (the first is
/// the default).
///
/// Errors: an address on no listed instance; an empty path.
pub fn target(entry: &str, instances: &[GitLabInstance]) -> Result<GitLabTarget, String> {
    let entry = entry.trim().trim_end_matches('/');
    let default = instances.first().ok_or("no --gitlab-url given")?;
    if entry.starts_with("http://") || entry.starts_with("https://") {
        let instance = instances
            .iter()
            .filter(|i| entry.starts_with(&format!("{}/", i.url)))
            .max_by_key(|i| i.url.len())
            .ok_or_else(|| format!("{entry:?} is not on any --gitlab-url instance"))?;
        let key = entry[instance.url.len() + 1..].trim_matches('/');
        if key.is_empty() {
            return Err(format!("{entry:?} names no project or group"));
        }
        return Ok(GitLabTarget { instance: instance.url.clone(), key: key.to_owned() });
    }
    let key = entry.trim_matches('/');
    if key.is_empty() {
        return Err("an empty project or group entry".into());
    }
    Ok(GitLabTarget { instance: default.url.clone(), key: key.to_owned() })
}

impl GitLabPollSettings {
    /// The configured projects, resolved.
    ///
    /// Errors: see [`GitLabApiSettings::instances`] and [`target`].
    pub fn project_targets(&self) -> Result<Vec<GitLabTarget>, String> {
        let instances = self.api.instances()?;
        let entries = self.gitlab_projects.iter().filter(|p| !p.trim().is_empty());
        entries.map(|p| target(p, &instances)).collect()
    }

    /// The configured groups, resolved.
    ///
    /// Errors: see [`GitLabApiSettings::instances`] and [`target`].
    pub fn group_targets(&self) -> Result<Vec<GitLabTarget>, String> {
        let instances = self.api.instances()?;
        self.gitlab_groups.iter().filter(|g| !g.trim().is_empty()).map(|g| target(g, &instances)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(urls: &[&str], tokens: &[&str]) -> GitLabApiSettings {
        GitLabApiSettings {
            gitlab_url: urls.iter().map(|u| u.to_string()).collect(),
            gitlab_token: tokens.iter().map(|t| Secret::from(*t)).collect(),
            ..GitLabApiSettings::default()
        }
    }

    #[test]
    fn a_bare_token_serves_every_instance_without_its_own() {
        let settings = api(
            &["https://gitlab.com/", "https://git.example.com/api/v4"],
            &["glpat-default", "https://git.example.com=glpat-own"],
        );
        let instances = settings.instances().expect("valid");
        assert_eq!(instances[0].url, "https://gitlab.com");
        assert_eq!(instances[0].token.as_ref().map(Secret::expose), Some("glpat-default"));
        assert_eq!(instances[1].url, "https://git.example.com");
        assert_eq!(instances[1].token.as_ref().map(Secret::expose), Some("glpat-own"));
        assert!(api(&["https://gitlab.com"], &["https://other.example=x"]).instances().is_err());
        assert!(api(&["https://gitlab.com"], &["a", "b"]).instances().is_err());
        assert!(api(&["ftp://gitlab.com"], &[]).instances().is_err());
    }

    #[test]
    fn entries_resolve_to_their_instance() {
        let instances =
            api(&["https://gitlab.com", "https://git.example.com/gitlab"], &[]).instances().expect("valid");
        let on = |entry: &str| target(entry, &instances).expect("valid");
        assert_eq!(
            on("group/app"),
            GitLabTarget { instance: "https://gitlab.com".into(), key: "group/app".into() }
        );
        assert_eq!(on("42"), GitLabTarget { instance: "https://gitlab.com".into(), key: "42".into() });
        assert_eq!(
            on("https://git.example.com/gitlab/team/sub/app/"),
            GitLabTarget { instance: "https://git.example.com/gitlab".into(), key: "team/sub/app".into() }
        );
        assert!(target("https://elsewhere.example/app", &instances).is_err());
        assert!(target("https://gitlab.com/", &instances).is_err());
    }
}
