//! Ingestion: the use case that takes an authenticated delivery, has its
//! provider parse it into domain changes, and hands it to the store's write
//! path, so it is recorded and applied in one committed transaction.
//!
//! `events` does the same for the generic build API: a request's events,
//! committed all or nothing.
//!
//! Owns the delivery → outcome decision only; parsing is the provider's
//! (`providers`), SQL the store's, HTTP the API's.

pub mod events;
pub mod service;
