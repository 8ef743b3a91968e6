//! The SQL of engine clients and signing keys. Client functions run in a tenant transaction,
//! except [`find_for_token`] and [`touch`], which the token endpoint calls before it knows
//! the tenant (a platform transaction); key functions need a platform transaction, the only
//! role that can read `oauth_signing_keys`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::TenantId;

/// A client as listed.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new client's row.
pub struct NewClientRow<'a> {
    pub environment: &'a str,
    pub client_id: &'a str,
    pub secret_hash: &'a [u8],
    pub name: &'a str,
    pub permissions: &'a [&'a str],
    pub created_by: Option<Uuid>,
}

pub async fn insert_client(
    conn: &mut PgConnection,
    tenant: &TenantId,
    new: &NewClientRow<'_>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into engine_clients \
         (tenant_id, environment, client_id, secret_hash, name, permissions, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7) returning created_at",
    )
    .bind(tenant.as_str())
    .bind(new.environment)
    .bind(new.client_id)
    .bind(new.secret_hash)
    .bind(new.name)
    .bind(new.permissions)
    .bind(new.created_by)
    .fetch_one(&mut *conn)
    .await
}

/// The environment's clients that are not revoked, oldest first.
pub async fn list_clients(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
) -> Result<Vec<ClientRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select c.client_id, c.name, c.permissions, u.email as created_by, c.created_at, \
         c.last_used_at \
         from engine_clients c left join users u on u.id = c.created_by \
         where c.tenant_id = $1 and c.environment = $2 and c.revoked_at is null \
         order by c.created_at, c.client_id",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ClientRow {
                client_id: row.try_get("client_id")?,
                name: row.try_get("name")?,
                permissions: row.try_get("permissions")?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Marks a client of the environment revoked; its name and permissions, or `None` when the
/// environment has no such client (or it is revoked already).
pub async fn revoke_client(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
    client_id: &str,
) -> Result<Option<(String, Vec<String>)>, sqlx::Error> {
    let row = sqlx::query(
        "update engine_clients set revoked_at = now() \
         where tenant_id = $1 and environment = $2 and client_id = $3 and revoked_at is null \
         returning name, permissions",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| Ok((row.try_get("name")?, row.try_get("permissions")?)))
        .transpose()
}

/// What the token endpoint needs to know about a client.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub tenant_id: String,
    pub environment: String,
    pub secret_hash: Vec<u8>,
    pub permissions: Vec<String>,
    pub revoked: bool,
    /// Whether `last_used_at` is older than a minute (or unset), so worth updating.
    pub stale: bool,
}

/// The client with this id, across tenants (platform transaction).
pub async fn find_for_token(
    conn: &mut PgConnection,
    client_id: &str,
) -> Result<Option<ClientCredentials>, sqlx::Error> {
    let row = sqlx::query(
        "select tenant_id, environment, secret_hash, permissions, revoked_at is not null as revoked, \
         (last_used_at is null or last_used_at < now() - interval '1 minute') as stale \
         from engine_clients where client_id = $1",
    )
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(ClientCredentials {
            tenant_id: row.try_get("tenant_id")?,
            environment: row.try_get("environment")?,
            secret_hash: row.try_get("secret_hash")?,
            permissions: row.try_get("permissions")?,
            revoked: row.try_get("revoked")?,
            stale: row.try_get("stale")?,
        })
    })
    .transpose()
}

/// Records that the client got a token (at most once a minute: the condition makes a
/// concurrent second update a no-op).
pub async fn touch(conn: &mut PgConnection, client_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update engine_clients set last_used_at = now() where client_id = $1 \
         and (last_used_at is null or last_used_at < now() - interval '1 minute')",
    )
    .bind(client_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// --- signing keys ---------------------------------------------------------------------------

/// A signing key as stored.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub seed: [u8; 32],
    pub current: bool,
}

/// Serialises key changes (generation, rotation) across servers until the transaction ends.
pub async fn lock_keys(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('oauth_signing_keys', 0))")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The current key and the keys retired less than ten minutes ago, oldest first.
pub async fn published_keys(conn: &mut PgConnection) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows = sqlx::query(
        "select kid, seed, retired_at is null as current from oauth_signing_keys \
         where retired_at is null or retired_at > now() - interval '10 minutes' \
         order by created_at, kid",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let seed: Vec<u8> = row.try_get("seed")?;
            Ok(StoredKey {
                kid: row.try_get("kid")?,
                seed: seed.try_into().map_err(|_| {
                    sqlx::Error::Decode("a signing key's seed is not 32 bytes".into())
                })?,
                current: row.try_get("current")?,
            })
        })
        .collect()
}

pub async fn insert_key(
    conn: &mut PgConnection,
    kid: &str,
    seed: &[u8; 32],
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into oauth_signing_keys (kid, seed) values ($1, $2)")
        .bind(kid)
        .bind(seed.as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn retire_current_key(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("update oauth_signing_keys set retired_at = now() where retired_at is null")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
