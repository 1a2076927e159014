//! Alerts: rules that watch builds, and the channels (email, Slack, generic
//! webhook) their alerts go to — without spam (one alert per rule, build
//! attempt and channel; cooldowns) and without loss (an outbox written in
//! the change's own transaction, a sender with retries).
//!
//! - [`config`]: the configuration model and its redaction; [`validate`]:
//!   parsing untrusted configuration with field-level errors; [`bootstrap`]:
//!   configuration from the environment.
//! - [`rules`]: filters; [`evaluate`]: rules run inside the ingest
//!   transaction; [`periodic`]: `failure_rate` and `stuck`, run by the
//!   scheduler.
//! - [`message`], [`templates`]: what an alert says and how it is rendered.
//! - [`sender`]: the outbox sender; [`channels`]: one delivery to one channel;
//!   [`address_guard`]: which addresses deliveries may reach (SSRF).
//!
//! SQL lives in `store::alerts`, HTTP in `api::alerts`. This module must not
//! answer HTTP requests or hold SQL.

pub mod address_guard;
pub mod bootstrap;
pub mod channels;
pub mod config;
pub mod delivery_rule;
pub mod evaluate;
mod failed_tests;
pub mod failure_facts;
mod flaky_rule;
mod flaky_test_rule;
pub mod hook;
pub mod message;
pub mod outbox_rows;
pub mod periodic;
mod queue_rule;
pub mod rules;
pub mod sender;
pub mod templates;
pub mod validate;

use std::time::Duration;

use address_guard::AddressPolicy;
use config::AlertConfig;
use message::{AlertDetails, TemplateContext};
use templates::Templates;
use validate::ValidateOptions;

use crate::config::AlertSettings;

/// What alert delivery needs at run time, shared by the sender and the API.
#[derive(Debug)]
pub struct AlertService {
    pub templates: Templates,
    /// HTTP client for Slack and webhooks (timeout: `send_timeout`; no
    /// redirects, so a receiver cannot bounce an alert elsewhere).
    pub http: reqwest::Client,
    /// Per-delivery timeout (HTTP request; SMTP connection and commands).
    pub send_timeout: Duration,
    /// How configuration is validated.
    pub validate: ValidateOptions,
}

impl AlertService {
    /// Loads the templates and builds the HTTP client, which reaches only
    /// the addresses `addresses` allows (see `address_guard`).
    ///
    /// Errors: a template override is unreadable or broken; the TLS set-up
    /// fails.
    pub fn new(settings: &AlertSettings, addresses: AddressPolicy) -> anyhow::Result<AlertService> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let send_timeout = Duration::from_secs(settings.alert_send_timeout.max(1));
        let http = reqwest::Client::builder()
            .timeout(send_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(address_guard::GuardedResolver { policy: addresses }))
            .user_agent(concat!("cicd-dashboard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(AlertService {
            templates: Templates::load(settings.alert_templates_dir.as_deref())?,
            http,
            send_timeout,
            validate: ValidateOptions { allow_http_urls: settings.allow_http_alert_urls, addresses },
        })
    }

    /// Sends a test alert now (not through the outbox) to the channels whose
    /// id or type is `selector` (every channel when `None`); answers
    /// `(channel id, outcome)` per channel, in configuration order. An empty
    /// answer means no channel matched.
    pub async fn send_test(
        &self,
        config: &AlertConfig,
        selector: Option<&str>,
        message: Option<String>,
    ) -> Vec<(String, Result<(), String>)> {
        let details = AlertDetails::test(message);
        let ctx = TemplateContext::new(0, "test", chrono::Utc::now().timestamp(), &details);
        let chosen = config
            .channels
            .iter()
            .filter(|c| selector.is_none_or(|s| c.id == s || c.target.type_name() == s));
        let out = channels::Outbound {
            templates: &self.templates,
            http: &self.http,
            timeout: self.send_timeout,
            addresses: self.validate.addresses,
        };
        let sends = chosen.map(|channel| {
            let ctx = &ctx;
            async move {
                let result = channels::deliver(out, &channel.target, config.smtp.as_ref(), ctx).await;
                (channel.id.clone(), result)
            }
        });
        futures_util::future::join_all(sends).await
    }
}
