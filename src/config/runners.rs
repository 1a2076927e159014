//! Settings of the runner figures: prices per runner minute
//! (`--runner-cost`, used by `/api/insights/minutes`) and how many runner
//! label sets `/metrics` names (`--metrics-label-sets`). Parsed and used
//! in `crate::metrics::minutes` and `crate::api::prometheus`.

use clap::Args;

/// Runner cost and metric-cardinality settings.
#[derive(Debug, Clone, Args)]
pub struct RunnerSettings {
    /// Price per runner minute by label glob, first match wins:
    /// `GLOB=PRICE,GLOB=PRICE` (e.g. `ubuntu-*=0.008,windows-*=0.016,self-hosted=0`).
    /// Globs match one of a job's labels (lowercased); a job no glob
    /// matches has no cost.
    #[arg(long, env = "CICD_RUNNER_COST")]
    pub runner_cost: Option<String>,
    /// Most runner label sets `/metrics` names in `labels="…"`; jobs of any
    /// further label set are counted under `labels="other"`.
    #[arg(long, env = "CICD_METRICS_LABEL_SETS", default_value_t = 20)]
    pub metrics_label_sets: usize,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings { runner_cost: None, metrics_label_sets: 20 }
    }
}
