//! One integration-test binary: each file is an area, each test starts the
//! real server (see `helpers`).

mod browser_harness;
mod fake_github;
mod helpers;
mod payloads;

mod api_builds;
mod api_export;
mod api_summary;
mod api_timeseries;
mod browser;
mod db_copy;
mod events_resume;
mod ingest_fixtures;
mod ingest_order;
mod observability;
mod page;
mod poller;
mod replay_cli;
mod replicas;
mod scheduler;
mod webhook_auth;
mod webhook_input;
