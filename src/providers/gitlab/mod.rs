//! GitLab CI: everything that knows GitLab. Webhook deliveries (`Pipeline
//! Hook`, `Job Hook`, `Deployment Hook` (`deployment`); every other event
//! only recorded)
//! with their headers (`X-Gitlab-Event`, `X-Gitlab-Token`, `Idempotency-Key`,
//! `X-Gitlab-Event-UUID`) parsed into domain changes; GitLab's statuses and
//! timestamps (`to_domain`); and the retry model (`attempts`), which the
//! REST poller reuses with API data. `api` is the REST client (credentials,
//! rate limits, models, backfill and incremental sync with the watch list,
//! group discovery) and `poller` runs its passes for the scheduler and the
//! `poll` command.
//!
//! Must not touch: storage (it answers [`crate::domain::Change`]s, placed
//! into run attempts by the store with `domain::tries`), HTTP answers (the
//! shared webhook route), other providers.

pub mod api;
pub mod attempts;
pub mod deployment;
pub mod failures;
mod payload;
pub mod poller;
mod reconcile;
pub mod to_domain;

pub use poller::Poller;

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::domain::{Change, ProviderKind};
use crate::providers::{DeliveryHeaders, HeaderError, Parsed, PayloadError, WebhookProvider};
use payload::{JobEvent, PipelineEvent};

/// Parses a webhook body for the event named in `X-Gitlab-Event`
/// (`Pipeline Hook`, `Job Hook`; a `System Hook` by its `object_kind`).
/// A `Deployment Hook` becomes a deployment (`deployment`). Every other
/// event — whatever GitLab's *Test*
/// button sends (`Push Hook`, `Tag Push Hook`, …) — is only recorded
/// ([`Parsed::Ignored`]), its raw body kept.
///
/// Errors: malformed JSON, or a pipeline / job event without its id,
/// status or project, or with a timestamp in neither of GitLab's forms.
pub fn parse_delivery(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(json_error)?;
    if event == "Deployment Hook" {
        return deployment::from_deployment_hook(serde_json::from_value(value).map_err(json_error)?);
    }
    let kind = match event {
        "Pipeline Hook" => "pipeline",
        "Job Hook" | "Build Hook" => "build",
        "System Hook" => value.get("object_kind").and_then(|k| k.as_str()).unwrap_or_default(),
        _ => "",
    };
    let tried = match kind {
        "pipeline" => to_domain::from_pipeline_event(
            serde_json::from_value::<PipelineEvent>(value).map_err(json_error)?,
        )?,
        "build" => to_domain::from_job_event(serde_json::from_value::<JobEvent>(value).map_err(json_error)?)?,
        _ => return Ok(Parsed::Ignored { action: None }),
    };
    let action = match (&tried.run, tried.jobs.first()) {
        (Some(run), _) => {
            Some(run.conclusion.as_ref().map_or(run.provider_status.as_str(), |c| c.as_str()).to_owned())
        }
        (None, Some(job)) => {
            Some(job.conclusion.as_ref().map_or(job.provider_status.as_str(), |c| c.as_str()).to_owned())
        }
        (None, None) => None,
    };
    let change = Change::Tries(tried);
    change.check_text()?;
    Ok(Parsed::Change { action, change })
}

fn json_error(err: serde_json::Error) -> PayloadError {
    PayloadError(format!("the body is not a valid payload: {err}"))
}

/// The delivery headers of GitLab's webhook route, as the OpenAPI document
/// shows them (read by utoipa only; [`GitLabWebhooks`] reads the headers).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "read by utoipa only")]
pub struct DeliveryHeaderDocs {
    /// Event name, e.g. Pipeline Hook or Job Hook
    #[serde(rename = "X-Gitlab-Event")]
    event: String,
    /// The webhook's secret token, compared with GITLAB_WEBHOOK_SECRET
    #[serde(rename = "X-Gitlab-Token")]
    token: Option<String>,
    /// Dedupe key, the same across GitLab's retries of one delivery
    #[serde(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
    /// Dedupe key when Idempotency-Key is absent
    #[serde(rename = "X-Gitlab-Event-UUID")]
    event_uuid: Option<String>,
}

/// GitLab CI as a [`WebhookProvider`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GitLabWebhooks;

/// Event names counted under their own metrics label; others are `other`.
pub const KNOWN_EVENTS: &[&str] =
    &["Pipeline Hook", "Job Hook", "Deployment Hook", "Push Hook", "System Hook"];

