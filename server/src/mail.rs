//! Mail the server sends (today: one-time links that set a password).
//!
//! With `[mail] smtp_url` configured, messages go to that SMTP server. Without it — a local
//! install, where nobody has set up mail — the message is printed on the server's console
//! (standard error, not the log), which is where the operator of such an install already reads
//! the first administrator's password.

use std::time::Duration;

use anyhow::Context;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use secrecy::ExposeSecret;

use crate::config::MailConfig;

/// How a message left the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to the SMTP server.
    Sent,
    /// Printed on the console: no mail server is configured.
    Printed,
}

/// Sends the server's mail, or prints it where no mail server is configured.
pub struct Postman {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Postman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postman")
            .field("smtp", &self.smtp.is_some())
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// One message to one recipient, in plain text.
pub struct Letter<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

impl Postman {
    pub fn new(config: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .with_context(|| format!("mail.from {:?} is not a mail address", config.from))?;
        let smtp = match &config.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    // The URL may hold a password: never echo it.
                    .map_err(|error| anyhow::anyhow!("mail.smtp_url is not usable: {error}"))?
                    .timeout(Some(Duration::from_secs(config.timeout_secs)))
                    .build(),
            ),
        };
        Ok(Self { smtp, from })
    }

    /// Sends `letter`, or prints it when no mail server is configured.
    pub async fn deliver(&self, letter: Letter<'_>) -> anyhow::Result<Delivery> {
        let Some(smtp) = &self.smtp else {
            // On the console only, never in the logs: the message may carry a credential (as
            // the first administrator's password, which is printed the same way).
            eprintln!(
                "\nNo mail server is configured ([mail] smtp_url), so this message is printed \
                 instead of sent; pass it on to {to}.\nSubject: {subject}\n\n{body}\n",
                to = letter.to,
                subject = letter.subject,
                body = letter.body
            );
            tracing::warn!(
                to = letter.to,
                subject = letter.subject,
                "a message was printed on the console: no mail server is configured"
            );
            return Ok(Delivery::Printed);
        };
        let to: Mailbox = letter
            .to
            .parse()
            .with_context(|| format!("{:?} is not a mail address", letter.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body)
            .context("building the message")?;
        smtp.send(message)
            .await
            .context("the mail server did not take the message")?;
        Ok(Delivery::Sent)
    }
}
