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

/// Checks the credentials and returns the account's id.
///
/// No connection is held while the password is hashed: the account is read in one short
/// transaction and the outcome recorded in another, so a burst of wrong passwords cannot take
/// the pool from everyone else. Failures are counted with an atomic increment, so parallel
/// guesses against one account are all counted; the per-account sign-in limit (checked by the
/// caller before this) bounds how many run at once.
pub async fn check_credentials(
    pool: &PgPool,
    config: &AuthConfig,
    credentials: Credentials,
) -> Result<Uuid, ApiError> {
    let email = credentials.email.trim();
    // PostgreSQL text cannot hold NUL, so no account has such an email: answer like any other
    // unknown address instead of sending a query the database refuses.
    let row = if email.contains('\0') {
        None
    } else {
        let mut tx = db::begin_platform(pool).await?;
        let row = sqlx::query(
            "select id, password_hash, locked_until from users where lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row
    };
    let Some(row) = row else {
        // One verification, as for a real account, so timing does not reveal which emails
        // exist.
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
        let mut tx = outcome_tx(pool).await?;
        sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(user_id);
    }
    let mut tx = outcome_tx(pool).await?;
    let failures: i32 = sqlx::query_scalar(
        "update users set failed_logins = failed_logins + 1 where id = $1 \
         returning failed_logins",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    let locked_until = lockout(config, failures).map(|duration| Utc::now() + duration);
    if locked_until.is_some() {
        sqlx::query("update users set locked_until = $2 where id = $1")
            .bind(user_id)
            .bind(locked_until)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(user.id = %user_id, failures, locked = locked_until.is_some(), "failed sign-in");
    Err(ApiError::BadCredentials)
}

/// The transaction that records a sign-in's outcome. Its commit does not wait for the WAL to
/// reach the disk: a failure counter lost in a crash costs nothing, while waiting for the flush
/// made a wrong password for a known email take longer than for an unknown one (which writes
/// nothing), telling the two apart.
async fn outcome_tx(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, ApiError> {
    let mut tx = db::begin_platform(pool).await?;
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
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

/// Replaces the user's password after checking the current one; clears the one-time flag and
/// ends every session of the account signed in until now. Returns when that was, for the caller
/// to carry its own session over ([`restart_session`]).
pub async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    change: PasswordChange,
) -> Result<DateTime<Utc>, ApiError> {
    password::check_strength(&change.new_password)
        .map_err(|message| FieldError::new("new_password", message))?;
    if change.new_password == change.current_password {
        return Err(
            FieldError::new("new_password", "must differ from the current password").into(),
        );
    }
    let mut tx = db::begin_platform(pool).await?;
    let hash: Option<String> = sqlx::query_scalar("select password_hash from users where id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    tx.commit().await?;
    // Both hashes run with no connection held; the update then applies only if the password
    // is still the one just checked.
    if !password::verify(change.current_password, hash.clone()).await? {
        return Err(ApiError::BadCredentials);
    }
    let new_hash = password::hash(change.new_password).await?;
    let mut tx = db::begin_platform(pool).await?;
    let ended: Option<DateTime<Utc>> = sqlx::query_scalar(
        "update users set password_hash = $2, must_change_password = false, failed_logins = 0, \
         locked_until = null, sessions_valid_after = now() \
         where id = $1 and password_hash is not distinct from $3 \
         returning sessions_valid_after",
    )
    .bind(user_id)
    .bind(new_hash)
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    ended.ok_or_else(|| {
        ApiError::Conflict("the password was changed meanwhile; sign in again".to_owned())
    })
}

/// Carries the caller's own session over a password change: a new session id (whoever held
/// the old one holds nothing now) signed in as of `at`, when the account's other sessions
/// ended.
pub async fn restart_session(session: &Session, at: DateTime<Utc>) -> Result<(), ApiError> {
    session.cycle_id().await?;
    session.insert(SESSION_SIGNED_IN_AT, at).await?;
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
