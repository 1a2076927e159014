//! Reading one event's fields: each typed getter records what is wrong
//! with its field (as `events[INDEX].FIELD`) and answers `None`, so every
//! problem of an event is collected in one pass.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::FieldError;
use crate::domain::limits::{self, MAX_LABELS};
use crate::domain::time::parse_timestamp;
use crate::domain::time_bounds;

pub(super) struct Reader<'a> {
    pub(super) index: usize,
    pub(super) object: &'a Map<String, Value>,
    pub(super) errors: Vec<FieldError>,
}

impl<'a> Reader<'a> {
    pub(super) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError { field: format!("events[{}].{field}", self.index), message: message.into() });
    }

    pub(super) fn present(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    /// An optional string, checked against the stored text limit of `limit`.
    pub(super) fn text(&mut self, field: &str, limit: &str) -> Option<String> {
        self.checked_text(field, limit, "must not be empty (leave it out instead)")
    }

    /// A string when present; `empty` is the message for one of only
    /// white space (a required field's may not say to leave it out).
    fn checked_text(&mut self, field: &str, limit: &str, empty: &str) -> Option<String> {
        match self.present(field)? {
            Value::String(text) if text.trim().is_empty() => {
                self.fail(field, empty);
                None
            }
            Value::String(text) => match limits::check(limit, text) {
                Ok(()) => Some(text.clone()),
                Err(message) => {
                    self.fail(field, message);
                    None
                }
            },
            _ => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A required string.
    pub(super) fn required(&mut self, field: &str, limit: &str) -> Option<String> {
        if self.present(field).is_none() {
            self.fail(field, "is required");
            return None;
        }
        self.checked_text(field, limit, "must not be empty")
    }

    /// An id: a string or a non-negative integer, kept as text.
    pub(super) fn id(&mut self, field: &str, limit: &str) -> Option<String> {
        match self.present(field) {
            None => {
                self.fail(field, "is required");
                None
            }
            Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
            Some(Value::String(_)) => self.checked_text(field, limit, "must not be empty"),
            Some(_) => {
                self.fail(field, "must be a string or a non-negative integer");
                None
            }
        }
    }

    /// An optional integer of at least `min`.
    pub(super) fn integer(&mut self, field: &str, min: i64) -> Option<i64> {
        let value = self.present(field)?;
        match value.as_i64() {
            Some(n) if n >= min => Some(n),
            _ => {
                self.fail(field, format!("must be an integer from {min} to {}", i64::MAX));
                None
            }
        }
    }

    pub(super) fn timestamp(&mut self, field: &str) -> Option<DateTime<Utc>> {
        let text = self.text(field, field)?;
        match parse_timestamp(&text) {
            Ok(at) => match time_bounds::check(at, Utc::now()) {
                Ok(()) => Some(at),
                Err(range) => {
                    self.fail(field, format!("{range}, got {text:?}"));
                    None
                }
            },
            Err(_) => {
                self.fail(
                    field,
                    format!("must be an RFC 3339 timestamp such as 2026-12-01T10:00:00Z, got {text:?}"),
                );
                None
            }
        }
    }

    /// One of `words`, required.
    pub(super) fn word(&mut self, field: &str, words: &[&str]) -> Option<String> {
        let text = self.required(field, field)?;
        if words.contains(&text.as_str()) {
            Some(text)
        } else {
            self.fail(field, format!("must be one of {}, got {text:?}", words.join(", ")));
            None
        }
    }

    pub(super) fn labels(&mut self) -> Vec<String> {
        let Some(value) = self.present("runner_labels") else { return Vec::new() };
        let Some(items) = value.as_array() else {
            self.fail("runner_labels", "must be an array of strings");
            return Vec::new();
        };
        if items.len() > MAX_LABELS {
            self.fail("runner_labels", format!("at most {MAX_LABELS} labels"));
            return Vec::new();
        }
        let mut labels = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("runner_labels[{i}]");
            match item.as_str() {
                Some(text) => match limits::check("label", text) {
                    Ok(()) => labels.push(text.to_owned()),
                    Err(message) => self.fail(&field, message),
                },
                None => self.fail(&field, "must be a string"),
            }
        }
        labels
    }

    pub(super) fn url(&mut self) -> Option<String> {
        let text = self.text("url", "url")?;
        match url::Url::parse(&text) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Some(text),
            _ => {
                self.fail("url", "must be an absolute http(s) URL");
                None
            }
        }
    }
}
