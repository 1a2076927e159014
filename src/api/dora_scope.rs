//! What a DORA read is of and what it gathers, shared by the two ways of
//! gathering it: [`Scope`] (repo, environment, provider), [`Inputs`], the
//! read cap and the incidents that apply. Knows nothing of how the facts
//! are found (`dora_facts`: stored; `dora_inputs`: walked per request).

use chrono::{DateTime, Utc};

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use crate::domain::ProviderKind;
use crate::metrics::dora::history::{Deploy, History, IncidentSpan};
use crate::store::deployments::{DeploymentFilter, DeploymentRow};

/// Most deployments one read takes in (the newest are kept).
pub const MAX_DEPLOYMENTS: i64 = 200_000;

/// `repo`, `environment` and `provider`: which deployments a figure is of.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub repo: Option<String>,
    /// One environment by exact name; `None`: the production environments.
    pub environment: Option<String>,
    pub provider: Option<ProviderKind>,
}

impl Scope {
    /// Reads `repo`, `environment`, `provider` (422 for an unknown provider).
    pub fn from_params(params: &Params) -> Result<Scope, Problem> {
        Ok(Scope {
            repo: params.text("repo"),
            environment: params.text("environment"),
            provider: params.provider()?,
        })
    }

    /// The store's filter for this scope (`pending`: unfinished deployments
    /// too, for listing).
    pub fn filter(&self, pending: bool) -> DeploymentFilter {
        DeploymentFilter {
            repo: self.repo.clone(),
            environment: self.environment.clone(),
            provider: self.provider,
            pending,
        }
    }
}

/// Everything read and walked.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Every deployment read (pending ones too), with its stored or rule id.
    pub rows: Vec<DeploymentRow>,
    pub deploys: Vec<Deploy>,
    pub history: History,
    pub incidents: Vec<IncidentSpan>,
    /// Walked per request (deployment rules in scope), commits included;
    /// otherwise read from the stored facts (`dora_facts`).
    pub walked: bool,
}

/// The incidents open at some time in `[from, to)` that apply to `scope`.
pub async fn incidents_of(
    state: &AppState,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    production_only: bool,
) -> Result<Vec<IncidentSpan>, Problem> {
    Ok(state
        .store
        .deployments()
        .incidents(from, to)
        .await?
        .into_iter()
        .filter(|i| scope.repo.is_none() || i.repo.is_none() || i.repo == scope.repo)
        .filter(|i| match (&i.environment, &scope.environment) {
            (incident, Some(asked)) => state.delivery.production.incident_about(incident.as_deref(), asked),
            (None, None) => true,
            (Some(e), None) => !production_only || state.delivery.production.is_production(e),
        })
        .map(|i| IncidentSpan {
            repo: i.repo,
            environment: i.environment,
            opened_at: i.opened_at,
            resolved_at: i.resolved_at,
        })
        .collect())
}
