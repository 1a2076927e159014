//! Why a job failed, in words a machine can group: error lines picked out
//! of a log ([`extract`]), each normalised into a failure signature so the
//! same error in different runs has the same fingerprint ([`signature`]),
//! and a documented rule table that says whether a failure is the
//! infrastructure's or the code's ([`classify`]).
//!
//! Pure: no I/O. Providers feed it (annotations, log excerpts, GitLab's
//! `failure_reason`); the store keeps its answers; the README's definitions
//! table repeats its rules.

pub mod classify;
pub mod extract;
pub mod reason;
pub mod signature;

pub use classify::{Classifier, FailureClass, FailureFacts};
pub use extract::error_lines;
pub use reason::{FailureReason, ReasonInput, ReasonSource, reason};
pub use signature::{Signature, normalise};
