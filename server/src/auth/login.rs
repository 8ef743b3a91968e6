//! Local sign-in with email and password, lockout after repeated failures, sign-out and
//! password change.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sqlx::{PgPool, Row};
use tower_sessions::Session;
use uuid::Uuid;

use super::{SESSION_SIGNED_IN_AT, SESSION_USER, password};
use crate::{config::AuthConfig, db, domain::FieldError, error::ApiError};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// How long the account stays locked after its `failures`-th consecutive failure: nothing
/// below the threshold, then `lockout_secs`, doubling with every further failure, at most an
/// hour.
pub fn lockout(config: &AuthConfig, failures: i32) -> Option<Duration> {
    if failures < config.max_failed_logins {
        return None;
    }
    let over = failures - config.max_failed_logins;
    let secs = config
        .lockout_secs
        .saturating_mul(1_i64 << over.clamp(0, 20))
        .min(3600);
    Some(Duration::seconds(secs))
}

/// Checks the credentials and returns the account's id. The account row stays locked while
/// the hash is checked, so parallel guesses against one account are counted one by one.
pub async fn check_credentials(
    pool: &PgPool,
    config: &AuthConfig,
    credentials: Credentials,
) -> Result<Uuid, ApiError> {
    let mut tx = db::begin_platform(pool).await?;
    let email = credentials.email.trim();
    // PostgreSQL text cannot hold NUL, so no account has such an email: answer like any other
    // unknown address instead of sending a query the database refuses.
    let row = if email.contains('\0') {
        None
    } else {
        sqlx::query(
            "select id, password_hash, failed_logins, locked_until from users \
             where lower(email) = lower($1) for no key update",
        )
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?
    };
    let Some(row) = row else {
        // Same work as for a real account, so timing does not reveal which emails exist.
        password::verify(credentials.password, None).await?;
        return Err(ApiError::BadCredentials);
    };
    let user_id: Uuid = row.try_get("id")?;
    let locked_until: Option<DateTime<Utc>> = row.try_get("locked_until")?;
    if let Some(until) = locked_until
        && until > Utc::now()
    {
        let retry_after_secs =
            u64::try_from((until - Utc::now()).num_seconds().max(1)).unwrap_or(1);
        return Err(ApiError::Locked { retry_after_secs });
    }
    let hash: Option<String> = row.try_get("password_hash")?;
    if password::verify(credentials.password, hash).await? {
        sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(user_id);
    }
    let failures = row.try_get::<i32, _>("failed_logins")?.saturating_add(1);
    let locked_until = lockout(config, failures).map(|duration| Utc::now() + duration);
    sqlx::query("update users set failed_logins = $2, locked_until = $3 where id = $1")
        .bind(user_id)
        .bind(failures)
        .bind(locked_until)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user_id, failures, locked = locked_until.is_some(), "failed sign-in");
    Err(ApiError::BadCredentials)
}

/// Starts a session for `user_id` under a new session id (so an id planted before sign-in is
/// worthless afterwards).
pub async fn start_session(session: &Session, user_id: Uuid) -> Result<(), ApiError> {
    session.cycle_id().await?;
    session.insert(SESSION_USER, user_id).await?;
    session.insert(SESSION_SIGNED_IN_AT, Utc::now()).await?;
    Ok(())
}

/// Ends the session and deletes it from the store.
pub async fn end_session(session: &Session) -> Result<(), ApiError> {
    session.flush().await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// Replaces the user's password after checking the current one; clears the one-time flag.
pub async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    change: PasswordChange,
) -> Result<(), ApiError> {
    password::check_strength(&change.new_password)
        .map_err(|message| FieldError::new("new_password", message))?;
    if change.new_password == change.current_password {
        return Err(
            FieldError::new("new_password", "must differ from the current password").into(),
        );
    }
    let mut tx = db::begin_platform(pool).await?;
    let hash: Option<String> =
        sqlx::query_scalar("select password_hash from users where id = $1 for no key update")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    if !password::verify(change.current_password, hash).await? {
        return Err(ApiError::BadCredentials);
    }
    let new_hash = password::hash(change.new_password).await?;
    sqlx::query(
        "update users set password_hash = $2, must_change_password = false, failed_logins = 0, \
         locked_until = null where id = $1",
    )
    .bind(user_id)
    .bind(new_hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_threshold_and_doubles_up_to_an_hour() {
        let config = AuthConfig::default();
        assert_eq!(lockout(&config, 4), None);
        assert_eq!(lockout(&config, 5), Some(Duration::seconds(30)));
        assert_eq!(lockout(&config, 6), Some(Duration::seconds(60)));
        assert_eq!(lockout(&config, 40), Some(Duration::seconds(3600)));
    }
}
