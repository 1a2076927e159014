//! GitHub Actions: parses `workflow_run` / `workflow_job` webhook payloads
//! (and the same objects from the REST API) into domain changes.
//!
//! Payload shapes: <https://docs.github.com/en/webhooks/webhook-events-and-payloads>.
//! Models are small and lenient (see `payload`): every field that older
//! payloads lack is optional and unknown status values are kept verbatim.

mod payload;
mod to_domain;

pub use payload::{Repository, WorkflowJobObject, WorkflowRunObject};
pub use to_domain::{job_from_rest, run_from_rest};

use super::{Parsed, PayloadError};
use crate::domain::Change;
use payload::{WorkflowJobEvent, WorkflowRunEvent};

/// Parses a webhook body for the event named in `X-GitHub-Event`.
///
/// Errors: malformed JSON, or a `workflow_run` / `workflow_job` event whose
/// object is missing, null or lacks its id / status / repository. GitHub only
/// ever sends these objects filled in, so refusing such a body with 400 loses
/// nothing real: it can only come from a broken or hostile sender.
pub fn parse_delivery(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
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
