//! Who is calling and from where: the [`Principal`] every request is judged as, the
//! [`RequestMeta`] the audit trail records, and [`Me`], the caller as `GET /api/v1/me` shows
//! it.

use std::collections::BTreeMap;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    audit::Actor,
    domain::{Role, TenantId},
};

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
        // The client's address as `security_headers` found it (behind a trusted proxy, the
        // one the proxy names), else the connection's.
        let client = parts
            .extensions
            .get::<crate::security_headers::ClientAddress>()
            .map(|client| client.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<std::net::SocketAddr>>()
                    .map(|ConnectInfo(address)| address.ip())
            });
        Ok(RequestMeta {
            ip: client.map(|ip| ip.to_string()),
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
