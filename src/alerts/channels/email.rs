//! Email over SMTP with lettre: a multipart/alternative message (text and
//! HTML) through the configured server, with STARTTLS (required), implicit
//! TLS or none, and optional authentication. One connection per message:
//! alerts are few, and a fresh connection recovers from a restarted server.

use std::str::FromStr;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::alerts::config::{SmtpConfig, SmtpSecurity};
use crate::alerts::templates::EmailParts;

/// Sends `parts` to every address of `to`.
///
/// Errors: a bad address, the connection, TLS, authentication, or the
/// server refusing the message.
pub async fn send(
    smtp: &SmtpConfig,
    to: &[String],
    parts: &EmailParts,
    timeout: Duration,
) -> Result<(), String> {
    let from = Mailbox::from_str(&smtp.from).map_err(|e| format!("the from address is invalid: {e}"))?;
    let mut builder = Message::builder().from(from).subject(parts.subject.clone());
    for address in to {
        let address =
            Address::from_str(address).map_err(|e| format!("recipient {address:?} is invalid: {e}"))?;
        builder = builder.to(Mailbox::new(None, address));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(parts.text.clone(), parts.html.clone()))
        .map_err(|e| format!("could not build the message: {e}"))?;
    let builder = match smtp.security {
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
    }
    .map_err(|e| format!("SMTP TLS setup failed: {e}"))?;
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = builder.build();
    // lettre's timeout covers single reads and writes, not a server that
    // accepts the connection and never greets: bound the whole send too.
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(format!("SMTP {}:{}: {err}", smtp.host, smtp.port)),
        Err(_) => Err(format!("SMTP {}:{}: no answer within {} s", smtp.host, smtp.port, timeout.as_secs())),
    }
}
