//! The environments' SQL.

use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::*;
use crate::{
    audit::{self, Actor, AuditAction, Change},
    domain::{DomainError, Result, Role, TenantId},
    tenants::store::lock_active,
};

const ENVIRONMENT_COLUMNS: &str = "id, tenant_id, name, position, engine_kind, engine_address, \
    oauth_token_url, oauth_client_id, oauth_client_secret is not null as has_client_secret, \
    oauth_audience, engine_tenant_id, approvals_required, approver_roles, require_owner_approval, \
    ingest_token_created_at";

fn environment_from_row(row: &PgRow) -> Result<Environment> {
    let kind: String = row.try_get("engine_kind")?;
    let engine = if kind == "external" {
        EngineSettings::External {
            address: row.try_get("engine_address")?,
            oauth_token_url: row.try_get("oauth_token_url")?,
            oauth_client_id: row.try_get("oauth_client_id")?,
            oauth_audience: row.try_get("oauth_audience")?,
            has_client_secret: row.try_get("has_client_secret")?,
            tenant_id: row
                .try_get::<Option<String>, _>("engine_tenant_id")?
                .unwrap_or_else(|| "<default>".to_owned()),
        }
    } else {
        EngineSettings::Embedded
    };
    let roles: Vec<String> = row.try_get("approver_roles")?;
    Ok(Environment {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        position: row.try_get("position")?,
        engine,
        approvals_required: row.try_get("approvals_required")?,
        approver_roles: roles.iter().filter_map(|role| role.parse().ok()).collect(),
        require_owner_approval: row.try_get("require_owner_approval")?,
        ingest_token_created_at: row.try_get("ingest_token_created_at")?,
        gateway_address: None,
    })
}

/// The default environments of a new tenant: dev deploys at once, staging needs one approval,
/// prod two including an owner's.
pub async fn create_default_environments(conn: &mut PgConnection, tenant: &TenantId) -> Result<()> {
    sqlx::query(
        "insert into environments \
         (tenant_id, name, position, approvals_required, require_owner_approval) \
         values ($1, 'dev', 1, 0, false), ($1, 'staging', 2, 1, false), ($1, 'prod', 3, 2, true)",
    )
    .bind(tenant.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The environment with id `id`, if this transaction can see it.
pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Environment> {
    let row = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("environment"))?;
    environment_from_row(&row)
}

pub async fn environments(conn: &mut PgConnection, tenant: &TenantId) -> Result<Vec<Environment>> {
    let rows = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where tenant_id = $1 order by position"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(environment_from_row).collect()
}

pub async fn environment(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
) -> Result<Environment> {
    let row = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where tenant_id = $1 and name = $2"
    ))
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("environment"))?;
    environment_from_row(&row)
}

/// Whether deployments to `environment` wait for approvals, read with its row locked against
/// a concurrent policy change until the transaction ends.
pub async fn needs_approval(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
) -> Result<bool> {
    let required: i32 = sqlx::query_scalar(
        "select approvals_required from environments where tenant_id = $1 and name = $2 \
         for share",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("environment"))?;
    Ok(required > 0)
}

/// The engine target and, for an external one, its secret, for the pipeline.
pub async fn engine_secret(conn: &mut PgConnection, environment: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select oauth_client_secret from environments where id = $1")
            .bind(environment)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

pub async fn update_environment(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
    update: EnvironmentUpdate,
    actor: &Actor,
) -> Result<Environment> {
    if !(0..=10).contains(&update.approvals_required) {
        return Err(FieldError::new("approvals_required", "must be between 0 and 10").into());
    }
    if update.approver_roles.is_empty() {
        return Err(FieldError::new("approver_roles", "name at least one role").into());
    }
    if update.require_owner_approval && !update.approver_roles.contains(&Role::Owner) {
        return Err(FieldError::new(
            "approver_roles",
            "an owner's approval is required, so owners must be among the approvers",
        )
        .into());
    }
    let engine_tenant = optional_text("engine_tenant_id", update.engine_tenant_id, 31)?;
    if let Some(engine_tenant) = &engine_tenant
        && engine_tenant != "<default>"
        && TenantId::new(engine_tenant).is_err()
    {
        return Err(FieldError::new(
            "engine_tenant_id",
            "must be <default> or at most 31 of A-Z a-z 0-9 . _ -",
        )
        .into());
    }
    let address = optional_text("engine_address", update.engine_address, 500)?;
    let token_url = optional_text("oauth_token_url", update.oauth_token_url, 500)?;
    let client_id = optional_text("oauth_client_id", update.oauth_client_id, 500)?;
    let secret = optional_text("oauth_client_secret", update.oauth_client_secret, 2000)?;
    let audience = optional_text("oauth_audience", update.oauth_audience, 500)?;
    let external = match update.engine_kind.as_str() {
        "embedded" => false,
        "external" => true,
        _ => {
            return Err(FieldError::new("engine_kind", "must be embedded or external").into());
        }
    };
    if external {
        let Some(address) = &address else {
            return Err(FieldError::new(
                "engine_address",
                "an external engine needs the gateway's address",
            )
            .into());
        };
        validate_url("engine_address", address)?;
        if let Some(token_url) = &token_url {
            validate_url("oauth_token_url", token_url)?;
            if client_id.is_none() {
                return Err(FieldError::new(
                    "oauth_client_id",
                    "OAuth needs a client id with the token URL",
                )
                .into());
            }
        }
    }
    lock_active(conn, tenant).await?;
    let before = environment(conn, tenant, name).await?;
    let mut roles: Vec<&str> = update
        .approver_roles
        .iter()
        .map(|role| role.as_str())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    sqlx::query(
        "update environments set approvals_required = $3, approver_roles = $4, \
         require_owner_approval = $5, engine_kind = $6, engine_address = $7, \
         oauth_token_url = $8, oauth_client_id = $9, \
         oauth_client_secret = case \
             when $6 = 'embedded' then null \
             when $10::text is not null then $10 \
             when (engine_address, oauth_token_url, oauth_client_id) \
                  is not distinct from ($7, $8, $9) then oauth_client_secret \
             else null end, \
         oauth_audience = $11, engine_tenant_id = $12, updated_at = now() \
         where tenant_id = $1 and name = $2",
    )
    .bind(tenant.as_str())
    .bind(name)
    .bind(update.approvals_required)
    .bind(&roles)
    .bind(update.require_owner_approval)
    .bind(&update.engine_kind)
    .bind(address.filter(|_| external))
    .bind(token_url.filter(|_| external))
    .bind(client_id.filter(|_| external))
    .bind(secret.filter(|_| external))
    .bind(audience.filter(|_| external))
    .bind(engine_tenant.filter(|_| external))
    .execute(&mut *conn)
    .await?;
    let after = environment(conn, tenant, name).await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::EnvironmentUpdate,
            target_id: name,
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(&after).unwrap_or_default()),
        },
    )
    .await?;
    Ok(after)
}
