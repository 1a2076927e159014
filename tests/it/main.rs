//! One integration-test binary: each file is an area, each test starts the
//! real server (see `helpers`).

mod alert_receivers;
mod helpers;
mod payloads;

mod alerts_api;
mod alerts_delivery;
mod alerts_rules;
mod api_builds;
mod api_summary;
mod db_copy;
mod ingest_fixtures;
mod ingest_order;
mod observability;
mod page;
mod replay_cli;
mod replicas;
mod scheduler;
mod webhook_auth;
mod webhook_input;
