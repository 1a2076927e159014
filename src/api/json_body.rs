//! What a route that takes a JSON body asks of the request's
//! `Content-Type`: `application/json` or an `application/…+json` type.
//! Anything else (a form, text, or no type, as `curl -d` sends without
//! `-H 'Content-Type: application/json'`) is a 415 problem before the body
//! is read. Owns only that header rule; the routes parse their bodies.

use axum::http::{HeaderMap, StatusCode, header};

use super::problem::Problem;

/// The content type's essence (`type/subtype`, lower case), if any.
pub fn essence(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// Whether the request declares a JSON body.
pub fn is_json(headers: &HeaderMap) -> bool {
    match essence(headers).as_deref() {
        Some("application/json") => true,
        Some(t) => t.starts_with("application/") && t.ends_with("+json"),
        None => false,
    }
}

/// 415 unless the request declares a JSON body.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    if is_json(headers) {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!(
            "the body must be JSON sent with Content-Type: application/json, got {} \
             (with curl: -H 'Content-Type: application/json')",
            essence(headers).unwrap_or_else(|| "no Content-Type".into())
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
        headers
    }

    #[test]
    fn json_types_pass_and_others_are_415() {
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=utf-8")));
        assert!(is_json(&with("application/vnd.api+json")));
        assert!(!is_json(&with("application/x-www-form-urlencoded")));
        assert!(!is_json(&with("text/json+plain")));
        assert!(!is_json(&HeaderMap::new()));
        let problem = require_json(&with("text/plain")).expect_err("415");
        assert_eq!(problem.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
