//! Slack incoming webhooks: POST the rendered message (Block Kit JSON).

use super::{check_answer, http_error};

/// Posts `body` to the webhook URL. Slack answers 200 `ok`, or 4xx with a
/// reason such as `invalid_blocks` or `no_service`.
pub async fn send(http: &reqwest::Client, webhook_url: &str, body: String) -> Result<(), String> {
    let response = http
        .post(webhook_url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(http_error)?;
    check_answer(response).await
}
