//! Who may call the gateway: OAuth 2.0 bearer tokens, verified locally.
//!
//! Zeebe allows multi-tenancy only with authentication: a client gets an access token from
//! an authorisation server and may touch only the tenants that token grants. The engine does
//! the same. Tokens are compact JWS (JWT) signed with Ed25519 (`alg: EdDSA`, RFC 8037); the
//! claims name the issuer, the audience (one engine), the expiry, the client, exactly one
//! tenant and the [`Permission`]s. Verification needs only the issuer's public keys, held in
//! a [`KeySet`] (a JWKS document), so no call costs a round trip to the issuer.
//!
//! The ASTRAflow server is the issuer of its embedded engines: it holds the private keys
//! ([`SigningKey`]), publishes the public ones at `/oauth/jwks.json`, and mints tokens for
//! the clients tenant owners create. `astraflow-engine` is configured with the issuer, its
//! own audience and the JWKS URL (or a file), see [`Verifier`].

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use zeebe::record::TenantId;

/// What a client may do, granted per client by the tenant's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Activate, stream, complete and fail jobs, throw BPMN errors, change a job's retries
    /// or timeout.
    Jobs,
    /// Create, cancel and modify process instances, set variables, resolve incidents.
    Instances,
    /// Publish messages and broadcast signals.
    Messages,
    /// Deploy and delete resources.
    Deploy,
}

impl Permission {
    /// Every permission, in a stable order.
    pub const ALL: [Permission; 4] = [
        Permission::Jobs,
        Permission::Instances,
        Permission::Messages,
        Permission::Deploy,
    ];

    /// The name used in tokens and the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Jobs => "jobs",
            Permission::Instances => "instances",
            Permission::Messages => "messages",
            Permission::Deploy => "deploy",
        }
    }

    /// The permission named `name`, if any.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the authorisation server's URL.
    pub iss: String,
    /// Audience: the one engine the token is for.
    pub aud: String,
    /// Subject: the client id.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Token id, unique per token.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The one tenant the token grants.
    pub tenant_id: TenantId,
    /// What the client may do.
    pub permissions: Vec<Permission>,
}

impl Claims {
    /// Whether the token grants `permission`.
    #[must_use]
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// Why a token was refused. The gateway answers `UNAUTHENTICATED` for each of them and
/// names the reason, as a Zeebe gateway does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, or a part that does not decode.
    #[error("the access token is malformed")]
    Malformed,
    /// The header names an algorithm other than EdDSA.
    #[error("the access token's algorithm is not accepted (only EdDSA)")]
    Algorithm,
    /// No known key has the token's key id.
    #[error("the access token was signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the access token's signature is invalid")]
    Signature,
    /// Issued by someone else.
    #[error("the access token was not issued by this engine's issuer")]
    Issuer,
    /// For another engine.
    #[error("the access token is not for this engine (audience)")]
    Audience,
    /// Expired (or not valid yet).
    #[error("the access token has expired")]
    Expired,
}

/// An Ed25519 private key with its key id.
pub struct SigningKey {
    kid: String,
    pair: Ed25519KeyPair,
    seed: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    ///
    /// # Panics
    /// When the operating system has no randomness to give.
    #[must_use]
    pub fn generate(kid: impl Into<String>) -> Self {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
            .expect("the operating system's random number generator works");
        Self::from_seed(kid, seed)
    }

    /// The key with this 32-byte seed (as stored).
    ///
    /// # Panics
    /// Never: every 32-byte seed is a valid Ed25519 private key.
    #[must_use]
    pub fn from_seed(kid: impl Into<String>, seed: [u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
        Self {
            kid: kid.into(),
            pair,
            seed,
        }
    }

    /// The key id (`kid`).
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The seed, to store the key.
    #[must_use]
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The 32-byte public key.
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    /// A signed compact JWT carrying `claims`.
    ///
    /// # Panics
    /// Never: the claims always serialize.
    #[must_use]
    pub fn sign(&self, claims: &Claims) -> String {
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let mut token = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(claims).expect("claims serialize"))
        );
        let signature = self.pair.sign(token.as_bytes());
        token.push('.');
        token.push_str(&B64.encode(signature.as_ref()));
        token
    }
}

/// Public keys by key id: what a JWKS document holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: HashMap<String, [u8; 32]>,
}

#[derive(Serialize, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: String,
    #[serde(default)]
    x: String,
    #[serde(default)]
    kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
}

impl KeySet {
    /// Adds (or replaces) a public key.
    pub fn insert(&mut self, kid: impl Into<String>, public_key: [u8; 32]) {
        self.keys.insert(kid.into(), public_key);
    }

