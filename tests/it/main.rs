//! One integration-test binary: each file is an area, each test starts the
//! real server (see `helpers`).

mod alert_receivers;
mod browser_harness;
mod fake_github;
mod helpers;
mod payloads;

mod alert_addresses;
mod alerts_api;
mod alerts_delivery;
mod alerts_rules;
mod api_builds;
mod api_export;
mod api_page_reads;
mod api_summary;
mod api_timeseries;
mod auth;
mod browser;
mod browser_alerts;
mod browser_kpis;
mod browser_page;
mod browser_ticket;
mod cli_errors;
mod db_copy;
mod events_fanout;
mod events_resume;
mod hostile_clients;
mod ingest_fixtures;
mod ingest_order;
mod limits;
mod nginx;
mod observability;
mod openapi;
mod outage;
mod page;
mod payload_fallbacks;
mod poller;
mod replay_cli;
mod replicas;
mod rollups;
mod scheduler;
mod schemathesis;
mod secrets;
mod stored_limits;
mod webhook_auth;
mod webhook_input;
