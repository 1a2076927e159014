//! Credentials for GitHub's REST API: a token (`GITHUB_TOKEN`: a personal
//! access token or any other bearer token), or a GitHub App (app id +
//! private key) whose installation tokens are minted on demand and renewed
//! five minutes before they expire.
//!
//! App flow (<https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation>):
//! a JWT signed RS256 with the app's key (`iss` = app id, `iat` 60 s in the
//! past, `exp` 9 minutes ahead) authenticates `POST
//! /app/installations/{id}/access_tokens`, which answers `{token,
//! expires_at}`. Secrets stay in [`Secret`]s and are never logged.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::config::GitHubApiSettings;
use crate::secret::Secret;

/// How requests authenticate.
pub enum Credentials {
    /// No credentials: public repositories only, 60 requests an hour.
    Anonymous,
    /// `Authorization: Bearer <token>`.
    Token(Secret),
    /// A GitHub App installation.
    App(AppCredentials),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Anonymous => "Anonymous",
            Credentials::Token(_) => "Token(***)",
            Credentials::App(_) => "App(***)",
        })
    }
}

/// A GitHub App's identity and its cached installation token.
pub struct AppCredentials {
    pub app_id: String,
    key: EncodingKey,
    /// Which installation to act as; `None`: the app's first installation.
    pub installation_id: Option<i64>,
    pub(super) cached: tokio::sync::Mutex<Option<InstallationToken>>,
}

/// An installation access token and when it expires.
#[derive(Clone)]
pub(super) struct InstallationToken {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

/// Errors: the private key is not an RSA PEM key.
impl AppCredentials {
    pub fn new(
        app_id: &str,
        private_key_pem: &str,
        installation_id: Option<i64>,
    ) -> Result<AppCredentials, String> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes())
            .map_err(|err| format!("the GitHub App private key is not an RSA PEM key: {err}"))?;
        Ok(AppCredentials {
            app_id: app_id.to_owned(),
            key,
            installation_id,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// A JWT that authenticates as the app for 9 minutes from `now`.
    pub fn app_jwt(&self, now: DateTime<Utc>) -> Result<Secret, String> {
        let claims = Claims { iat: now.timestamp() - 60, exp: now.timestamp() + 540, iss: &self.app_id };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(|jwt| Secret::from(jwt.as_str()))
            .map_err(|err| format!("could not sign the GitHub App JWT: {err}"))
    }
}

/// Whether a cached installation token still serves at `now` (renewed five
/// minutes early).
pub(super) fn still_valid(token: &InstallationToken, now: DateTime<Utc>) -> bool {
    token.expires_at - chrono::Duration::minutes(5) > now
}

/// The credentials these settings give: an app (id + key), else the
/// token, else none.
///
/// Errors: an app id without a key (or a key without an id), an
/// unreadable key file, a key that is not RSA PEM.
pub fn credentials(settings: &GitHubApiSettings) -> Result<Credentials, String> {
    let key =
        match (&Secret::present(&settings.github_app_private_key), &settings.github_app_private_key_file) {
            (Some(key), _) => Some(key.expose().to_owned()),
            (None, Some(path)) => Some(std::fs::read_to_string(path).map_err(|err| {
                format!("could not read the GitHub App private key file {}: {err}", path.display())
            })?),
            (None, None) => None,
        };
    let app_id = settings.github_app_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
    match (app_id, key) {
        (Some(id), Some(key)) => {
            AppCredentials::new(id, &key, settings.github_app_installation_id).map(Credentials::App)
        }
        (Some(_), None) => Err("GITHUB_APP_ID is set but no GITHUB_APP_PRIVATE_KEY(_FILE)".into()),
        (None, Some(_)) => Err("a GitHub App private key is set but no GITHUB_APP_ID".into()),
        (None, None) => Ok(match &Secret::present(&settings.github_token) {
            Some(token) => Credentials::Token(token.clone()),
            None => Credentials::Anonymous,
        }),
    }
}
