//! The server as the OAuth 2.0 authorisation server of its engines.
//!
//! Zeebe clients and workers reach an engine with an access token, as they reach a Camunda 8
//! cluster: a tenant's owner creates an *engine client* for one environment
//! (`POST /api/v1/tenants/{tenant}/environments/{environment}/clients`, owners only), gets its
//! id and secret once, and the client exchanges them at `POST /oauth/token` (RFC 6749 client
//! credentials) for a token valid [`TOKEN_LIFETIME_SECS`] seconds. The token is a JWT signed
//! with the server's Ed25519 key ([`engine::auth`]) and grants exactly the client's tenant
//! and permissions on exactly one engine: its audience is [`audience`] of the environment.
//! The engines verify tokens locally with the public keys published at `GET
//! /oauth/jwks.json`, so no gRPC call costs a round trip to the server.
//!
//! [`Authority`] holds the keys: the current signing key and the published key set (the
//! current key and any retired less than ten minutes ago). Keys live in `oauth_signing_keys`;
//! the first start generates one, [`Authority::rotate_signing_key`] replaces it, and every
//! in-process [`Verifier`] (one per embedded engine) gets the new key set at once. A refresh
//! task reloads the keys every minute, so several servers on one database follow one
//! another's rotations and retired keys drop out of the set when their time is up.
//!
//! The server reaches its own embedded engines the same way, with an internal credential no
//! user ever sees: [`Authority::sign`] for the client `astraflow-control-plane`, all
//! permissions and the one tenant of the call (see [`crate::engines`]).
//!
//! The feature's parts: [`routes`] (thin axum handlers and the DTOs), [`service`] (what they
//! do), [`store`] (the SQL).

pub mod routes;
pub mod service;
pub mod store;

use std::{
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use engine::auth::{Claims, KeySet, Permission, SigningKey, Verifier, now_secs};
use sqlx::PgPool;

use crate::{auth::rate_limit::RateLimiter, db, domain::TenantId};

/// How long an access token is valid, in seconds. Revoking a client does not end tokens it
/// already has: the engines verify tokens without asking the server, so a revoked client's
/// last token works until it expires, at most this long.
pub const TOKEN_LIFETIME_SECS: i64 = 300;

/// The client id of the server's own calls to its embedded engines.
pub const CONTROL_PLANE_CLIENT_ID: &str = "astraflow-control-plane";

/// How often the keys are reloaded from the database.
const KEY_REFRESH: Duration = Duration::from_secs(60);

/// Failed client authentications allowed a minute per client id, and per client address,
/// before the token endpoint answers 429 for a while (a token bucket, as for requests).
const FAILURES_PER_MINUTE_PER_CLIENT: u32 = 10;
const FAILURES_PER_MINUTE_PER_ADDRESS: u32 = 30;

/// The audience of the engine of `environment`: one audience per environment's engine, so a
/// token for `dev` is refused by `prod`.
pub fn audience(environment: &str) -> String {
    format!("astraflow-engine:{environment}")
}

/// A signed access token and its lifetime.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    /// Seconds from now.
    pub expires_in: i64,
}

struct Keys {
    current: Arc<SigningKey>,
    published: KeySet,
}

