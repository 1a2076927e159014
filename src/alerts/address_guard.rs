//! Which addresses alert deliveries (Slack, webhooks) may reach, so an alert
//! URL cannot be pointed at the server's own network (SSRF): link-local
//! (169.254.0.0/16, fe80::/10, including cloud metadata at 169.254.169.254),
//! other metadata addresses (fd00:ec2::254, 100.100.100.200 and the
//! `metadata.google.internal` name), unspecified, multicast and broadcast
//! addresses are always refused; loopback, private (10/8, 172.16/12,
//! 192.168/16, fc00::/7) and shared (100.64/10) addresses unless
//! `--alert-allow-private-addresses` is set.
//!
//! Checked twice: on the URL when a configuration is validated (IP literals
//! and known names), and at send time on every address the host name
//! resolves to ([`GuardedResolver`], reqwest's resolver) and on IP literals
//! ([`check_url`]), so a name that later resolves elsewhere is caught.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether private and loopback addresses are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_private: bool,
}

/// Host names refused whatever they resolve to (metadata services).
const METADATA_NAMES: &[&str] = &["metadata.google.internal", "metadata", "instance-data"];

impl AddressPolicy {
    /// Why `ip` may not be reached, if it may not.
    pub fn refusal(self, ip: IpAddr) -> Option<&'static str> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (always, private) = match ip {
            IpAddr::V4(v4) => v4_class(v4),
            IpAddr::V6(v6) => v6_class(v6),
        };
        always.or(if self.allow_private { None } else { private })
    }

    /// Checks a URL's host as written: IP literals, `localhost` and
    /// metadata names (names are checked again once resolved).
    ///
    /// Errors: the reason, fit for a field error or a delivery error.
    pub fn check_host(self, host: url::Host<&str>) -> Result<(), String> {
        let ip = match host {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if METADATA_NAMES.contains(&name.as_str()) {
                    return Err(format!("{name} is a cloud metadata service and is never reached"));
                }
                if name == "localhost" || name.ends_with(".localhost") {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    return Ok(());
                }
            }
        };
        self.explain(ip)
    }

    fn explain(self, ip: IpAddr) -> Result<(), String> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(why) if self.allow_private || !matches!(why, "a loopback" | "a private") => {
                Err(format!("{ip} is {why} address, which alerts never reach"))
            }
            Some(why) => Err(format!(
                "{ip} is {why} address; alerts reach such addresses only with \
                 --alert-allow-private-addresses / CICD_ALERT_ALLOW_PRIVATE_ADDRESSES=true"
            )),
        }
    }
}

/// (always refused, refused unless private addresses are allowed)
fn v4_class(ip: Ipv4Addr) -> (Option<&'static str>, Option<&'static str>) {
    let [a, b, ..] = ip.octets();
    if ip.is_link_local() {
        (Some("a link-local (or cloud metadata)"), None)
    } else if ip == Ipv4Addr::new(100, 100, 100, 200) {
        (Some("a cloud metadata"), None)
    } else if ip.is_unspecified() || a == 0 {
        (Some("an unspecified"), None)
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        (Some("a multicast, broadcast or reserved"), None)
    } else if ip.is_loopback() {
        (None, Some("a loopback"))
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        (None, Some("a private"))
    } else {
        (None, None)
    }
}

fn v6_class(ip: Ipv6Addr) -> (Option<&'static str>, Option<&'static str>) {
    let first = ip.segments()[0];
    if (first & 0xffc0) == 0xfe80 {
        (Some("a link-local"), None)
    } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        (Some("a cloud metadata"), None)
    } else if ip.is_unspecified() {
        (Some("an unspecified"), None)
    } else if ip.is_multicast() {
        (Some("a multicast, broadcast or reserved"), None)
    } else if ip.is_loopback() {
        (None, Some("a loopback"))
    } else if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfec0 {
        (None, Some("a private"))
    } else {
        (None, None)
    }
}

/// Send-time check of a URL's IP literal host (names go through
/// [`GuardedResolver`]).
///
/// Errors: an unparsable URL, or a refused address.
pub fn check_url(url: &str, policy: AddressPolicy) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|_| "the URL is not valid".to_owned())?;
    match parsed.host() {
        Some(host @ (url::Host::Ipv4(_) | url::Host::Ipv6(_))) => policy.check_host(host),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_NAMES.contains(&name.as_str()) {
                return Err(format!("{name} is a cloud metadata service and is never reached"));
            }
            Ok(())
        }
        None => Err("the URL has no host".into()),
    }
}

/// reqwest's resolver for alert deliveries: the system's resolution, less
/// every refused address; a name left with none fails to connect.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut reasons = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.explain(addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        reasons.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = reasons.into_iter().next().unwrap_or_else(|| "no address".into());
                return Err(format!("{host} resolves to no address alerts may reach: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: AddressPolicy, text: &str) -> bool {
        policy.refusal(text.parse().expect("ip")).is_some()
    }

    #[test]
    fn link_local_and_metadata_are_always_refused_private_only_by_default() {
        let strict = AddressPolicy::default();
        let open = AddressPolicy { allow_private: true };
        for always in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "fd00:ec2::254",
            "100.100.100.200",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
            "::ffff:169.254.169.254",
        ] {
            assert!(refused(strict, always) && refused(open, always), "{always}");
        }
        for private in [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "::1",
            "fd12:3456::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(refused(strict, private), "{private}");
            assert!(!refused(open, private), "{private}");
        }
        for public in ["93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:2800:220:1::1"] {
            assert!(!refused(strict, public), "{public}");
        }
        assert!(strict.check_host(url::Host::Domain("localhost")).is_err());
        assert!(open.check_host(url::Host::Domain("localhost")).is_ok());
        assert!(open.check_host(url::Host::Domain("metadata.google.internal.")).is_err());
        assert!(strict.check_host(url::Host::Domain("hooks.slack.com")).is_ok());
        assert!(check_url("https://[fe80::1]/x", open).is_err());
        assert!(check_url("https://10.0.0.1/x", strict).is_err());
        assert!(check_url("https://example.com/x", strict).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        // `localhost` resolves from the hosts file, without a network.
        let strict = GuardedResolver { policy: AddressPolicy::default() };
        let error = match strict.resolve("localhost".parse().expect("name")).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("loopback"), "{error}");
        let open = GuardedResolver { policy: AddressPolicy { allow_private: true } };
        let addrs: Vec<SocketAddr> =
            open.resolve("localhost".parse().expect("name")).await.expect("resolves").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty(), "{addrs:?}");
    }
}
