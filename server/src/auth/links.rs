//! One-time links that set an account's password.
//!
//! An account a tenant creates by adding a new email has no password: whoever adds a member
//! must not be able to sign in as them, or the next tenant that adds the same person would
//! put them into an account someone else controls. The person gets a link instead, by mail
//! (or on the console of an install without a mail server, see [`crate::mail`]), and chooses
//! a password there. A platform administrator can send a fresh link to any account, which is
//! also how a forgotten password is reset.
//!
//! The link carries 256 random bits; only their SHA-256 is stored. A link works once, until it
//! expires, and sending a new link voids the account's older ones. Using it ends every session
//! the account had.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::password;
use crate::{
    db,
    domain::FieldError,
    error::ApiError,
    mail::{Delivery, Letter, Postman},
};

/// The page a link opens; it takes the secret from `?token=`.
pub const PAGE: &str = "/set-password";

/// Issues and sends links, and redeems them.
#[derive(Debug)]
pub struct PasswordLinks {
    postman: Postman,
    /// This server as users reach it, without a trailing slash.
    base_url: String,
    lifetime: Duration,
}

/// A link made in a transaction, to be sent once that transaction has committed.
#[must_use = "a link nobody receives is of no use: send it after the commit"]
pub struct Unsent {
    pub email: String,
    secret: String,
    pub expires_at: DateTime<Utc>,
}

/// What `POST /api/v1/auth/set-password` accepts.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The secret from the link (`token=` in its query).
    #[schema(min_length = 1, max_length = 100)]
    pub token: String,
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

impl PasswordLinks {
    pub fn new(postman: Postman, base_url: &str, lifetime_hours: i64) -> Self {
        Self {
            postman,
            base_url: base_url.trim_end_matches('/').to_owned(),
            lifetime: Duration::hours(lifetime_hours.clamp(1, 24 * 30)),
        }
    }

    /// In the tenant transaction that created the account `user_id` for `email` (and nowhere
    /// else: the database refuses a link for any account that existed before the
    /// transaction or has a password).
    pub async fn issue_for_new_account(
        &self,
        conn: &mut PgConnection,
        user_id: Uuid,
        email: &str,
    ) -> Result<Unsent, ApiError> {
        let (secret, hash) = new_secret();
        let expires_at = Utc::now() + self.lifetime;
        let issued: bool = sqlx::query_scalar("select issue_first_password_link($1, $2, $3)")
            .bind(user_id)
            .bind(hash.as_slice())
            .bind(expires_at)
            .fetch_one(&mut *conn)
            .await?;
        if !issued {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "the new account {user_id} could not be given a link to set its password"
            )));
        }
        Ok(Unsent {
            email: email.to_owned(),
            secret,
            expires_at,
        })
    }

    /// A fresh link for the account with `email`, voiding its older ones; for platform
    /// administrators. `None` when there is no such account.
    pub async fn issue_by_admin(
        &self,
        pool: &PgPool,
        email: &str,
    ) -> Result<Option<Unsent>, ApiError> {
        let (secret, hash) = new_secret();
        let expires_at = Utc::now() + self.lifetime;
        let mut tx = db::begin_platform(pool).await?;
        let account: Option<(Uuid, String)> =
            sqlx::query_as("select id, email from users where lower(email) = lower($1)")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((user_id, email)) = account else {
            return Ok(None);
        };
        void_links(&mut tx, user_id).await?;
        sqlx::query(
            "insert into password_links (token_hash, user_id, expires_at) values ($1, $2, $3)",
        )
        .bind(hash.as_slice())
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Unsent {
            email,
            secret,
            expires_at,
        }))
    }

    /// Sends a link made by one of the `issue_…` methods. A failure is logged, not returned:
    /// the account exists either way, and a platform administrator can send another link.
    pub async fn send(&self, link: Unsent) -> Option<Delivery> {
        let url = self.url(&link);
        let letter = Letter {
            to: &link.email,
            subject: "Set your ASTRAflow password",
            body: format!(
                "An ASTRAflow account was opened for {email}, or a new password was asked for \
                 it.\n\nChoose a password here (the link works once, until {expires} UTC):\n\n\
                 {url}\n\nIf you did not expect this, ignore it: nothing changes until the link \
                 is used.\n",
                email = link.email,
                expires = link.expires_at.format("%Y-%m-%d %H:%M"),
            ),
        };
        match self.postman.deliver(letter).await {
            Ok(delivery) => Some(delivery),
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    to = link.email,
                    "a link to set a password could not be sent; a platform administrator can \
                     send another"
                );
                None
            }
        }
    }

    /// The URL of a link, for the platform administrator who asked for it.
    pub fn url(&self, link: &Unsent) -> String {
        format!("{}{PAGE}?token={}", self.base_url, link.secret)
    }
}

/// Sets the password of the account a link belongs to and uses the link up; every session of
/// the account ends, and the account is unlocked. The same answer for a link that never
/// existed, was used or expired, so a guess learns nothing.
pub async fn redeem(pool: &PgPool, request: SetPassword) -> Result<Uuid, ApiError> {
    password::check_strength(&request.new_password)
        .map_err(|message| FieldError::new("new_password", message))?;
    let hash = hash_of(&request.token);
    // A cheap look first, so a made-up link costs no password hash; the hash then runs with
    // no connection held, and the link is taken only if it is still unused.
    let mut tx = db::begin_platform(pool).await?;
    let valid: bool = sqlx::query_scalar(
        "select exists (select 1 from password_links \
         where token_hash = $1 and used_at is null and expires_at > now())",
    )
    .bind(hash.as_slice())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if !valid {
        return Err(invalid_link());
    }
    let new_hash = password::hash(request.new_password).await?;
    let mut tx = db::begin_platform(pool).await?;
    let user_id: Uuid = sqlx::query_scalar(
        "update password_links set used_at = now() \
         where token_hash = $1 and used_at is null and expires_at > now() \
         returning user_id",
    )
    .bind(hash.as_slice())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(invalid_link)?;
    void_links(&mut tx, user_id).await?;
    sqlx::query(
        "update users set password_hash = $2, must_change_password = false, failed_logins = 0, \
         locked_until = null, sessions_valid_after = now() where id = $1",
    )
    .bind(user_id)
    .bind(new_hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user_id, "password set through a one-time link");
    Ok(user_id)
}

fn invalid_link() -> ApiError {
    ApiError::InvalidLink
}

async fn void_links(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update password_links set used_at = now() where user_id = $1 and used_at is null")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

fn new_secret() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_of(&secret);
    (secret, hash)
}

fn hash_of(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_url_safe_and_distinct() {
        let (a, hash_a) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash_a, hash_of(&a));
    }
}
