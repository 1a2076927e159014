//! The generic build API's provider: any CI without a provider folder of its
//! own (Jenkins, Buildkite, CircleCI, Azure Pipelines, …; see
//! [`ProviderKind::generic`]) reports its runs and jobs as documented JSON
//! events (`POST /api/builds/events`, the `report` subcommand).
//!
//! Owns the request body's shape (one event, an array of events, or
//! `{"events": [...]}`), the count cap, and turning each event into a
//! [`Change`] with the idempotency key that deduplicates it ([`event`]).
//! Every problem of every event is collected, so a refused request lists
//! them all. Must not know HTTP, SQL or the store: the handler lives in
//! `api`, recording in `ingest` and the store's write path.

pub mod deployment_event;
mod envelope;
pub mod event;
mod reader;

use serde_json::Value;

use crate::domain::{Change, ProviderKind};

/// Most events one request may carry.
pub const MAX_EVENTS: usize = 500;

/// One valid event, ready for the write path.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildEvent {
    /// The provider it reports for (one of [`ProviderKind::generic`]).
    pub provider: ProviderKind,
    /// The client's idempotency key: the dedupe key, per provider.
    pub key: String,
    /// `run`, `job` or `deployment`.
    pub kind: &'static str,
    /// The event as sent (kept with its delivery record for replay).
    pub raw: Value,
    pub change: Change,
}

/// One invalid field: its path (`events[2].status`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Why a request's events cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    /// The body is not JSON or not of a known shape (answered 400).
    #[error("{0}")]
    Malformed(String),
    /// Fields of one or more events are invalid (answered 422); nothing of
    /// the request is stored.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

/// Parses a request body: one event object, an array of them, or
/// `{"events": [...]}` (1 to [`MAX_EVENTS`] events). Answers every event,
/// in order, or every problem found in any of them.
///
/// Errors: [`EventsError::Malformed`] for a body that is not JSON or has
/// none of those shapes; [`EventsError::Invalid`] listing each bad field
/// (a count out of range is one, on `events`).
pub fn parse_events(body: &[u8]) -> Result<Vec<BuildEvent>, EventsError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| EventsError::Malformed(format!("the body is not JSON: {err}")))?;
    let events = match value {
        Value::Array(events) => events,
        Value::Object(mut object) if object.contains_key("events") => {
            let extra: Vec<FieldError> = object
                .keys()
                .filter(|key| *key != "events")
                .map(|key| FieldError {
                    field: key.clone(),
                    message: "unknown field: a batch body holds only `events`".into(),
                })
                .collect();
            if !extra.is_empty() {
                return Err(EventsError::Invalid(extra));
            }
            match object.remove("events") {
                Some(Value::Array(events)) => events,
                _ => {
                    return Err(EventsError::Invalid(vec![FieldError {
                        field: "events".into(),
                        message: "must be an array of events".into(),
                    }]));
                }
            }
        }
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(EventsError::Malformed(
                "the body must be an event object, an array of events or {\"events\": [...]}".into(),
            ));
        }
    };
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(EventsError::Invalid(vec![FieldError {
            field: "events".into(),
            message: format!("must hold 1 to {MAX_EVENTS} events, got {}", events.len()),
        }]));
    }
    let mut parsed = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    for (index, raw) in events.into_iter().enumerate() {
        match event::parse_event(index, raw) {
            Ok(event) => parsed.push(event),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() { Ok(parsed) } else { Err(EventsError::Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(key: &str) -> Value {
        serde_json::json!({
            "idempotency_key": key, "type": "run", "provider": "jenkins", "repository": "acme/app",
            "run_id": 7, "status": "in_progress", "started_at": "2026-12-01T10:00:00Z"
        })
    }

    #[test]
    fn the_three_body_shapes_parse() {
        let one = serde_json::to_vec(&run("a")).expect("json");
        assert_eq!(parse_events(&one).expect("one").len(), 1);
        let array = serde_json::to_vec(&vec![run("a"), run("b")]).expect("json");
        assert_eq!(parse_events(&array).expect("array").len(), 2);
        let wrapped = serde_json::to_vec(&serde_json::json!({"events": [run("a")]})).expect("json");
        assert_eq!(parse_events(&wrapped).expect("wrapped")[0].key, "a");
    }

    #[test]
    fn bad_bodies_and_counts_are_refused() {
        assert!(matches!(parse_events(b"{nope"), Err(EventsError::Malformed(_))));
        assert!(matches!(parse_events(b"42"), Err(EventsError::Malformed(_))));
        assert!(matches!(parse_events(b"[]"), Err(EventsError::Invalid(e)) if e[0].field == "events"));
        let many: Vec<Value> = (0..=MAX_EVENTS).map(|i| run(&i.to_string())).collect();
        let body = serde_json::to_vec(&many).expect("json");
        assert!(matches!(parse_events(&body), Err(EventsError::Invalid(e)) if e[0].message.contains("500")));
    }

    #[test]
    fn every_bad_field_of_every_event_is_listed() {
        let mut bad = run("b");
        bad["status"] = "exploded".into();
        bad["started_at"] = "yesterday".into();
        let body =
            serde_json::to_vec(&vec![run("a"), bad, serde_json::json!({"type": "job"})]).expect("json");
        let Err(EventsError::Invalid(errors)) = parse_events(&body) else { panic!("invalid") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"events[1].status"), "{fields:?}");
        assert!(fields.contains(&"events[1].started_at"), "{fields:?}");
        for missing in ["idempotency_key", "provider", "repository", "run_id", "status", "job_id"] {
            assert!(fields.contains(&format!("events[2].{missing}").as_str()), "{missing}: {fields:?}");
        }
    }
}