impl WebhookProvider for GitLabWebhooks {
    fn kind(&self) -> ProviderKind {
        ProviderKind::GitLab
    }

    fn secret_setting(&self) -> &'static str {
        "GITLAB_WEBHOOK_SECRET (--gitlab-webhook-secret)"
    }

    fn delivery_headers(&self, headers: &HeaderMap) -> Result<DeliveryHeaders, HeaderError> {
        let guid = match header_str(headers, "idempotency-key") {
            Some(_) => checked(headers, "idempotency-key")?,
            None => required_header(
                headers,
                "x-gitlab-event-uuid",
                "a unique id per delivery, used to drop duplicates; or send Idempotency-Key",
            )?,
        };
        let event = required_header(headers, "x-gitlab-event", "the event name, e.g. Pipeline Hook")?;
        Ok(DeliveryHeaders { guid: guid.to_owned(), event: event.to_owned() })
    }

    fn signature_header(&self, headers: &HeaderMap) -> Result<(), String> {
        match header_str(headers, "x-gitlab-token") {
            Some(_) => Ok(()),
            None => {
                Err("the X-Gitlab-Token header is missing: set the webhook's secret token in GitLab".into())
            }
        }
    }

    fn verify(&self, headers: &HeaderMap, _body: &[u8], secret: &[u8]) -> Result<(), String> {
        let given = headers.get("x-gitlab-token").map(|v| v.as_bytes()).unwrap_or_default();
        if bool::from(given.ct_eq(secret)) {
            Ok(())
        } else {
            Err("X-Gitlab-Token does not match: check that the webhook's secret token is the same on both sides".into())
        }
    }

    fn parse(&self, event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
        parse_delivery(event, body)
    }
}

/// The event named in `X-Gitlab-Event`, if any (for metrics labels).
pub fn event_header(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, "x-gitlab-event")
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    what: &'static str,
) -> Result<&'h str, HeaderError> {
    header_str(headers, name).ok_or(HeaderError::Missing { name, what })?;
    checked(headers, name)
}

/// A present header's value, refused when over its limit or not visible
/// ASCII (spaces inside are allowed: GitLab's event names have them).
fn checked<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, HeaderError> {
    let value = header_str(headers, name).unwrap_or_default();
    let max = crate::domain::limits::max_bytes(name);
    if value.len() > max || !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(HeaderError::Invalid { name, max });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header"));
        }
        map
    }

    #[test]
    fn the_idempotency_key_is_preferred_to_the_event_uuid() {
        let both = headers(&[
            ("idempotency-key", "k-1"),
            ("x-gitlab-event-uuid", "u-1"),
            ("x-gitlab-event", "Job Hook"),
        ]);
        assert_eq!(GitLabWebhooks.delivery_headers(&both).expect("ok").guid, "k-1");
        let uuid = headers(&[("x-gitlab-event-uuid", "u-1"), ("x-gitlab-event", "Job Hook")]);
        let named = GitLabWebhooks.delivery_headers(&uuid).expect("ok");
        assert_eq!((named.guid.as_str(), named.event.as_str()), ("u-1", "Job Hook"));
        let none = headers(&[("x-gitlab-event", "Job Hook")]);
        assert!(matches!(GitLabWebhooks.delivery_headers(&none), Err(HeaderError::Missing { .. })));
    }

    #[test]
    fn the_token_must_match_exactly() {
        let h = headers(&[("x-gitlab-token", "s3cret")]);
        assert!(GitLabWebhooks.verify(&h, b"{}", b"s3cret").is_ok());
        assert!(GitLabWebhooks.verify(&h, b"{}", b"s3cre").is_err());
        assert!(GitLabWebhooks.verify(&h, b"{}", b"s3cret!").is_err());
        assert!(GitLabWebhooks.verify(&HeaderMap::new(), b"{}", b"s3cret").is_err());
        assert!(GitLabWebhooks.signature_header(&HeaderMap::new()).is_err());
    }

    #[test]
    fn other_events_are_only_recorded() {
        assert_eq!(
            parse_delivery("Push Hook", br#"{"object_kind":"push"}"#),
            Ok(Parsed::Ignored { action: None })
        );
        // A Deployment Hook is a deployment: one without its id is unusable.
        assert!(parse_delivery("Deployment Hook", br#"{"object_kind":"deployment"}"#).is_err());
        assert!(parse_delivery("Push Hook", b"not json").is_err());
    }
}
