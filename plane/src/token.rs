//! Access tokens for the gateway: OAuth 2.0 client credentials, fetched once, kept until
//! shortly before they expire, and fetched again at once when the gateway says a token is no
//! longer good (`UNAUTHENTICATED`, after a key rotation say).

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::OAuthConfig;

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the token endpoint refused the plane's credentials (HTTP {status}): {error}")]
    Refused { status: u16, error: String },
}

#[derive(Deserialize)]
struct Issued {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct Refusal {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// The plane's source of bearer tokens; `None` tokens when the gateway needs none.
pub struct Tokens {
    http: reqwest::Client,
    url: String,
    client_id: String,
    secret: Option<SecretString>,
    audience: Option<String>,
    cached: Mutex<Option<(String, Instant)>>,
}

impl Tokens {
    #[must_use]
    pub fn new(config: &OAuthConfig) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("a plain HTTP client builds"),
            url: config.token_url.clone(),
            client_id: config.client_id.clone(),
            secret: config.client_secret.clone(),
            audience: config.audience.clone(),
            cached: Mutex::new(None),
        }
    }

    /// The `authorization` value for a gateway call, if the gateway wants one.
    ///
    /// # Errors
    /// The token endpoint is unreachable or refuses the credentials.
    pub async fn bearer(&self) -> Result<Option<String>, TokenError> {
        if self.url.is_empty() {
            return Ok(None);
        }
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = &*cached
            && Instant::now() < *until
        {
            return Ok(Some(format!("Bearer {token}")));
        }
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.client_id.clone()),
            (
                "client_secret",
                self.secret
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned())
                    .unwrap_or_default(),
            ),
        ];
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        let response = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let refusal: Refusal = response.json().await.unwrap_or_default();
            return Err(TokenError::Refused {
                status: status.as_u16(),
                error: format!("{} {}", refusal.error, refusal.error_description)
                    .trim()
                    .to_owned(),
            });
        }
        let issued: Issued = response
            .json()
            .await
            .map_err(|e| TokenError::Unreachable(format!("an unreadable answer: {e}")))?;
        // A fifth of the lifetime early (at least ten seconds): calls in flight never carry a
        // token that expires on the way.
        let lifetime = issued.expires_in.unwrap_or(300);
        let early = (lifetime / 5).max(10);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(early));
        let bearer = format!("Bearer {}", issued.access_token);
        *cached = Some((issued.access_token, until));
        Ok(Some(bearer))
    }

    /// Forgets the cached token, so the next call fetches a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}
