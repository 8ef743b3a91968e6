//! API tokens: `astf_` followed by 64 hex digits of randomness, shown once at creation. Only
//! the SHA-256 of the whole token is stored, so a database leak does not leak usable tokens
//! (and, unlike a password, 256 random bits need no slow hash).

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::principal::Principal;
use crate::{
    audit::{self, Actor, AuditAction, Change},
    db,
    domain::{self, FieldError, Role, TenantId},
    error::ApiError,
    tenants,
};

const PREFIX: &str = "astf_";
/// Longest lifetime a token may be given.
pub const MAX_DAYS: i64 = 366;

/// What `POST /api/v1/tenants/{id}/tokens` accepts.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: String,
    pub role: Role,
    /// Days until the token expires, 1 to 366.
    #[serde(deserialize_with = "crate::domain::integer::deserialize")]
    #[schema(minimum = 1, maximum = 366)]
    pub expires_in_days: i64,
}

/// A newly created token; `token` is the only time the secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    pub tenant_id: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub token: String,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token scoped to `tenant` inside its tenant transaction and records it.
pub async fn create(
    conn: &mut PgConnection,
    tenant: &TenantId,
    created_by: Option<Uuid>,
    new: NewToken,
    actor: &Actor,
) -> domain::Result<CreatedToken> {
    let name = new.name.as_str();
    tenants::validate_name("name", name)?;
    if !(1..=MAX_DAYS).contains(&new.expires_in_days) {
        return Err(FieldError::new(
            "expires_in_days",
            format!("must be between 1 and {MAX_DAYS}"),
        )
        .into());
    }
    tenants::store::lock_active(conn, tenant).await?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{PREFIX}{}", hex::encode(secret));
    let expires_at = Utc::now() + Duration::days(new.expires_in_days);
    let id: Uuid = sqlx::query_scalar(
        "insert into api_tokens (tenant_id, created_by, name, role, token_hash, expires_at) \
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(tenant.as_str())
    .bind(created_by)
    .bind(name)
    .bind(new.role.as_str())
    .bind(digest(&token))
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::TokenCreate,
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({ "name": name, "role": new.role, "expires_at": expires_at })),
        },
    )
    .await?;
    Ok(CreatedToken {
        id,
        name: name.to_owned(),
        tenant_id: tenant.as_str().to_owned(),
        role: new.role,
        expires_at,
        token,
    })
}

/// The principal behind a bearer token, recording its use.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Principal, ApiError> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
        return Err(ApiError::Unauthenticated);
    }
    let hash = digest(token);
    let mut tx = db::begin_platform(pool).await?;
    let row = sqlx::query(
        "update api_tokens set last_used_at = now() \
         where token_hash = $1 and revoked_at is null and expires_at > now() \
         returning id, tenant_id, role, name, created_by",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Unauthenticated)?;
    tx.commit().await?;
    let tenant: String = row.try_get("tenant_id")?;
    let role: String = row.try_get("role")?;
    let name: String = row.try_get("name")?;
    Ok(Principal {
        user_id: row.try_get("created_by")?,
        label: format!("token:{name}"),
        platform_admin: false,
        must_change_password: false,
        memberships: Default::default(),
        rate_key: format!("token:{}", hex::encode(&hash[..16])),
        token_tenant: Some((
            TenantId::new(tenant).map_err(|error| ApiError::Internal(error.into()))?,
            role.parse()
                .map_err(|error: domain::UnknownRole| ApiError::Internal(error.into()))?,
        )),
    })
}
