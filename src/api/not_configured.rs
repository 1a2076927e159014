//! "Webhook ingestion is not configured" said once per provider: a
//! delivery that arrives while neither the provider's webhook secret nor
//! the ingest token is set is answered 503 (`ingest-not-configured`, see
//! `webhook`), and the log gets one WARN line per provider kind for the
//! process's life instead of a line per request (GitLab and GitHub resend
//! and keep sending). The per-request answers are still counted in
//! `webhook_deliveries_total{outcome="ingest-not-configured"}`.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use crate::domain::ProviderKind;

static WARNED: LazyLock<Mutex<HashSet<ProviderKind>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// Records that `kind`'s deliveries are being refused; answers whether
/// this call was the first for `kind` (and so logged the WARN line).
pub(super) fn warn_once(kind: ProviderKind, setting: &'static str) -> bool {
    let first = WARNED.lock().map(|mut seen| seen.insert(kind)).unwrap_or(false);
    if first {
        tracing::warn!(
            provider = kind.kind(),
            "{} webhook deliveries are refused with 503 until {setting} (or CICD_INGEST_TOKEN) is set; \
             further refusals are not logged",
            kind.display_name()
        );
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_refusal_per_provider_is_logged() {
        assert!(warn_once(ProviderKind::Travis, "X"));
        assert!(!warn_once(ProviderKind::Travis, "X"));
        assert!(warn_once(ProviderKind::Drone, "Y"), "another provider warns on its own");
    }
}
