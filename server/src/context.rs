//! The request context every service takes: who asks ([`Principal`]), from where
//! ([`RequestMeta`], for the audit trail), and the database.
//!
//! Services are plain async functions `fn(&Ctx, typed command) -> Result<domain type>`; the
//! REST handlers and the pages' server functions both build a [`Ctx`] and call them, so a rule
//! lives in one place whichever way a request arrives. [`Ctx::tenant_tx`] is the one way into
//! a tenant's data: it authorises the action and opens the tenant's row-level-security
//! transaction.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use sqlx::{PgPool, Postgres, Transaction};

use crate::{
    audit::Actor,
    auth::{
        AuthState, Principal, RequestMeta,
        policy::{Action, Denied, Resource, authorize},
    },
    db,
    domain::{FieldError, TenantId},
    error::{ApiError, Result},
};

/// A transaction of the request: a tenant's (row-level security) or the platform's.
pub type Tx = Transaction<'static, Postgres>;

/// Who is asking, from where, and the database.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub pool: PgPool,
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl Ctx {
    pub fn new(pool: PgPool, principal: Principal, meta: RequestMeta) -> Self {
        Self {
            pool,
            principal,
            meta,
        }
    }

    /// The audit trail's actor for this request.
    pub fn actor(&self) -> Actor {
        self.meta.actor(&self.principal)
    }

    pub fn authorize(&self, action: Action, resource: Resource<'_>) -> Result<()> {
        Ok(authorize(&self.principal, action, resource)?)
    }

    /// Whether the principal may do `action` to `resource`, without failing.
    pub fn may(&self, action: Action, resource: Resource<'_>) -> bool {
        authorize(&self.principal, action, resource).is_ok()
    }

    /// Authorises `action` in `tenant`, then opens the tenant's transaction.
    pub async fn tenant_tx(&self, action: Action, tenant: &TenantId) -> Result<Tx> {
        self.authorize(action, Resource::Tenant(tenant))?;
        self.begin_tenant(tenant).await
    }

    /// Opens the tenant's transaction; the caller has authorised already.
    pub async fn begin_tenant(&self, tenant: &TenantId) -> Result<Tx> {
        Ok(db::begin_tenant(&self.pool, tenant, self.principal.user_id).await?)
    }

    /// Opens a transaction across tenants; the caller has authorised already.
    pub async fn platform_tx(&self) -> Result<Tx> {
        Ok(db::begin_platform(&self.pool).await?)
    }

    /// The tenant a new resource goes to, or a list is read from: the one named, else the
    /// API token's, else the caller's only tenant.
    pub fn chosen_tenant(&self, named: Option<&str>) -> Result<TenantId> {
        let principal = &self.principal;
        let named = match named {
            Some(named) => Some(named.to_owned()),
            None => match (&principal.token_tenant, principal.memberships.len()) {
                (Some((tenant, _)), _) => Some(tenant.as_str().to_owned()),
                (None, 1) => principal.memberships.keys().next().cloned(),
                _ => None,
            },
        };
        let named = named.ok_or_else(|| {
            ApiError::Invalid(FieldError::new(
                "tenant",
                "name the tenant (you belong to more than one, or to none)",
            ))
        })?;
        crate::extract::tenant_id(&named)
    }

    /// For a resource addressed by its own id (a workflow, a deployment) in `tenant`:
    /// authorises `action`, and answers "`what` not found" to a caller who is not a member,
    /// so ids of other tenants cannot be probed.
    pub fn authorize_hidden(
        &self,
        action: Action,
        tenant: &TenantId,
        what: &'static str,
    ) -> Result<()> {
        authorize(
            &self.principal,
            Action::ReadWorkflows,
            Resource::Tenant(tenant),
        )
        .map_err(|denied| match denied {
            Denied::NotAMember => ApiError::NotFound(what),
            other => other.into(),
        })?;
        self.authorize(action, Resource::Tenant(tenant))
    }
}

impl<S> FromRequestParts<S> for Ctx
where
    S: Send + Sync,
    AuthState: FromRef<S>,
    PgPool: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        Ok(Ctx::new(PgPool::from_ref(state), principal, meta))
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotAMember => ApiError::NotFound("tenant"),
            other => ApiError::Forbidden(other.to_string()),
        }
    }
}
