//! The two fields every event of the generic build API carries, read the
//! same way for build and deployment events: `idempotency_key` and
//! `provider`. Owns their rules; knows nothing of the event kinds.

use serde_json::Value;

use super::reader::Reader;
use crate::domain::ProviderKind;

/// Longest idempotency key, in visible ASCII characters.
pub const MAX_KEY: usize = 200;

/// `idempotency_key`: 1–[`MAX_KEY`] visible ASCII characters.
pub(super) fn key(r: &mut Reader<'_>) -> Option<String> {
    let text = match r.present("idempotency_key") {
        None => {
            r.fail("idempotency_key", "is required (a key unique to this event, e.g. BUILD_TAG-started)");
            return None;
        }
        Some(Value::String(text)) => text.clone(),
        Some(_) => {
            r.fail("idempotency_key", "must be a string");
            return None;
        }
    };
    if text.is_empty() || text.len() > MAX_KEY || !text.chars().all(|c| c.is_ascii_graphic()) {
        r.fail("idempotency_key", format!("must be 1 to {MAX_KEY} visible ASCII characters (no spaces)"));
        return None;
    }
    Some(text)
}

/// `provider`: one of the generic kinds.
pub(super) fn provider(r: &mut Reader<'_>) -> Option<ProviderKind> {
    let accepted: Vec<&str> = ProviderKind::generic().map(ProviderKind::kind).collect();
    let text = r.required("provider", "provider")?;
    match ProviderKind::from_kind(&text).filter(|p| p.reports_generic_events()) {
        Some(provider) => Some(provider),
        None => {
            r.fail(
                "provider",
                format!("must be one of {} (any other CI: other), got {text:?}", accepted.join(", ")),
            );
            None
        }
    }
}
