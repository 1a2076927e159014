//! cicd-dashboard: a self-hosted CI/CD pipeline dashboard.
//!
//! Map of the layers, from the top down; every import points down this
//! list (each module's own doc says what it owns and must not touch):
//! - [`startup`], [`commands`], [`cli`], [`telemetry`]: wiring — the
//!   server, the subcommands, the command line, logging. Providers are
//!   registered here (routes and periodic jobs).
//! - [`api`]: HTTP routes, problem answers, authentication, rate limits;
//!   [`web`]: the embedded page.
//! - [`ingest`]: the use case "a delivery in, a committed outcome out".
//! - [`providers`]: one folder per CI system behind one seam
//!   ([`providers::github`], [`providers::gitlab`]): webhook parsing and signatures, REST client,
//!   credentials, backfill and sync.
//! - [`alerts`]: rules (evaluated inside the write transaction through the
//!   store's change hook, and periodically), the outbox sender, channels.
//! - [`scheduler`]: periodic jobs with one-replica leases.
//! - [`store`]: SQLite / PostgreSQL behind one interface; the write path,
//!   reads, roll-ups, migrations.
//! - [`metrics`]: metric definitions and arithmetic (pure).
//! - [`auth`]: token format, hashing and roles.
//! - [`domain`]: run attempts, jobs, status vocabularies, changes, merge
//!   rules, text limits (pure).
//! - [`config`], [`secret`], [`secret_box`]: settings, the secret wrapper,
//!   sealing secrets at rest (leaves).

pub mod alerts;
pub mod api;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod domain;
pub mod ingest;
pub mod metrics;
pub mod providers;
pub mod scheduler;
pub mod secret;
pub mod secret_box;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod test_reports;
pub mod web;
