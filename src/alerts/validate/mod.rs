//! Parsing untrusted configuration (`POST /api/alerts/configure`, or the
//! environment) into an [`AlertConfig`], collecting every problem with the
//! path of its field (`channels[1].webhook_url`) rather than stopping at the
//! first. Never panics on input; touches neither database nor network.

use std::collections::HashSet;

use serde_json::{Map, Value};

mod channel;
mod rule;

use super::config::{AlertConfig, REDACTED};
use channel::{parse_channel, parse_smtp};
use rule::parse_rule;

/// One invalid field: its JSON path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// How strict validation is.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Accept plain `http://` alert URLs for any host (otherwise only
    /// loopback hosts may use `http://`).
    pub allow_http_urls: bool,
    /// Which addresses alert URLs may name (see `address_guard`).
    pub addresses: crate::alerts::address_guard::AddressPolicy,
}

struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), message: message.into() });
    }

    fn object<'a>(
        &mut self,
        value: &'a Value,
        field: &str,
        known: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(object) = value.as_object() else {
            self.fail(field, "must be an object");
            return None;
        };
        for key in object.keys() {
            if !known.contains(&key.as_str()) {
                let path = if field.is_empty() { key.clone() } else { format!("{field}.{key}") };
                self.fail(path, format!("unknown field; known fields: {}", known.join(", ")));
            }
        }
        Some(object)
    }

    /// A present, non-empty string.
    fn string(&mut self, object: &Map<String, Value>, parent: &str, key: &str) -> Option<String> {
        let field = format!("{parent}.{key}");
        match object.get(key) {
            None | Some(Value::Null) => {
                self.fail(field, "is required");
                None
            }
            Some(value) => self.string_value(value, &field),
        }
    }

    fn string_value(&mut self, value: &Value, field: &str) -> Option<String> {
        match value.as_str().map(str::trim) {
            Some(text) if !text.is_empty() && text.len() <= 2048 => Some(text.to_owned()),
            Some(text) if !text.is_empty() => {
                self.fail(field, "is longer than 2048 characters");
                None
            }
            _ => {
                self.fail(field, "must be a non-empty string");
                None
            }
        }
    }

    fn optional_string(&mut self, object: &Map<String, Value>, parent: &str, key: &str) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => self.string_value(value, &format!("{parent}.{key}")),
        }
    }

    /// An optional integer within `min..=max`; `Err(())` when present but bad.
    fn optional_int(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, ()> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => {
                    self.fail(format!("{parent}.{key}"), format!("must be an integer from {min} to {max}"));
                    Err(())
                }
            },
        }
    }

    fn id(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        seen: &mut HashSet<String>,
    ) -> Option<String> {
        let id = self.string(object, parent, "id")?;
        let valid = id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            self.fail(format!("{parent}.id"), "must be 1–64 characters of A–Z, a–z, 0–9, '_', '.', '-'");
            return None;
        }
        if !seen.insert(id.clone()) {
            self.fail(format!("{parent}.id"), format!("{id:?} is used twice"));
            return None;
        }
        Some(id)
    }

    /// An `https://` URL (or `http://` to a loopback host, or any `http://`
    /// when allowed).
    fn url(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
        options: ValidateOptions,
    ) -> Option<String> {
        let text = self.string(object, parent, key)?;
        let field = format!("{parent}.{key}");
        let Ok(url) = url::Url::parse(&text) else {
            self.fail(field, "must be an absolute URL");
            return None;
        };
        if text.ends_with(&format!("/{REDACTED}")) {
            self.fail(
                field,
                "is a redacted placeholder that matches no stored channel of this id: give the URL",
            );
            return None;
        }
        if let Some(host) = url.host()
            && let Err(reason) = options.addresses.check_host(host)
        {
            self.fail(field, reason);
            return None;
        }
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" if url.host().is_some() => Some(text),
            "http" if url.host().is_some() && (loopback || options.allow_http_urls) => Some(text),
            "http" => {
                self.fail(
                    field,
                    "must use https:// (plain http:// is accepted only for loopback hosts, or with \
                     --allow-http-alert-urls / CICD_ALLOW_HTTP_ALERT_URLS=true)",
                );
                None
            }
            _ => {
                self.fail(field, "must be an https:// URL");
                None
            }
        }
    }
}

