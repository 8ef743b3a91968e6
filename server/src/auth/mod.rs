//! Who is calling: sessions (browser), API tokens (REST clients), local sign-in, and the one
//! authorisation policy.
//!
//! A request is authenticated by an `Authorization: Bearer` API token when it has one,
//! otherwise by its session cookie. Either way it becomes a [`Principal`], which
//! [`policy::authorize`] judges.

pub mod csrf;
pub mod links;
pub mod login;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod principal;
pub mod rate_limit;
pub mod routes;
pub mod service;
pub mod tokens;

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};
use tower_sessions::Session;
use uuid::Uuid;

pub use self::principal::{Me, MembershipView, Principal, RequestMeta};
use self::rate_limit::RateLimiter;
use crate::{config::AuthConfig, db, error::ApiError};

/// Session keys.
pub(crate) const SESSION_USER: &str = "user_id";
pub(crate) const SESSION_SIGNED_IN_AT: &str = "signed_in_at";

/// What auth needs from the application state.
#[derive(Debug, Clone)]
pub struct AuthState {
    pub pool: PgPool,
    pub config: AuthConfig,
    pub limiter: Arc<RateLimiter>,
    /// Sign-in attempts per client address and per account.
    pub sign_in: Arc<rate_limit::SignInLimits>,
    /// One-time links that set a password, and the mail that carries them.
    pub links: Arc<links::PasswordLinks>,
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthState::from_ref(state);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or(ApiError::Unauthenticated)?;
            let principal = tokens::authenticate(&auth.pool, token.trim()).await?;
            return limit(&auth, principal);
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Unauthenticated)?;
        let signed_in = session_user(&session, &auth.config).await?;
        limit(
            &auth,
            load_session_user(&auth.pool, &session, signed_in).await?,
        )
    }
}

/// Counts the request against the principal's allowance.
fn limit(auth: &AuthState, principal: Principal) -> Result<Principal, ApiError> {
    match auth.limiter.check(&principal.rate_key) {
        Ok(()) => Ok(principal),
        Err(wait) => Err(ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0),
        }),
    }
}

/// Who a session was signed in for, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

/// The signed-in user of a session, enforcing the absolute session lifetime (the idle one is
/// the cookie's and the store's expiry).
pub async fn session_user(session: &Session, config: &AuthConfig) -> Result<SignedIn, ApiError> {
    let Some(user_id) = session.get::<Uuid>(SESSION_USER).await? else {
        return Err(ApiError::Unauthenticated);
    };
    let signed_in_at: Option<DateTime<Utc>> = session.get(SESSION_SIGNED_IN_AT).await?;
    let Some(at) = signed_in_at
        .filter(|at| Utc::now() - *at < chrono::Duration::hours(config.session_absolute_hours))
    else {
        session.flush().await?;
        return Err(ApiError::Unauthenticated);
    };
    Ok(SignedIn { user_id, at })
}

/// The principal of a session, which ends here if it began before the account's sessions were
/// ended (a password change ends every other session of the account).
pub async fn load_session_user(
    pool: &PgPool,
    session: &Session,
    signed_in: SignedIn,
) -> Result<Principal, ApiError> {
    match load(pool, signed_in.user_id, Some(signed_in.at)).await {
        Err(ApiError::Unauthenticated) => {
            session.flush().await?;
            Err(ApiError::Unauthenticated)
        }
        other => other,
    }
}

/// The account's principal: its flags and memberships.
pub async fn load_user(pool: &PgPool, user_id: Uuid) -> Result<Principal, ApiError> {
    load(pool, user_id, None).await
}

/// The account's principal, read afresh on every request (so a removed membership or a changed
/// role counts at once); with `signed_in_at`, only for a session that is still valid.
pub(crate) async fn load(
    pool: &PgPool,
    user_id: Uuid,
    signed_in_at: Option<DateTime<Utc>>,
) -> Result<Principal, ApiError> {
    let mut tx = db::begin_platform(pool).await?;
    let row = sqlx::query(
        "select u.email, u.must_change_password, u.sessions_valid_after, \
         exists (select 1 from platform_admins a where a.user_id = u.id) as platform_admin \
         from users u where u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Unauthenticated)?;
    let valid_after: Option<DateTime<Utc>> = row.try_get("sessions_valid_after")?;
    if let (Some(at), Some(valid_after)) = (signed_in_at, valid_after)
        && at < valid_after
    {
        return Err(ApiError::Unauthenticated);
    }
    let memberships = sqlx::query("select tenant_id, role from memberships where user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter_map(|row| {
            let tenant: String = row.try_get("tenant_id").ok()?;
            let role: String = row.try_get("role").ok()?;
            Some((tenant, role.parse().ok()?))
        })
        .collect();
    tx.commit().await?;
    Ok(Principal {
        user_id: Some(user_id),
        label: row.try_get("email")?,
        platform_admin: row.try_get("platform_admin")?,
        must_change_password: row.try_get("must_change_password")?,
        memberships,
        token_tenant: None,
        rate_key: format!("user:{user_id}"),
    })
}
