//! Environments: where a tenant's deployments go (dev, staging, prod), each with its engine
//! (the embedded one, or an external Zeebe cluster) and its approval policy. The job types a
//! tenant's workflows may use are checked against the engines' workers here too.
//!
//! The feature's parts: [`store`] (the SQL), [`service`] (what a caller may do), [`routes`]
//! (the REST API).

pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{FieldError, Result, Role, TenantId};

/// An environment's engine and approval policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Environment {
    pub id: Uuid,
    pub tenant_id: String,
    pub name: String,
    /// Promotion order: dev 1, staging 2, prod 3.
    pub position: i32,
    pub engine: EngineSettings,
    pub approvals_required: i32,
    pub approver_roles: Vec<Role>,
    pub require_owner_approval: bool,
    /// When the ingest token of its exporter was made (`None`: it has none).
    pub ingest_token_created_at: Option<DateTime<Utc>>,
    /// Where Zeebe workers reach an embedded engine that is running (`host:port` of its
    /// gateway), for a local installation's workers.
    pub gateway_address: Option<String>,
}

/// The engine an environment deploys to. The client secret is write-only: it is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineSettings {
    /// The server's own engine for this environment.
    Embedded,
    /// A Zeebe gateway such as a Camunda 8 cluster.
    External {
        address: String,
        oauth_token_url: Option<String>,
        oauth_client_id: Option<String>,
        oauth_audience: Option<String>,
        /// Whether a client secret is stored.
        has_client_secret: bool,
        /// The tenant id the engine is called with (`<default>` for a cluster without
        /// multi-tenancy).
        tenant_id: String,
    },
}

/// What `PUT /api/v1/tenants/{tenant}/environments/{name}` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentUpdate {
    #[serde(deserialize_with = "crate::domain::integer::deserialize")]
    #[schema(minimum = 0, maximum = 10)]
    pub approvals_required: i32,
    #[schema(min_items = 1)]
    pub approver_roles: Vec<Role>,
    pub require_owner_approval: bool,
    /// `embedded`, or `external` with an address.
    #[schema(pattern = "^(embedded|external)$")]
    pub engine_kind: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub engine_address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_token_url: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_client_id: Option<String>,
    /// Left out: the stored secret stays, as long as the address, token URL and client id
    /// stay the same (a secret is never sent anywhere it was not entered for).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub oauth_client_secret: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_audience: Option<String>,
    /// For an external engine: the tenant id to call it with; `<default>` (the default) for a
    /// cluster without multi-tenancy.
    #[serde(default)]
    #[schema(pattern = r"^(<default>|[A-Za-z0-9._-]{1,31})$")]
    pub engine_tenant_id: Option<String>,
}

/// The tenant id an environment's engine is called with: the tenant's own in the embedded
/// engines (shared by all tenants), the configured one (by default `<default>`) outside.
pub fn engine_tenant(environment: &Environment, tenant: &TenantId) -> TenantId {
    match &environment.engine {
        EngineSettings::Embedded => tenant.clone(),
        EngineSettings::External { tenant_id, .. } => {
            TenantId::new(tenant_id).unwrap_or_else(|_| tenant.clone())
        }
    }
}

fn optional_text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let value = value.filter(|value| !value.is_empty());
    if let Some(value) = &value
        && (value.chars().count() > max || value.chars().any(char::is_control))
    {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters without control characters"),
        )
        .into());
    }
    Ok(value)
}

fn validate_url(field: &str, value: &str) -> Result<()> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(FieldError::new(field, "must be an http:// or https:// URL").into()),
    }
}