    /// Whether no key is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this id is known.
    #[must_use]
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Reads a JWKS document, keeping its Ed25519 (`OKP`/`Ed25519`) keys and skipping any
    /// other kind.
    ///
    /// # Errors
    /// When the document is not JSON of the JWKS shape, or an Ed25519 key is not 32 bytes.
    pub fn from_jwks(json: &str) -> Result<Self, String> {
        let jwks: Jwks =
            serde_json::from_str(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut set = KeySet::default();
        for jwk in jwks.keys {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                continue;
            }
            let bytes = B64
                .decode(jwk.x.trim_end_matches('='))
                .map_err(|e| format!("key {:?}: x is not base64url: {e}", jwk.kid))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("key {:?}: an Ed25519 key has 32 bytes", jwk.kid))?;
            set.insert(jwk.kid, key);
        }
        Ok(set)
    }

    /// The JWKS document of these keys (sorted by key id, so it is stable).
    #[must_use]
    pub fn to_jwks(&self) -> serde_json::Value {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        let keys: Vec<Jwk> = kids
            .into_iter()
            .map(|kid| Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: B64.encode(self.keys[kid]),
                kid: kid.clone(),
                alg: Some("EdDSA".into()),
                use_: Some("sig".into()),
            })
            .collect();
        serde_json::to_value(Jwks { keys }).unwrap_or_default()
    }
}

/// Checks tokens for one engine: its issuer, its audience, and the issuer's keys.
///
/// The key set is shared: whoever learns of a new key (the server rotating its keys in
/// process, or a JWKS refresher) replaces it with [`Verifier::set_keys`] and every clone
/// sees it at once.
#[derive(Debug, Clone)]
pub struct Verifier {
    issuer: String,
    audience: String,
    keys: Arc<RwLock<KeySet>>,
    /// Told when a token names a key we do not know, so a JWKS follower can refresh early.
    unknown_key: Arc<tokio::sync::Notify>,
    /// Tokens verified already, by their exact text. A worker sends the same token with every
    /// call for its lifetime, and checking an Ed25519 signature costs more than the engine's
    /// work for a simple command; a token found here is only checked for expiry. Emptied when
    /// the keys change, so a key taken out of the set takes its tokens with it.
    verified: Arc<RwLock<HashMap<String, Arc<Grant>>>>,
    /// Seconds of clock difference tolerated on `exp`.
    leeway: i64,
}

/// What a verified token grants: its claims, and its tenants as the processor takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's claims.
    pub claims: Claims,
    /// The tenants the token grants (its one tenant), shared by every call made with it.
    pub tenants: Arc<[TenantId]>,
}

/// Most verified tokens a [`Verifier`] remembers.
const MAX_REMEMBERED: usize = 10_000;

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: String,
}

impl Verifier {
    /// A verifier for tokens from `issuer` for `audience`, trusting `keys`.
    #[must_use]
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: KeySet) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: Arc::new(RwLock::new(keys)),
            unknown_key: Arc::new(tokio::sync::Notify::new()),
            verified: Arc::new(RwLock::new(HashMap::new())),
            leeway: 5,
        }
    }

    /// The audience this engine accepts.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The issuer this engine trusts.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Records that a token named an unknown key (see [`Verifier::unknown_key_notified`]).
    pub fn unknown_key_seen(&self) {
        self.unknown_key.notify_one();
    }

    /// Resolves after a token named an unknown key: time to fetch the issuer's keys again.
    pub async fn unknown_key_notified(&self) {
        self.unknown_key.notified().await;
    }

    /// Replaces the trusted keys (rotation).
    pub fn set_keys(&self, keys: KeySet) {
        let mut current = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current != keys {
            *current = keys;
            self.verified
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        }
    }

    /// [`Verifier::verify`], remembering tokens that verified so the same token costs only a
    /// look-up and an expiry check the next time.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_cached(&self, token: &str, now: i64) -> Result<Arc<Grant>, TokenError> {
        if let Some(grant) = self
            .verified
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
        {
            return if self.current(&grant.claims, now) {
                Ok(grant.clone())
            } else {
                Err(TokenError::Expired)
            };
        }
        let claims = self.verify(token, now)?;
        let claims = Arc::new(Grant {
            tenants: Arc::new([claims.tenant_id.clone()]),
            claims,
        });
        let mut verified = self
            .verified
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if verified.len() >= MAX_REMEMBERED {
            // Bounded memory whatever callers send; expired tokens go with the rest.
            verified.clear();
        }
        verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn current(&self, claims: &Claims, now: i64) -> bool {
        now <= claims.exp + self.leeway && now + self.leeway >= claims.iat
    }

    /// Whether a key with this id is trusted now.
    #[must_use]
    pub fn knows(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(kid)
    }

    /// The key id a token names, without verifying anything (to decide whether to refresh
    /// the key set before verifying).
    #[must_use]
    pub fn key_id(token: &str) -> Option<String> {
        let header = token.split('.').next()?;
        let header: Header = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        Some(header.kid)
    }

    /// Verifies `token` at `now` (seconds since the epoch) and returns its claims.
    ///
    /// # Errors
    /// [`TokenError`] saying what is wrong with it.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = B64
            .decode(header_b64)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        // Only the one algorithm we sign with: no `none`, no algorithm confusion.
        if header.alg != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let signature = B64
            .decode(signature_b64)
            .map_err(|_| TokenError::Malformed)?;
        let public_key = self
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys
            .get(&header.kid)
            .copied()
            .ok_or(TokenError::UnknownKey)?;
        let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = B64
            .decode(claims_b64)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::Issuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::Audience);
        }
        if !self.current(&claims, now) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Seconds since the epoch, now.
