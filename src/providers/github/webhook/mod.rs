//! GitHub's webhook deliveries: their headers (`X-GitHub-Delivery`,
//! `X-GitHub-Event`, `X-Hub-Signature-256`), `workflow_run` /
//! `workflow_job` payloads, `deployment` / `deployment_status` / `push`
//! (`deployment`: deployments and pushed commits), `issues` with the
//! incident label (`issues`: incidents), (and the same objects from the REST API) parsed
//! into domain changes.
//!
//! Payload shapes: <https://docs.github.com/en/webhooks/webhook-events-and-payloads>.
//! Models are small and lenient (see `payload`): every field that older
//! payloads lack is optional and unknown status values are kept verbatim.

mod deployment;
mod issues;
mod payload;
pub mod signature;
mod to_domain;

pub use deployment::{DeploymentObject, StatusObject as DeploymentStatusObject, deployment_from_rest};
pub use issues::DEFAULT_INCIDENT_LABEL;
pub use payload::{Repository, WorkflowJobObject, WorkflowRunObject};
pub use to_domain::{job_from_rest, run_from_rest};

use http::HeaderMap;

use crate::domain::{Change, ProviderKind};
use crate::providers::{DeliveryHeaders, HeaderError, Parsed, PayloadError, WebhookProvider};
use payload::{WorkflowJobEvent, WorkflowRunEvent};

/// Parses a webhook body for the event named in `X-GitHub-Event`.
///
/// Errors: malformed JSON, or a `workflow_run` / `workflow_job` event whose
/// object is missing, null or lacks its id / status / repository. GitHub only
/// ever sends these objects filled in, so refusing such a body with 400 loses
/// nothing real: it can only come from a broken or hostile sender.
pub fn parse_delivery(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    parse_delivery_with(event, body, DEFAULT_INCIDENT_LABEL)
}

/// [`parse_delivery`] with the label that makes an issue an incident
/// (`--incident-label`; see `issues`).
pub fn parse_delivery_with(event: &str, body: &[u8], incident_label: &str) -> Result<Parsed, PayloadError> {
    match event {
        "ping" => {
            serde_json::from_slice::<serde_json::Value>(body).map_err(json_error)?;
            Ok(Parsed::Ping)
        }
        "workflow_run" => {
            let event: WorkflowRunEvent = serde_json::from_slice(body).map_err(json_error)?;
            let action = event.action.clone();
            let change = Change::Run(to_domain::run_from_event(event)?);
            change.check_text()?;
            Ok(Parsed::Change { action, change })
        }
        "workflow_job" => {
            let event: WorkflowJobEvent = serde_json::from_slice(body).map_err(json_error)?;
            let action = event.action.clone();
            let change = Change::Job(to_domain::job_from_event(event)?);
            change.check_text()?;
            Ok(Parsed::Change { action, change })
        }
        "deployment" | "deployment_status" => {
            deployment::from_deployment_event(serde_json::from_slice(body).map_err(json_error)?)
        }
        "push" => deployment::from_push_event(serde_json::from_slice(body).map_err(json_error)?),
        "issues" => {
            issues::from_issues_event(serde_json::from_slice(body).map_err(json_error)?, incident_label)
        }
        _ => {
            let value: serde_json::Value = serde_json::from_slice(body).map_err(json_error)?;
            let action = value.get("action").and_then(|a| a.as_str()).map(str::to_owned);
            Ok(Parsed::Ignored { action })
        }
    }
}

fn json_error(err: serde_json::Error) -> PayloadError {
    PayloadError(format!("the body is not a valid payload: {err}"))
}

/// The delivery headers of GitHub's webhook route, as the OpenAPI document
/// shows them (read by utoipa only; [`GitHubWebhooks`] reads the headers).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "read by utoipa only")]
pub struct DeliveryHeaderDocs {
    /// Event name, e.g. workflow_run
    #[serde(rename = "X-GitHub-Event")]
    event: String,
    /// Unique delivery id (dedupe key)
    #[serde(rename = "X-GitHub-Delivery")]
    delivery: String,
    /// sha256=HMAC of the raw body with the webhook secret
    #[serde(rename = "X-Hub-Signature-256")]
    signature: Option<String>,
}

/// GitHub Actions as a [`WebhookProvider`], with the label that makes an
/// issue an incident.
#[derive(Debug, Clone)]
pub struct GitHubWebhooks {
    pub incident_label: std::sync::Arc<str>,
}

impl Default for GitHubWebhooks {
    fn default() -> Self {
        GitHubWebhooks { incident_label: DEFAULT_INCIDENT_LABEL.into() }
    }
}

/// Event names counted under their own metrics label; others are `other`.
pub const KNOWN_EVENTS: &[&str] = &[
    "workflow_run",
    "workflow_job",
    "ping",
    "push",
    "check_run",
    "check_suite",
    "deployment",
    "deployment_status",
    "issues",
];

impl WebhookProvider for GitHubWebhooks {
    fn kind(&self) -> ProviderKind {
        ProviderKind::GitHub
    }

    fn secret_setting(&self) -> &'static str {
        "GITHUB_WEBHOOK_SECRET (--github-webhook-secret)"
    }

    fn delivery_headers(&self, headers: &HeaderMap) -> Result<DeliveryHeaders, HeaderError> {
        let guid = required_header(
            headers,
            "x-github-delivery",
            "a unique id per delivery, used to drop duplicates",
        )?;
        let event = required_header(headers, "x-github-event", "the event name, e.g. workflow_run")?;
        Ok(DeliveryHeaders { guid: guid.to_owned(), event: event.to_owned() })
    }

    fn signature_header(&self, headers: &HeaderMap) -> Result<(), String> {
        match header_str(headers, "x-hub-signature-256") {
            Some(_) => Ok(()),
            None if headers.contains_key("x-hub-signature") => Err("only the SHA-1 X-Hub-Signature header \
                 was sent; X-Hub-Signature-256 (HMAC-SHA256) is required"
                .into()),
            None => Err("the X-Hub-Signature-256 header is missing".into()),
        }
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<(), String> {
        match header_str(headers, "x-hub-signature-256") {
            Some(sig) if signature::verify(secret, body, sig) => Ok(()),
            _ => Err("X-Hub-Signature-256 does not match the body: check that the webhook secret is the \
                      same on both sides"
                .into()),
        }
    }

    fn parse(&self, event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
        parse_delivery_with(event, body, &self.incident_label)
    }
}

/// The event named in `X-GitHub-Event`, if any (for metrics labels).
pub fn event_header(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "x-github-event")
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    what: &'static str,
) -> Result<&'h str, HeaderError> {
    let value = header_str(headers, name).ok_or(HeaderError::Missing { name, what })?;
    let max = crate::domain::limits::max_bytes(name);
    if value.len() > max || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(HeaderError::Invalid { name, max });
    }
    Ok(value)
}
