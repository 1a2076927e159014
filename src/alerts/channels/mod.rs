//! Delivery of one rendered alert to one channel: email over SMTP (lettre),
//! Slack incoming webhooks and generic JSON webhooks (reqwest). Errors are
//! text fit for `alerts.error` and the API: they never contain a secret
//! (URLs are stripped from HTTP errors; SMTP credentials are never printed).
//! This module must not touch the database.

pub mod email;
pub mod slack;
pub mod webhook;

use std::time::Duration;

use super::address_guard::{AddressPolicy, check_url};
use super::config::{ChannelTarget, SmtpConfig};
use super::message::TemplateContext;
use super::templates::Templates;

/// What a delivery needs besides the alert.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    pub templates: &'a Templates,
    /// Shared HTTP client (its own timeout applies).
    pub http: &'a reqwest::Client,
    /// SMTP: connect and command timeout.
    pub timeout: Duration,
    /// Which addresses Slack and webhook deliveries may reach (names are
    /// checked by the client's resolver, IP literals here).
    pub addresses: AddressPolicy,
}

/// Renders `ctx` for `target`'s format and delivers it.
///
/// Errors: rendering, the connection or the receiver's refusal, as text.
pub async fn deliver(
    out: Outbound<'_>,
    target: &ChannelTarget,
    smtp: Option<&SmtpConfig>,
    ctx: &TemplateContext,
) -> Result<(), String> {
    match target {
        ChannelTarget::Email { to } => {
            let smtp = smtp.ok_or("no SMTP server is configured")?;
            let parts = out.templates.email(ctx)?;
            email::send(smtp, to, &parts, out.timeout).await
        }
        ChannelTarget::Slack { webhook_url } => {
            check_url(webhook_url, out.addresses)?;
            let body = out.templates.slack(ctx)?;
            slack::send(out.http, webhook_url, body).await
        }
        ChannelTarget::Webhook { url, secret } => {
            check_url(url, out.addresses)?;
            let body = out.templates.webhook(ctx)?;
            webhook::send(out.http, url, secret.as_deref(), ctx.alert_id, body).await
        }
    }
}

/// An HTTP failure as text without the URL (Slack's URL is a secret).
pub(crate) fn http_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    if err.is_timeout() {
        "the receiver did not answer in time".into()
    } else if err.is_connect() {
        format!("could not connect to the receiver: {}", source_chain(&err))
    } else {
        format!("request failed: {}", source_chain(&err))
    }
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Checks an HTTP answer: 2xx is delivered; anything else is an error with
/// the status and the start of the body.
pub(crate) async fn check_answer(response: reqwest::Response) -> Result<(), String> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    Err(format!("the receiver answered HTTP {}: {}", status.as_u16(), body.trim()))
}