/// The authorisation server's keys, its in-process verifiers and its brute-force limits.
pub struct Authority {
    issuer: String,
    pool: PgPool,
    keys: RwLock<Keys>,
    /// One clone of each in-process verifier; clones share their key set, so updating these
    /// updates the engines'.
    verifiers: Mutex<Vec<Verifier>>,
    pub(crate) client_failures: RateLimiter,
    pub(crate) address_failures: RateLimiter,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Loads the signing keys (generating the first one on a fresh database) for tokens
    /// issued as `issuer`, the server's public base URL.
    pub async fn load(pool: PgPool, issuer: String) -> Result<Arc<Self>, sqlx::Error> {
        let (current, published) = fetch_keys(&pool).await?;
        Ok(Arc::new(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            pool,
            keys: RwLock::new(Keys { current, published }),
            verifiers: Mutex::new(Vec::new()),
            client_failures: RateLimiter::new(FAILURES_PER_MINUTE_PER_CLIENT),
            address_failures: RateLimiter::new(FAILURES_PER_MINUTE_PER_ADDRESS),
        }))
    }

    /// The issuer of every token: the server's public base URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where clients get tokens.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }

    /// Where the engines get the public keys.
    pub fn jwks_url(&self) -> String {
        format!("{}/oauth/jwks.json", self.issuer)
    }

    /// The key id tokens are signed with now.
    pub fn current_kid(&self) -> String {
        self.read().current.kid().to_owned()
    }

    /// The public keys tokens may be verified with: the current key and the recently retired.
    pub fn key_set(&self) -> KeySet {
        self.read().published.clone()
    }

    /// The JWKS document of [`Authority::key_set`].
    pub fn jwks(&self) -> serde_json::Value {
        self.read().published.to_jwks()
    }

    /// A verifier for the engine with `audience`, trusting this issuer's keys and kept up to
    /// date on rotation.
    pub fn verifier(&self, audience: &str) -> Verifier {
        let mut verifiers = self
            .verifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let verifier = Verifier::new(self.issuer.clone(), audience, self.key_set());
        verifiers.push(verifier.clone());
        verifier
    }

    /// A token for `client_id`, valid [`TOKEN_LIFETIME_SECS`] on the engine with `audience`,
    /// granting `tenant` and `permissions`, signed with the current key.
    pub fn sign(
        &self,
        audience: &str,
        client_id: &str,
        tenant: &TenantId,
        permissions: &[Permission],
    ) -> AccessToken {
        let now = now_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: audience.to_owned(),
            sub: client_id.to_owned(),
            iat: now,
            exp: now + TOKEN_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            tenant_id: tenant.clone(),
            permissions: permissions.to_vec(),
        };
        let key = self.read().current.clone();
        AccessToken {
            token: key.sign(&claims),
            expires_in: TOKEN_LIFETIME_SECS,
        }
    }

    /// Replaces the signing key: a new current key, the old one retired (still published for
    /// ten minutes, so the tokens it signed verify until they expire). Every in-process
    /// verifier learns the new key at once. Returns the new key id.
    pub async fn rotate_signing_key(&self) -> Result<String, sqlx::Error> {
        let key = SigningKey::generate(new_kid());
        let mut tx = db::begin_platform(&self.pool).await?;
        store::lock_keys(&mut tx).await?;
        store::retire_current_key(&mut tx).await?;
        store::insert_key(&mut tx, key.kid(), key.seed()).await?;
        tx.commit().await?;
        tracing::info!(kid = key.kid(), "token signing key rotated");
        self.reload().await?;
        Ok(key.kid().to_owned())
    }

    /// Reads the keys again (another server may have rotated them, and retired keys leave the
    /// published set ten minutes after they retired) and tells the verifiers when they changed.
    pub async fn reload(&self) -> Result<(), sqlx::Error> {
        let (current, published) = fetch_keys(&self.pool).await?;
        let changed = {
            let mut keys = self
                .keys
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let changed = keys.published != published;
            *keys = Keys {
                current,
                published: published.clone(),
            };
            changed
        };
        if changed {
            for verifier in self
                .verifiers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
            {
                verifier.set_keys(published.clone());
            }
        }
        Ok(())
    }

    /// Reloads the keys every minute until the task is aborted.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let authority = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(KEY_REFRESH);
            interval.tick().await;
            loop {
                interval.tick().await;
                if let Err(error) = authority.reload().await {
                    tracing::warn!(%error, "cannot reload the token signing keys");
                }
            }
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn new_kid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The current key and the published set, generating the first key if there is none. One
/// server at a time (an advisory lock), so two servers starting on a fresh database agree
/// on one key.
async fn fetch_keys(pool: &PgPool) -> Result<(Arc<SigningKey>, KeySet), sqlx::Error> {
    let mut tx = db::begin_platform(pool).await?;
    store::lock_keys(&mut tx).await?;
    let mut stored = store::published_keys(&mut tx).await?;
    if !stored.iter().any(|key| key.current) {
        let key = SigningKey::generate(new_kid());
        store::insert_key(&mut tx, key.kid(), key.seed()).await?;
        tracing::info!(kid = key.kid(), "token signing key generated");
        stored.push(store::StoredKey {
            kid: key.kid().to_owned(),
            seed: *key.seed(),
            current: true,
        });
    }
    tx.commit().await?;
    let mut published = KeySet::default();
    let mut current = None;
    for key in stored {
        let signing = SigningKey::from_seed(key.kid, key.seed);
        published.insert(signing.kid(), signing.public_key());
        if key.current {
            current = Some(Arc::new(signing));
        }
    }
    let current = current.ok_or_else(|| {
        sqlx::Error::Protocol("no current token signing key after generating one".to_owned())
    })?;
    Ok((current, published))
}
