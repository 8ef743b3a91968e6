//! API tokens: `astf_` followed by 64 hex digits of randomness, shown once at creation. Only
//! the SHA-256 of the whole token is stored, so a database leak does not leak usable tokens
//! (and, unlike a password, 256 random bits need no slow hash).
//!
//! A token acts for its creator and never for more: it works only while its creator is a
//! platform administrator or a member of its tenant whose role covers the token's
//! ([`Role::covers`]). Removing the creator, or lowering their role below the token's, stops
//! the token at once, since the check is part of every authentication. Owners list their
//! tenant's tokens (never the secrets) and revoke them.

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

/// A token as its tenant's owners see it: everything but the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// Who created it: the account it acts for. None once that account was deleted.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it works now.
    pub state: TokenState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    Revoked,
    Expired,
    /// Its creator is no longer a member, or no longer holds a role that covers the token's.
    CreatorLacksRole,
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

/// The SQL condition under which the token `t` acts: its creator is a platform administrator, or
/// a member of its tenant whose role covers the token's (as [`Role::covers`]). A macro, so the
/// statements that use it are still single string literals.
macro_rules! creator_holds_role {
    () => {
        "(exists (select 1 from platform_admins a where a.user_id = t.created_by) \
         or exists (select 1 from memberships m where m.user_id = t.created_by \
         and m.tenant_id = t.tenant_id \
         and (m.role = 'owner' or m.role = t.role or t.role = 'viewer')))"
    };
}

/// Creates a token scoped to `tenant` inside its tenant transaction and records it. The caller
/// says what its creator holds: a token never grants more.
pub async fn create(
    conn: &mut PgConnection,
    tenant: &TenantId,
    created_by: Option<Uuid>,
    creator_holds: impl Fn(Role) -> bool,
    new: NewToken,
    actor: &Actor,
) -> domain::Result<CreatedToken> {
    let name = new.name.as_str();
    if created_by.is_none() || !creator_holds(new.role) {
        return Err(FieldError::new(
            "role",
            format!(
                "a token may not grant more than its creator holds; you may not give out {}",
                new.role
            ),
        )
        .into());
    }
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
    let row = sqlx::query(concat!(
        "update api_tokens t set last_used_at = now() \
         where token_hash = $1 and revoked_at is null and expires_at > now() and ",
        creator_holds_role!(),
        " returning id, tenant_id, role, name, created_by"
    ))
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

/// The tenant's tokens, newest first, without their secrets.
pub async fn list(conn: &mut PgConnection, tenant: &TenantId) -> domain::Result<Vec<TokenInfo>> {
    let rows = sqlx::query(concat!(
        "select t.id, t.name, t.role, u.email as created_by, t.created_at, t.expires_at, \
         t.last_used_at, t.revoked_at, \
         case when t.revoked_at is not null then 'revoked' \
              when t.expires_at <= now() then 'expired' \
              when not ",
        creator_holds_role!(),
        " then 'creator_lacks_role' else 'active' end as state \
         from api_tokens t left join users u on u.id = t.created_by \
         where t.tenant_id = $1 order by t.created_at desc, t.id"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            let state: String = row.try_get("state")?;
            Ok(TokenInfo {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                role: role
                    .parse()
                    .map_err(|e: domain::UnknownRole| sqlx::Error::Decode(e.into()))?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                last_used_at: row.try_get("last_used_at")?,
                revoked_at: row.try_get("revoked_at")?,
                state: match state.as_str() {
                    "revoked" => TokenState::Revoked,
                    "expired" => TokenState::Expired,
                    "creator_lacks_role" => TokenState::CreatorLacksRole,
                    _ => TokenState::Active,
                },
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Revokes one of the tenant's tokens and records it; revoking twice is a conflict.
pub async fn revoke(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    actor: &Actor,
) -> domain::Result<()> {
    let revoked = sqlx::query(
        "update api_tokens set revoked_at = now() \
         where tenant_id = $1 and id = $2 and revoked_at is null returning name, role",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = revoked else {
        let exists: bool = sqlx::query_scalar(
            "select exists (select 1 from api_tokens where tenant_id = $1 and id = $2)",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        return Err(if exists {
            domain::DomainError::Conflict("the token is already revoked".to_owned())
        } else {
            domain::DomainError::NotFound("token")
        });
    };
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::TokenRevoke,
            target_id: &id.to_string(),
            before: Some(json!({ "name": name, "role": role })),
            after: None,
        },
    )
    .await?;
    Ok(())
}
