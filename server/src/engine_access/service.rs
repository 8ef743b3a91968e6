//! What the engine-access endpoints do: creating, listing and revoking engine clients (in a
//! tenant transaction, audited), and issuing access tokens for them.

use std::{net::IpAddr, time::Duration};

use engine::auth::Permission;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{AccessToken, Authority, audience, store};
use crate::{
    audit::{self, Actor, AuditAction, Change},
    auth::policy::Action,
    context::Ctx,
    db,
    domain::{self, DomainError, FieldError, TenantId},
    engines::{EngineError, Engines},
    environments::{EngineSettings, Environment, store as environments},
    error::ApiError,
    tenants,
};

const CLIENT_ID_PREFIX: &str = "astc_";
const SECRET_PREFIX: &str = "astcs_";

/// A client just created: the only time its secret exists outside the client's hands.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub permissions: Vec<Permission>,
    /// The environment it was created for.
    pub environment: Environment,
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Equality of two digests in time independent of where they differ.
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    let difference = a
        .iter()
        .zip(b)
        .fold(u8::from(a.len() != b.len()), |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// Whether `id` has the shape of a client id (so anything else never reaches the database).
fn is_client_id(id: &str) -> bool {
    id.strip_prefix(CLIENT_ID_PREFIX).is_some_and(|rest| {
        rest.len() == 32
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `name` can be an environment's name (`^[a-z][a-z0-9-]{0,30}$`, as the database
/// checks); anything else is simply not found.
fn is_environment_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 31
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The tenant's environment `name`, or "environment not found".
async fn environment(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
) -> domain::Result<Environment> {
    if !is_environment_name(name) {
        return Err(DomainError::NotFound("environment"));
    }
    environments::environment(conn, tenant, name).await
}

/// Checks a client's permissions: at least one, none twice. Returned in a stable order.
pub fn validate_permissions(permissions: &[Permission]) -> Result<Vec<Permission>, FieldError> {
    let mut sorted = permissions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if permissions.is_empty() {
        return Err(FieldError::new(
            "permissions",
            "must name at least one of jobs, instances, messages, deploy",
        ));
    }
    if sorted.len() != permissions.len() {
        return Err(FieldError::new(
            "permissions",
            "must not name a permission twice",
        ));
    }
    Ok(sorted)
}

/// Creates a client of the tenant's `environment` for an owner, and says where it reaches the
/// engine. A client whose engine cannot be reached is not created.
pub async fn create(
    ctx: &Ctx,
    engines: &Engines,
    tenant: &TenantId,
    environment: &str,
    name: &str,
    permissions: &[Permission],
) -> Result<(CreatedClient, String), ApiError> {
    let mut tx = ctx.tenant_tx(Action::ManageEngineClients, tenant).await?;
    let created = create_client(
        &mut tx,
        tenant,
        environment,
        name,
        permissions,
        ctx.principal.user_id,
        &ctx.actor(),
    )
    .await?;
    // Before committing: the address is part of what the caller needs.
    let gateway_address = gateway_address(engines, &created.environment).await?;
    tx.commit().await?;
    Ok((created, gateway_address))
}

/// The environment's live clients, for an owner.
pub async fn list(
    ctx: &Ctx,
    tenant: &TenantId,
    environment: &str,
) -> Result<Vec<store::ClientRow>, ApiError> {
    let mut tx = ctx.tenant_tx(Action::ManageEngineClients, tenant).await?;
    let clients = list_clients(&mut tx, tenant, environment).await?;
    tx.commit().await?;
    Ok(clients)
}

/// Revokes a client, for an owner.
pub async fn revoke(
    ctx: &Ctx,
    tenant: &TenantId,
    environment: &str,
    client_id: &str,
) -> Result<(), ApiError> {
    let mut tx = ctx.tenant_tx(Action::ManageEngineClients, tenant).await?;
    revoke_client(&mut tx, tenant, environment, client_id, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates a client of the tenant's `environment` inside the tenant transaction and records
/// it in the audit trail. Only the secret's SHA-256 is stored.
pub async fn create_client(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_name: &str,
    name: &str,
    permissions: &[Permission],
    created_by: Option<Uuid>,
    actor: &Actor,
) -> domain::Result<CreatedClient> {
    tenants::validate_name("name", name)?;
    let permissions = validate_permissions(permissions)?;
    let environment = environment(conn, tenant, environment_name).await?;
    tenants::store::lock_active(conn, tenant).await?;
    let mut random = [0u8; 48];
    rand::rng().fill_bytes(&mut random);
    let client_id = format!("{CLIENT_ID_PREFIX}{}", hex::encode(&random[..16]));
    let client_secret = format!("{SECRET_PREFIX}{}", hex::encode(&random[16..]));
    let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    store::insert_client(
        conn,
        tenant,
        &store::NewClientRow {
            environment: &environment.name,
            client_id: &client_id,
            secret_hash: &digest(&client_secret),
            name,
            permissions: &names,
            created_by,
        },
    )
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::EngineClientCreate,
            target_id: &client_id,
            before: None,
            after: Some(json!({
                "environment": environment.name,
                "name": name,
                "permissions": names,
            })),
        },
    )
    .await?;
    Ok(CreatedClient {
        client_id,
        client_secret,
        name: name.to_owned(),
        permissions,
        environment,
    })
}

/// The environment's clients that are not revoked, oldest first.
pub async fn list_clients(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_name: &str,
) -> domain::Result<Vec<store::ClientRow>> {
    let environment = environment(conn, tenant, environment_name).await?;
    Ok(store::list_clients(conn, tenant, &environment.name).await?)
}

/// Revokes a client: it gets no more tokens (those it has work until they expire). Recorded
/// in the audit trail. Also for a suspended tenant: taking access away is always allowed.
pub async fn revoke_client(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_name: &str,
    client_id: &str,
    actor: &Actor,
) -> domain::Result<()> {
    let environment = environment(conn, tenant, environment_name).await?;
    if !is_client_id(client_id) {
        return Err(DomainError::NotFound("client"));
    }
    let (name, permissions) = store::revoke_client(conn, tenant, &environment.name, client_id)
        .await?
        .ok_or(DomainError::NotFound("client"))?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::EngineClientRevoke,
            target_id: client_id,
            before: Some(json!({
                "environment": environment.name,
                "name": name,
                "permissions": permissions,
            })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

/// Where a client reaches the environment's engine: the embedded engine's gateway (`host:port`,
/// started if it is not running), or the external engine's configured address.
pub async fn gateway_address(
    engines: &Engines,
    environment: &Environment,
) -> Result<String, EngineError> {
    match &environment.engine {
        EngineSettings::Embedded => Ok(engines.embedded(&environment.name).await?.to_string()),
        EngineSettings::External { address, .. } => Ok(address.clone()),
    }
}

// --- the token endpoint ---------------------------------------------------------------------

/// A token request as it arrived, its client credentials from the form or HTTP Basic.
#[derive(Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The engine the client wants a token for; when given it must be the client's.
    pub audience: Option<String>,
    /// The credentials came in an `Authorization: Basic` header.
    pub basic: bool,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("basic", &self.basic)
            .finish_non_exhaustive()
    }
}

/// Why no token was issued, as RFC 6749 §5.2 names it.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// 400: a parameter is missing, repeated or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401: unknown client, wrong secret, or revoked client.
    #[error("client authentication failed")]
    InvalidClient {
        /// Whether the client authenticated with HTTP Basic (the answer then says how to).
        basic: bool,
    },
    /// 400: a grant other than client credentials.
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    /// 400: an audience that is not the client's engine.
    #[error("{0}")]
    InvalidTarget(String),
    /// 429: too many failed authentications for this client or from this address.
    #[error("too many failed client authentications; retry later")]
    RateLimited { retry_after: Duration },
    /// 500.
    #[error("the token could not be issued")]
    Server(#[from] sqlx::Error),
}

/// Issues an access token for a client-credentials request coming from `address`.
pub async fn issue_token(
    pool: &PgPool,
    authority: &Authority,
    request: TokenRequest,
    address: Option<IpAddr>,
) -> Result<AccessToken, OAuthError> {
    let grant_type = request
        .grant_type
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is missing".to_owned()))?;
    if grant_type != "client_credentials" {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let (Some(client_id), Some(secret)) = (request.client_id, request.client_secret) else {
        return Err(OAuthError::InvalidRequest(
            "client_id and client_secret are required (in the form, or as HTTP Basic \
             authentication)"
                .to_owned(),
        ));
    };
    let client_key = format!("client:{client_id}");
    let address_key = address.map(|ip| format!("address:{ip}"));
    let wait = [
        authority.client_failures.exhausted(&client_key),
        address_key
            .as_deref()
            .and_then(|key| authority.address_failures.exhausted(key)),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(retry_after) = wait {
        return Err(OAuthError::RateLimited { retry_after });
    }
    let failed = || {
        if is_client_id(&client_id) {
            let _ = authority.client_failures.check(&client_key);
        }
        if let Some(key) = &address_key {
            let _ = authority.address_failures.check(key);
        }
        tracing::info!(client_id = %client_id.chars().take(64).collect::<String>(), ?address, "engine client authentication failed");
        OAuthError::InvalidClient {
            basic: request.basic,
        }
    };

    let presented = digest(&secret);
    let mut tx = db::begin_platform(pool).await?;
    let found = if is_client_id(&client_id) {
        store::find_for_token(&mut tx, &client_id).await?
    } else {
        None
    };
    // The same comparison whether or not the client exists, so timing tells nothing.
    let expected = found
        .as_ref()
        .map_or_else(|| vec![0u8; 32], |client| client.secret_hash.clone());
    let matches = same_digest(&presented, &expected);
    let Some(client) = found.filter(|client| matches && !client.revoked) else {
        tx.commit().await?;
        return Err(failed());
    };
    let audience = audience(&client.environment);
    if let Some(requested) = request.audience.filter(|a| !a.is_empty())
        && requested != audience
    {
        tx.commit().await?;
        return Err(OAuthError::InvalidTarget(format!(
            "this client's tokens are for the audience {audience:?}"
        )));
    }
    if client.stale {
        store::touch(&mut tx, &client_id).await?;
    }
    tx.commit().await?;
    let tenant =
        TenantId::new(client.tenant_id).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
    let permissions: Vec<Permission> = client
        .permissions
        .iter()
        .filter_map(|name| Permission::parse(name))
        .collect();
    Ok(authority.sign(&audience, &client_id, &tenant, &permissions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_compare_whole() {
        let a = digest("astcs_1");
        assert!(same_digest(&a, &digest("astcs_1")));
        assert!(!same_digest(&a, &digest("astcs_2")));
        assert!(!same_digest(&a, &a[..31]));
    }

    #[test]
    fn client_ids_and_environment_names_are_recognised() {
        assert!(is_client_id(&format!("astc_{}", "0a".repeat(16))));
        assert!(!is_client_id(&format!("astc_{}", "0A".repeat(16))));
        assert!(!is_client_id("astc_00"));
        assert!(!is_client_id("astraflow-control-plane"));
        assert!(is_environment_name("dev"));
        assert!(!is_environment_name("Dev"));
        assert!(!is_environment_name("dev\0"));
    }

    #[test]
    fn permissions_are_non_empty_and_unique() {
        assert_eq!(
            validate_permissions(&[Permission::Deploy, Permission::Jobs]).unwrap(),
            [Permission::Jobs, Permission::Deploy]
        );
        assert!(validate_permissions(&[]).is_err());
        assert!(validate_permissions(&[Permission::Jobs, Permission::Jobs]).is_err());
    }
}
