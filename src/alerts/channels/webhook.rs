//! Generic webhooks: POST the alert as JSON, signed when a secret is set.
//!
//! Headers: `X-Cicd-Alert-Id` (the alert id; a receiver can deduplicate
//! retries by it), and with a secret `X-Cicd-Signature-256: sha256=<hex>`,
//! the HMAC-SHA256 of the raw body with the secret (as GitHub signs).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{check_answer, http_error};

/// The signature header value for `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error cannot happen.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Posts `body` to `url`.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    alert_id: i64,
    body: String,
) -> Result<(), String> {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-cicd-alert-id", alert_id.to_string());
    if let Some(secret) = secret {
        request = request.header("x-cicd-signature-256", signature(secret, body.as_bytes()));
    }
    let response = request.body(body).send().await.map_err(http_error)?;
    check_answer(response).await
}