#[must_use]
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: "http://issuer".into(),
            aud: "engine-dev".into(),
            sub: "c1".into(),
            iat: now,
            exp: now + 300,
            jti: "j1".into(),
            client_id: "c1".into(),
            tenant_id: TenantId::new("acme").unwrap(),
            permissions: vec![Permission::Jobs],
        }
    }

    fn verifier(key: &SigningKey) -> Verifier {
        let mut keys = KeySet::default();
        keys.insert(key.kid(), key.public_key());
        Verifier::new("http://issuer", "engine-dev", keys)
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips_its_claims() {
        let key = SigningKey::generate("k1");
        let now = now_secs();
        let token = key.sign(&claims(now));
        assert_eq!(verifier(&key).verify(&token, now), Ok(claims(now)));
        assert_eq!(Verifier::key_id(&token).as_deref(), Some("k1"));
    }

    #[test]
    fn tampering_expiry_audience_issuer_and_unknown_keys_are_refused() {
        let key = SigningKey::generate("k1");
        let v = verifier(&key);
        let now = now_secs();
        let token = key.sign(&claims(now));
        // Another tenant in the claims, same signature.
        let mut forged = claims(now);
        forged.tenant_id = TenantId::new("globex").unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&forged).unwrap()),
            parts[2]
        );
        assert_eq!(v.verify(&tampered, now), Err(TokenError::Signature));
        assert_eq!(v.verify(&token, now + 400), Err(TokenError::Expired));
        let mut other = claims(now);
        other.aud = "engine-prod".into();
        assert_eq!(v.verify(&key.sign(&other), now), Err(TokenError::Audience));
        let mut other = claims(now);
        other.iss = "http://elsewhere".into();
        assert_eq!(v.verify(&key.sign(&other), now), Err(TokenError::Issuer));
        let stranger = SigningKey::generate("k2");
        assert_eq!(
            v.verify(&stranger.sign(&claims(now)), now),
            Err(TokenError::UnknownKey)
        );
        // Same key id, another key: the signature fails.
        let impostor = SigningKey::generate("k1");
        assert_eq!(
            v.verify(&impostor.sign(&claims(now)), now),
            Err(TokenError::Signature)
        );
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none","kid":"k1"}"#),
            parts[1]
        );
        assert_eq!(v.verify(&none, now), Err(TokenError::Algorithm));
        assert_eq!(v.verify("abc", now), Err(TokenError::Malformed));
    }

    #[test]
    fn remembered_tokens_still_expire_and_are_forgotten_when_keys_change() {
        let key = SigningKey::generate("k1");
        let v = verifier(&key);
        let now = now_secs();
        let token = key.sign(&claims(now));
        assert_eq!(v.verify_cached(&token, now).unwrap().claims, claims(now));
        let again = v.verify_cached(&token, now).unwrap();
        assert_eq!(again.claims, claims(now));
        assert_eq!(&*again.tenants, &[claims(now).tenant_id]);
        assert_eq!(v.verify_cached(&token, now + 400), Err(TokenError::Expired));
        // The key is withdrawn: the remembered token no longer passes.
        v.set_keys(KeySet::default());
        assert_eq!(v.verify_cached(&token, now), Err(TokenError::UnknownKey));
        // A tampered copy is a different text: verified afresh, and refused.
        v.set_keys({
            let mut keys = KeySet::default();
            keys.insert(key.kid(), key.public_key());
            keys
        });
        assert!(v.verify_cached(&token, now).is_ok());
        let tampered = format!("{token}x");
        assert!(v.verify_cached(&tampered, now).is_err());
    }

    #[test]
    fn keys_round_trip_through_jwks_and_rotate() {
        let old = SigningKey::generate("old");
        let new = SigningKey::generate("new");
        let mut keys = KeySet::default();
        keys.insert(old.kid(), old.public_key());
        keys.insert(new.kid(), new.public_key());
        let jwks = keys.to_jwks().to_string();
        assert_eq!(KeySet::from_jwks(&jwks).unwrap(), keys);
        let v = verifier(&old);
        let now = now_secs();
        assert_eq!(
            v.verify(&new.sign(&claims(now)), now),
            Err(TokenError::UnknownKey)
        );
        v.set_keys(KeySet::from_jwks(&jwks).unwrap());
        assert!(v.verify(&new.sign(&claims(now)), now).is_ok());
        let restored = SigningKey::from_seed("new", *new.seed());
        assert_eq!(restored.public_key(), new.public_key());
    }
}
