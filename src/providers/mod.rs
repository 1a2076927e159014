//! Providers: one folder per CI system, each behind the same seam. A
//! provider turns what its system sends or answers (webhook deliveries,
//! REST API pages) into domain changes ([`crate::domain::Change`]) and
//! keeps its own API client, credentials and polling passes.
//!
//! The seam a provider implements:
//! - [`WebhookProvider`]: which headers name a delivery and its event, how a
//!   delivery is authenticated (a signature header checked before the body
//!   is read, then verified over it), and how its body parses ([`Parsed`]);
//! - [`RepoPoller`]: a provider with a REST API offers periodic jobs
//!   (backfill, incremental sync, discovery; `scheduler::PeriodicJob`)
//!   whose passes report [`PollStats`].
//!
//! Everything after the seam (dedupe, merge rules, storage, metrics, alerts,
//! the API and the page) is shared and names no provider except through
//! [`crate::domain::ProviderKind`]. Adding a provider is one folder here and
//! one registration line where the routes and jobs are built.

pub mod failure_fetch;
pub mod generic;
pub mod github;
pub mod gitlab;
pub mod log_tail;
pub mod rate_gate;

use std::sync::Arc;

use http::HeaderMap;

use crate::domain::words::count;
use crate::domain::{Change, ProviderKind};
use crate::scheduler::PeriodicJob;

/// A provider's webhook deliveries: the part of the seam the ingest
/// endpoint uses.
pub trait WebhookProvider: Send + Sync {
    /// The provider every delivery of this endpoint belongs to.
    fn kind(&self) -> ProviderKind;

    /// The setting that holds the shared webhook secret, as a user sets it
    /// (for the answer that says ingestion is not configured).
    fn secret_setting(&self) -> &'static str;

    /// The delivery's unique id (the dedupe key) and its event name, from
    /// the provider's headers.
    ///
    /// Errors: a missing or malformed header (answered 400).
    fn delivery_headers(&self, headers: &HeaderMap) -> Result<DeliveryHeaders, HeaderError>;

    /// Whether the headers carry the provider's signature at all: checked
    /// before the body is read, so an unsigned body is refused unread.
    ///
    /// Errors: why not, in words for the sender (answered 401).
    fn signature_header(&self, headers: &HeaderMap) -> Result<(), String>;

    /// Whether the provider's own signature over `body` (with the shared
    /// `secret`) is valid.
    ///
    /// Errors: why not, in words for the sender (answered 401).
    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<(), String>;

    /// Parses a delivery's body.
    ///
    /// Errors: a body that cannot be used (answered 400, recorded as rejected).
    fn parse(&self, event: &str, body: &[u8]) -> Result<Parsed, PayloadError>;
}

/// A provider's REST poller: the part of the seam the scheduler uses.
pub trait RepoPoller: Send + Sync {
    /// The provider whose repositories (projects) it polls.
    fn kind(&self) -> ProviderKind;

    /// Its periodic passes, for the scheduler to run on one replica.
    fn jobs(self: Arc<Self>) -> Vec<PeriodicJob>;
}

/// A delivery's id and event, as its headers name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryHeaders {
    pub guid: String,
    pub event: String,
}

/// A delivery header that is missing or malformed (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the {name} header ({what}) is required")]
    Missing { name: &'static str, what: &'static str },
    #[error("the {name} header must be at most {max} visible ASCII characters")]
    Invalid { name: &'static str, max: usize },
}

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

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Repositories polled.
    pub repos: usize,
    /// Run objects listed.
    pub runs_listed: usize,
    /// Run attempts fetched and applied.
    pub attempts: usize,
    /// Listed runs already stored as completed and unchanged.
    pub unchanged: usize,
    /// Build, job and deployment rows created or changed.
    pub rows_changed: usize,
    /// Deployments fetched and applied (their statuses asked for).
    pub deployments: usize,
    /// Listings answered 304 Not Modified.
    pub not_modified: usize,
    /// Watch-list attempts refreshed.
    pub watched: usize,
    /// Objects skipped as unusable.
    pub skipped: usize,
    /// Repositories whose pass failed.
    pub failed: usize,
}

impl PollStats {
    pub(crate) fn add(&mut self, other: &PollStats) {
        self.repos += other.repos;
        self.runs_listed += other.runs_listed;
        self.attempts += other.attempts;
        self.unchanged += other.unchanged;
        self.rows_changed += other.rows_changed;
        self.deployments += other.deployments;
        self.not_modified += other.not_modified;
        self.watched += other.watched;
        self.skipped += other.skipped;
        self.failed += other.failed;
    }

    /// One line for logs and the scheduler.
    pub fn summary(&self) -> String {
        format!(
            "polled {}: {} listed, {} stored, {} recorded, {} changed, {} not modified, \
             {} watched, {} failed",
            count(self.repos, "repository", "repositories"),
            count(self.runs_listed, "run", "runs"),
            count(self.attempts, "attempt", "attempts"),
            count(self.deployments, "deployment", "deployments"),
            count(self.rows_changed, "row", "rows"),
            self.not_modified,
            self.watched,
            self.failed
        )
    }
}
