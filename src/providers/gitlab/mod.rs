//! GitLab CI: everything that knows GitLab. `api` is the REST client
//! (credentials, rate limits, models, backfill and incremental sync with the
//! watch list, group discovery) and `poller` runs its passes for the
//! scheduler and the `poll` command.

pub mod api;
pub mod poller;

pub use poller::Poller;