/// Parses and validates a configuration document. `previous` is the stored
/// configuration: a secret sent back as answered (`"***"`, or a redacted
/// URL of the same channel) keeps the stored value, so a client may
/// GET, edit and POST the document.
///
/// Errors: every invalid field, with its path.
pub fn parse_config(
    input: &Value,
    options: ValidateOptions,
    previous: Option<&AlertConfig>,
) -> Result<AlertConfig, Vec<FieldError>> {
    let mut check = Checker { errors: Vec::new() };
    let Some(root) = check.object(input, "", &["smtp", "channels", "rules"]) else {
        return Err(check.errors);
    };
    let smtp = match root.get("smtp") {
        None | Some(Value::Null) => None,
        Some(value) => parse_smtp(&mut check, value, previous.and_then(|p| p.smtp.as_ref())),
    };
    let mut channels = Vec::new();
    let mut channel_ids = HashSet::new();
    match root.get("channels") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("channels[{i}]");
                if item.get("type").and_then(Value::as_str) == Some("email")
                    && root.get("smtp").is_none_or(Value::is_null)
                {
                    check.fail(path.clone(), "an email channel needs the smtp settings");
                }
                if let Some(channel) =
                    parse_channel(&mut check, item, &path, options, &mut channel_ids, previous)
                {
                    channels.push(channel);
                }
            }
        }
        Some(_) => check.fail("channels", "must be an array"),
    }
    let mut rules = Vec::new();
    match root.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut rule_ids = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                if let Some(rule) =
                    parse_rule(&mut check, item, &format!("rules[{i}]"), &channel_ids, &mut rule_ids)
                {
                    rules.push(rule);
                }
            }
        }
        Some(_) => check.fail("rules", "must be an array"),
    }
    if check.errors.is_empty() { Ok(AlertConfig { smtp, channels, rules }) } else { Err(check.errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::config::SmtpSecurity;
    use serde_json::json;

    fn fields(input: Value) -> Vec<String> {
        parse_config(&input, ValidateOptions::default(), None)
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_good_document_parses_with_defaults() {
        let config = parse_config(
            &json!({
                "smtp": {"host": "smtp.example.com", "from": "CI <ci@example.com>"},
                "channels": [{"id": "team", "type": "email", "to": ["a@example.com"]},
                             {"id": "local", "type": "webhook", "url": "http://127.0.0.1:9/x"}],
                "rules": [{"id": "r", "kind": "build_failed", "channels": ["team", "local"]}]
            }),
            // A loopback receiver needs private addresses allowed.
            ValidateOptions {
                addresses: crate::alerts::address_guard::AddressPolicy { allow_private: true },
                ..Default::default()
            },
            None,
        )
        .expect("valid");
        let smtp = config.smtp.expect("smtp");
        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
        assert_eq!(config.rules[0].channels, ["team", "local"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let got = fields(json!({
            "channels": [{"id": "a", "type": "pager"},
                         {"id": "b", "type": "email", "to": ["not-an-address"]},
                         {"id": "c", "type": "slack", "webhook_url": "http://hooks.slack.com/x"}],
            "rules": [{"id": "r", "kind": "sometimes", "channels": ["zzz"]}],
            "extra": 1
        }));
        for want in [
            "extra",
            "channels[0].type",
            "channels[1].to[0]",
            "channels[1]",
            "channels[2].webhook_url",
            "rules[0].kind",
            "rules[0].channels[0]",
        ] {
            assert!(got.contains(&want.to_owned()), "{want} not in {got:?}");
        }
    }

    #[test]
    fn http_urls_pass_when_allowed() {
        let doc =
            json!({"channels": [{"id": "c", "type": "slack", "webhook_url": "http://hooks.example.com/x"}]});
        assert!(parse_config(&doc, ValidateOptions::default(), None).is_err());
        assert!(
            parse_config(&doc, ValidateOptions { allow_http_urls: true, ..Default::default() }, None).is_ok()
        );
    }

    #[test]
    fn redacted_secrets_keep_the_stored_ones() {
        let doc = json!({"channels": [{"id": "c", "type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"}]});
        let stored = parse_config(&doc, ValidateOptions::default(), None).expect("valid");
        let again = serde_json::to_value(stored.redacted()).expect("json");
        let back = parse_config(&again, ValidateOptions::default(), Some(&stored)).expect("valid");
        assert_eq!(back, stored);
    }
}
