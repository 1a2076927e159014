//! GitHub Actions: everything that knows GitHub. `webhook` parses
//! `workflow_run` / `workflow_job` deliveries and checks their signatures;
//! `api` is the REST client (credentials, rate limits, models, backfill,
//! incremental sync with the watch list, discovery); `poller` runs those
//! passes for the scheduler and the `poll` command; `replay` posts payload
//! files the way GitHub does.

pub mod api;
pub mod failures;
pub mod poller;
pub mod replay;
pub mod webhook;

pub use poller::Poller;
pub use webhook::GitHubWebhooks;
