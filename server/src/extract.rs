//! Path extractors for the REST handlers. An id in the path that could never exist is simply
//! "not found", as a well-formed id of something that does not exist is: the API never says
//! more about another tenant's resources than that.

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use uuid::Uuid;

use crate::{
    domain::TenantId,
    error::{ApiError, Result},
};

/// The path parameter `name`, percent-decoded; `None` when the route has no such parameter or
/// its value is not UTF-8 once decoded.
async fn param<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A tenant id from outside (a path, a form); one that could never exist is simply not found.
pub fn tenant_id(raw: &str) -> Result<TenantId> {
    TenantId::new(raw).map_err(|_| ApiError::NotFound("tenant"))
}

/// `{tenant}` of the path.
#[derive(Debug, Clone)]
pub struct TenantPath(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let raw = param(parts, state, "tenant").await.unwrap_or_default();
        tenant_id(&raw).map(TenantPath)
    }
}

/// Declares an extractor for a UUID path parameter that answers "`what` not found" when the
/// parameter is not a UUID.
macro_rules! uuid_path {
    ($(#[$doc:meta])* $name:ident, $param:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub Uuid);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
                param(parts, state, $param)
                    .await
                    .and_then(|raw| raw.parse().ok())
                    .map($name)
                    .ok_or(ApiError::NotFound($what))
            }
        }
    };
}

uuid_path!(
    /// `{workflow}` of the path.
    WorkflowPath, "workflow", "workflow"
);
uuid_path!(
    /// `{deployment}` of the path.
    DeploymentPath, "deployment", "deployment"
);
uuid_path!(
    /// `{user}` of the path: a member of the tenant.
    MemberPath, "user", "member"
);
uuid_path!(
    /// `{token}` of the path: an API token's id (never its secret).
    TokenPath, "token", "token"
);

/// `{environment}` of the path.
#[derive(Debug, Clone)]
pub struct EnvironmentPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for EnvironmentPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        param(parts, state, "environment")
            .await
            .map(EnvironmentPath)
            .ok_or(ApiError::NotFound("environment"))
    }
}
