//! Ingestion: turns provider deliveries into domain changes and hands them to
//! the store in one transaction with the delivery record.
//!
//! The provider seam is [`Change`]: each provider module (today `github`,
//! later GitLab, …) parses its own payloads into [`Change`]s of domain types;
//! everything after that (dedupe, ordering rules, storage) is shared. This
//! module owns payload parsing and signature checks; it must not touch SQL or
//! HTTP response shapes.

pub mod github;
pub mod service;
pub mod signature;

use crate::domain::Change;

/// What a delivery turned out to be after parsing.
#[derive(Debug, Clone, PartialEq)]
#[expect(clippy::large_enum_variant, reason = "one short-lived value per delivery; boxing buys nothing")]
pub enum Parsed {
    /// `ping`: answered 200, nothing stored.
    Ping,
    /// A CI event that changes stored state.
    Change { action: Option<String>, change: Change },
    /// An event this dashboard does not use: only the delivery is recorded.
    Ignored { action: Option<String> },
}

/// A payload that cannot be used: malformed JSON, or an event without the
/// object it needs. Answered 400; the message says which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

impl From<crate::domain::change::InvalidText> for PayloadError {
    fn from(err: crate::domain::change::InvalidText) -> Self {
        PayloadError(err.0)
    }
}
