//! SQL of alerts, by what the rows are for: `config` (the stored
//! configuration), `facts` (what rule evaluation reads, inside the ingest
//! transaction on its connection, and what the periodic rules read),
//! `enqueue` (into the outbox, each alert once), `outbox` (claiming,
//! finishing and the history). What the rules mean lives in
//! `crate::alerts`; this module only reads and writes rows.

mod config;
mod enqueue;
mod facts;
mod outbox;

pub use config::{StoredConfig, config_on};
pub use enqueue::{NewAlert, insert_alert};
pub use facts::{
    BuildFacts, RateGroup, alerted_since, build_facts, failure_alerted_since, lock_key, previous_conclusive,
    recent_durations,
};
pub use outbox::{AlertFilter, AlertRecord, SendResult};
