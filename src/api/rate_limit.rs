//! Rate limits (governor's GCRA, one keyed limiter per budget): every
//! client address gets `N` requests a minute per budget (API or webhook),
//! and every bearer token presented gets its own `N` on top, so one noisy
//! client or token cannot starve the rest and random tokens do not buy a
//! way around the per-address limit. Over budget → 429 problem JSON with
//! `Retry-After` (whole seconds).
//!
//! The webhook budget is spent differently (see `webhook`): only by
//! deliveries that fail authentication, so verified deliveries are never
//! refused for their number; a client over it is refused (429) before its
//! next body is read, until its budget refills ([`Budget::fail`],
//! [`Budget::penalty`]).
//!
//! The client address is the TCP peer's, unless the peer is a trusted proxy
//! (`--trusted-proxies`): then it is the right-most `X-Forwarded-For`
//! address that is not itself a trusted proxy. A forwarded header from an
//! untrusted peer is ignored (else anyone could pick their own address).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use super::auth::{Bearer, bearer};
use super::problem::Problem;
use crate::auth::token_hash;

/// One budget: requests per minute per client address and per token.
pub struct Budget {
    name: &'static str,
    limiter: DefaultKeyedRateLimiter<String>,
    trusted: Arc<Vec<IpNet>>,
    /// Clients refused until the given instant (the webhook's failures).
    penalties: Mutex<HashMap<IpAddr, Instant>>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Budget {
    /// `per_minute` 0 disables the budget (`None`).
    pub fn new(name: &'static str, per_minute: u32, trusted: Arc<Vec<IpNet>>) -> Option<Arc<Budget>> {
        let per_minute = NonZeroU32::new(per_minute)?;
        let budget = Arc::new(Budget {
            name,
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            trusted,
            penalties: Mutex::new(HashMap::new()),
        });
        // Forget idle keys now and then so memory follows the active clients.
        let weak = Arc::downgrade(&budget);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                match weak.upgrade() {
                    Some(budget) => {
                        budget.limiter.retain_recent();
                        let now = Instant::now();
                        budget.lock_penalties().retain(|_, until| *until > now);
                    }
                    None => return,
                }
            }
        });
        Some(budget)
    }

    /// `Err(wait)` when `key` is over budget.
    fn check(&self, key: String) -> Result<(), Duration> {
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn lock_penalties(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.penalties.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The client address of a request (see the module doc).
    pub fn client(&self, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        client_ip(peer, headers, &self.trusted)
    }

    /// How long `client` is still refused after spending its budget of
    /// failures, if it is.
    pub fn penalty(&self, client: IpAddr) -> Option<Duration> {
        let until = *self.lock_penalties().get(&client)?;
        until.checked_duration_since(Instant::now()).filter(|wait| !wait.is_zero())
    }

    /// Spends one failure of `client`; over budget, `Err(wait)` and the
    /// client is refused until then ([`Budget::penalty`]).
    pub fn fail(&self, client: IpAddr) -> Result<(), Duration> {
        self.check(format!("ip:{client}")).inspect_err(|wait| {
            self.lock_penalties().insert(client, Instant::now() + *wait);
        })
    }

    /// The 429 answer for a client that must wait `wait`.
    pub fn refusal(&self, wait: Duration) -> Problem {
        metrics::counter!("rate_limited_total", "budget" => self.name).increment(1);
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Problem {
            retry_after: Some(seconds),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!("the {} budget for this client is spent; retry in {seconds} s", self.name),
            )
        }
    }
}

/// The client's address as described in the module doc.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

/// Parses `--trusted-proxies`: comma-separated CIDRs or single addresses.
///
/// Errors: an entry that is neither.
pub fn parse_trusted(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("--trusted-proxies: {s:?} is not a CIDR (10.0.0.0/8) or an address"))
        })
        .collect()
}

/// Layer body: spends one request of `budget` for the client and the token.
pub async fn limit(State(budget): State<Arc<Budget>>, request: Request, next: Next) -> Response {
    let client = budget.client(request.headers(), request.extensions());
    let mut verdict = budget.check(format!("ip:{client}"));
    if verdict.is_ok()
        && let Bearer::Token(token) = bearer(request.headers())
    {
        verdict = budget.check(format!("token:{}", &token_hash(token)[..32]));
    }
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => budget.refusal(wait).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("header"));
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "127.0.0.1".into()]).expect("cidrs");
        let proxy: IpAddr = "10.1.2.3".parse().expect("ip");
        let stranger: IpAddr = "198.51.100.7".parse().expect("ip");
        // Behind the proxy: the right-most untrusted address.
        assert_eq!(
            client_ip(proxy, &forwarded("203.0.113.9, 10.0.0.5"), &trusted).to_string(),
            "203.0.113.9"
        );
        // A spoofed left-most entry does not win over the proxy's own.
        assert_eq!(client_ip(proxy, &forwarded("1.2.3.4, 203.0.113.9"), &trusted).to_string(), "203.0.113.9");
        // An untrusted peer's header is ignored.
        assert_eq!(client_ip(stranger, &forwarded("203.0.113.9"), &trusted), stranger);
        // Garbage falls back to the peer.
        assert_eq!(client_ip(proxy, &forwarded("nonsense"), &trusted), proxy);
        assert!(parse_trusted(&["not-a-net".into()]).is_err());
    }
}
