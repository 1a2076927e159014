//! Validation of the SMTP server and of one channel of the configuration
//! (see the parent module); a redacted secret sent back keeps the stored one.

use std::collections::HashSet;
use std::str::FromStr;

use serde_json::Value;

use super::{Checker, ValidateOptions};
use crate::alerts::config::{
    AlertConfig, Channel, ChannelTarget, REDACTED, SmtpConfig, SmtpSecurity, redact_url,
};

pub(super) fn parse_smtp(
    check: &mut Checker,
    value: &Value,
    previous: Option<&SmtpConfig>,
) -> Option<SmtpConfig> {
    let object =
        check.object(value, "smtp", &["host", "port", "security", "username", "password", "from"])?;
    let host = check.string(object, "smtp", "host");
    if let Some(host) = &host
        && (host.contains(char::is_whitespace) || host.contains('/'))
    {
        check.fail("smtp.host", "must be a host name or IP address");
    }
    let security = match object.get("security") {
        None | Some(Value::Null) => Some(SmtpSecurity::Starttls),
        Some(value) => match value.as_str() {
            Some("starttls") => Some(SmtpSecurity::Starttls),
            Some("tls") => Some(SmtpSecurity::Tls),
            Some("none") => Some(SmtpSecurity::None),
            _ => {
                check.fail("smtp.security", "must be \"starttls\", \"tls\" or \"none\"");
                None
            }
        },
    };
    let port = check.optional_int(object, "smtp", "port", 1, 65535);
    let username = check.optional_string(object, "smtp", "username");
    let mut password = check.optional_string(object, "smtp", "password");
    if password.as_deref() == Some(REDACTED) {
        password = previous.and_then(|p| p.password.clone());
        if password.is_none() {
            check.fail(
                "smtp.password",
                "is the redacted placeholder, but no password is stored: give the password",
            );
        }
    }
    if password.is_some() && username.is_none() {
        check.fail("smtp.username", "is required with a password");
    }
    let from = check.string(object, "smtp", "from");
    if let Some(from) = &from
        && lettre::message::Mailbox::from_str(from).is_err()
    {
        check.fail("smtp.from", format!("{from:?} is not an email address"));
    }
    let security = security?;
    Some(SmtpConfig {
        host: host?,
        port: port.ok()?.map_or(security.default_port(), |p| p as u16),
        security,
        username,
        password,
        from: from?,
    })
}

pub(super) fn parse_channel(
    check: &mut Checker,
    value: &Value,
    path: &str,
    options: ValidateOptions,
    ids: &mut HashSet<String>,
    previous: Option<&AlertConfig>,
) -> Option<Channel> {
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        check.fail(format!("{path}.type"), "is required: \"email\", \"slack\" or \"webhook\"");
        return None;
    };
    let known: &[&str] = match kind {
        "email" => &["id", "type", "to"],
        "slack" => &["id", "type", "webhook_url"],
        "webhook" => &["id", "type", "url", "secret"],
        other => {
            check.fail(
                format!("{path}.type"),
                format!("unknown channel type {other:?}: use \"email\", \"slack\" or \"webhook\""),
            );
            return None;
        }
    };
    let object = check.object(value, path, known)?;
    let id = check.id(object, path, ids);
    let stored = |id: &Option<String>| {
        id.as_ref().and_then(|id| previous.and_then(|p| p.channel(id))).map(|c| c.target.clone())
    };
    let target = match kind {
        "email" => {
            let field = format!("{path}.to");
            match object.get("to") {
                Some(Value::Array(items)) if !items.is_empty() => {
                    let mut to = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let field = format!("{field}[{i}]");
                        if let Some(address) = check.string_value(item, &field) {
                            if lettre::Address::from_str(&address).is_err() {
                                check.fail(field, format!("{address:?} is not an email address"));
                            } else {
                                to.push(address);
                            }
                        }
                    }
                    (to.len() == items.len()).then_some(ChannelTarget::Email { to })
                }
                _ => {
                    check.fail(field, "must be a non-empty array of email addresses");
                    None
                }
            }
        }
        "slack" => {
            let kept = match stored(&id) {
                Some(ChannelTarget::Slack { webhook_url }) => Some(webhook_url),
                _ => None,
            };
            keep_redacted_url(object.get("webhook_url"), kept)
                .or_else(|| check.url(object, path, "webhook_url", options))
                .map(|webhook_url| ChannelTarget::Slack { webhook_url })
        }
        _ => {
            let (kept_url, kept_secret) = match stored(&id) {
                Some(ChannelTarget::Webhook { url, secret }) => (Some(url), secret),
                _ => (None, None),
            };
            let url = keep_redacted_url(object.get("url"), kept_url)
                .or_else(|| check.url(object, path, "url", options));
            let mut secret = check.optional_string(object, path, "secret");
            if secret.as_deref() == Some(REDACTED) {
                secret = kept_secret;
                if secret.is_none() {
                    check.fail(
                        format!("{path}.secret"),
                        "is the redacted placeholder, but no secret is stored: give the secret",
                    );
                }
            }
            url.map(|url| ChannelTarget::Webhook { url, secret })
        }
    };
    Some(Channel { id: id?, target: target? })
}

/// The stored URL when `sent` is exactly its redacted form.
fn keep_redacted_url(sent: Option<&Value>, stored: Option<String>) -> Option<String> {
    let stored = stored?;
    (sent.and_then(Value::as_str) == Some(redact_url(&stored).as_str())).then_some(stored)
}
