//! Who is calling: sessions (browser), API tokens (REST clients), local sign-in, and the one
//! authorisation policy.
//!
//! A request is authenticated by an `Authorization: Bearer` API token when it has one,
//! otherwise by its session cookie. Either way it becomes a [`Principal`], which
//! [`policy::authorize`] judges.

pub mod csrf;
pub mod login;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod tokens;

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use tower_sessions::Session;
use uuid::Uuid;

use self::rate_limit::RateLimiter;
use crate::{
    config::AuthConfig,
    db,
    domain::{Role, TenantId, audit::Actor},
    error::ApiError,
};

/// Session keys.
pub(crate) const SESSION_USER: &str = "user_id";
pub(crate) const SESSION_SIGNED_IN_AT: &str = "signed_in_at";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account (for a token, the account that created it).
    pub user_id: Option<Uuid>,
    /// For audit and logs: the email, or `token:<name>`.
    pub label: String,
    pub platform_admin: bool,
    /// A generated one-time password is still in use; nothing is allowed until it is changed.
    pub must_change_password: bool,
    /// The account's roles by tenant id (empty for a token).
    pub memberships: BTreeMap<String, Role>,
    /// For an API token: the only tenant it may act in, and its role there.
    pub token_tenant: Option<(TenantId, Role)>,
    /// Whose request allowance this request uses: `user:<id>` or `token:<hash prefix>`.
    pub rate_key: String,
}

impl Principal {
    /// The principal's role in `tenant`, if any.
    pub fn role_in(&self, tenant: &TenantId) -> Option<Role> {
        match &self.token_tenant {
            Some((scope, role)) => (scope == tenant).then_some(*role),
            None => self.memberships.get(tenant.as_str()).copied(),
        }
    }
}

/// What auth needs from the application state.
#[derive(Debug, Clone)]
pub struct AuthState {
    pub pool: PgPool,
    pub config: AuthConfig,
    pub limiter: Arc<RateLimiter>,
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.chars().take(512).collect::<String>())
        };
        Ok(RequestMeta {
            ip: parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip().to_string()),
            user_agent: header(header::USER_AGENT.as_str()),
            request_id: header("x-request-id"),
        })
    }
}

impl RequestMeta {
    /// The audit actor for `principal` making this request.
    pub fn actor(&self, principal: &Principal) -> Actor {
        Actor {
            user_id: principal.user_id,
            label: principal.label.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            correlation_id: self.request_id.clone(),
        }
    }
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
        let user_id = session_user(&session, &auth.config).await?;
        limit(&auth, load_user(&auth.pool, user_id).await?)
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

/// The signed-in user of a session, enforcing the absolute session lifetime (the idle one is
/// the cookie's and the store's expiry).
pub async fn session_user(session: &Session, config: &AuthConfig) -> Result<Uuid, ApiError> {
    let Some(user_id) = session.get::<Uuid>(SESSION_USER).await? else {
        return Err(ApiError::Unauthenticated);
    };
    let signed_in_at: Option<DateTime<Utc>> = session.get(SESSION_SIGNED_IN_AT).await?;
    let fresh = signed_in_at
        .is_some_and(|at| Utc::now() - at < chrono::Duration::hours(config.session_absolute_hours));
    if !fresh {
        session.flush().await?;
        return Err(ApiError::Unauthenticated);
    }
    Ok(user_id)
}

/// The account's principal: its flags and memberships.
pub async fn load_user(pool: &PgPool, user_id: Uuid) -> Result<Principal, ApiError> {
    let mut tx = db::begin_platform(pool).await?;
    let row = sqlx::query(
        "select u.email, u.must_change_password, \
         exists (select 1 from platform_admins a where a.user_id = u.id) as platform_admin \
         from users u where u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Unauthenticated)?;
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

/// What `GET /api/v1/me` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: Option<Uuid>,
    pub label: String,
    pub platform_admin: bool,
    pub must_change_password: bool,
    pub memberships: Vec<MembershipView>,
    /// For an API token: the tenant it is scoped to.
    pub token_tenant: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    pub tenant_id: String,
    pub role: Role,
}

impl From<&Principal> for Me {
    fn from(principal: &Principal) -> Self {
        let memberships = match &principal.token_tenant {
            Some((tenant, role)) => vec![MembershipView {
                tenant_id: tenant.as_str().to_owned(),
                role: *role,
            }],
            None => principal
                .memberships
                .iter()
                .map(|(tenant_id, role)| MembershipView {
                    tenant_id: tenant_id.clone(),
                    role: *role,
                })
                .collect(),
        };
        Me {
            user_id: principal.user_id,
            label: principal.label.clone(),
            platform_admin: principal.platform_admin && principal.token_tenant.is_none(),
            must_change_password: principal.must_change_password,
            memberships,
            token_tenant: principal
                .token_tenant
                .as_ref()
                .map(|(tenant, _)| tenant.as_str().to_owned()),
        }
    }
}
