//! Settings of the delivery figures (the DORA keys): which environments
//! are production (`--production-environments`), the deployment rules
//! (`--deployment-rule`) and the incident label of GitHub issues
//! (`--incident-label`). Parsed in `crate::metrics::dora::config`.

use clap::Args;

/// Production environments and deployment rules.
#[derive(Debug, Clone, Args)]
pub struct DeliverySettings {
    /// Environments counted as production by the DORA figures: names or
    /// globs, comma-separated, case-insensitive (`production,prod,prod-*`).
    #[arg(long, env = "CICD_PRODUCTION_ENVIRONMENTS", default_value = "production,prod")]
    pub production_environments: String,
    /// A deployment rule for teams without deployment objects:
    /// `workflow=GLOB,branch=NAME,environment=NAME` — a completed run of a
    /// workflow matching GLOB on branch NAME is a deployment to that
    /// environment (successful or failed by its conclusion; skipped or
    /// cancelled runs are none). Repeat the flag for several rules
    /// (the environment variable takes them separated by `;`).
    #[arg(long = "deployment-rule", env = "CICD_DEPLOYMENT_RULES", value_delimiter = ';')]
    pub deployment_rules: Vec<String>,
    /// A GitHub issue carrying this label (case-insensitive) is a
    /// production incident of its repository (`issues` webhook: open at
    /// its creation, resolved when closed or unlabeled).
    #[arg(long, env = "CICD_INCIDENT_LABEL", default_value = "incident")]
    pub incident_label: String,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            production_environments: "production,prod".into(),
            deployment_rules: Vec::new(),
            incident_label: "incident".into(),
        }
    }
}
