//! cicd-dashboard: a self-hosted CI/CD pipeline dashboard.
//!
//! Map of the layers (each module's own doc says what it owns and must not
//! touch):
//! - [`domain`]: run attempts, jobs, status vocabularies, merge rules (pure).
//! - [`ingest`]: provider payloads → domain changes; signature checks.
//! - [`store`]: SQLite / PostgreSQL behind one interface; migrations.
//! - [`metrics`]: metric definitions and arithmetic (pure).
//! - [`api`]: HTTP routes, problem answers, authentication, rate limits.
//! - [`auth`]: API tokens and roles; the `token` command.
//! - [`poller`]: GitHub REST backfill, incremental sync, watch list,
//!   discovery, rate limits.
//! - [`scheduler`]: periodic jobs (retention, polling, alert checks) with
//!   one-replica leases.
//! - [`alerts`]: alert rules, outbox sender, channels (email, Slack, webhook).
//! - [`web`]: the embedded dashboard page.
//! - [`replay`]: the `replay` client that posts payload files like GitHub.
//! - [`secret_box`]: AES-256-GCM sealing of secrets at rest.
//! - [`cli`], [`config`], [`startup`], [`telemetry`]: wiring.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod ingest;
pub mod metrics;
pub mod poller;
pub mod replay;
pub mod scheduler;
pub mod secret_box;
pub mod serve_limits;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
