//! GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of the raw request body keyed with the webhook secret
//! (<https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries>).
//! Comparison is constant-time (`Mac::verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The `X-Hub-Signature-256` header value for `body` under `secret`:
/// `sha256=` followed by 64 lowercase hex digits.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` (the `X-Hub-Signature-256` value) is the signature of
/// `body` under `secret`. Any malformed header is simply `false`.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_githubs_documented_example() {
        // The example from GitHub's "Validating webhook deliveries" page.
        let header = sign(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(header, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        assert!(verify(b"It's a Secret to Everybody", b"Hello, World!", &header));
    }

    #[test]
    fn rejects_wrong_secret_body_or_format() {
        let header = sign(b"s", b"body");
        assert!(!verify(b"other", b"body", &header));
        assert!(!verify(b"s", b"body ", &header));
        assert!(!verify(b"s", b"body", header.trim_start_matches("sha256=")));
        assert!(!verify(b"s", b"body", "sha256=zz"));
        assert!(!verify(b"s", b"body", "sha1=0123"));
    }
}
