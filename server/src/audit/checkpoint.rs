//! Signed checkpoints of the audit chains' heads, and verification that resumes where it last
//! found a chain whole.
//!
//! A hash chain proves that an event was changed, but not that the newest events were deleted
//! or the tail rewritten with fresh hashes by someone who can write the table. So every few
//! minutes the server signs the head of each chain (tenant, trail, sequence number, hash) with
//! an Ed25519 key that lives in a file, not in the database, and keeps the checkpoint in three
//! places: the `audit_checkpoints` table (published at `GET …/audit/checkpoints`, for anyone
//! to keep a copy), an append-only file beside the key, and memory. Verification holds the
//! chain against the newest valid checkpoint it knows from any of them: a chain that ends
//! before it was cut; a different hash at its sequence number means the chain was rewritten.
//!
//! Walking a long chain on every page view would be slow, so a verification starts after the
//! head the previous one found whole (checking that that event's hash is unchanged) unless a
//! full walk is asked for (`?full=true`).

use std::{
    collections::HashMap,
    future::Future,
    io::Write,
    path::{Path, PathBuf},
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};

use super::chain::{BrokenLink, ChainWalk, Verification};
use crate::{
    db,
    domain::{DomainError, TenantId},
};

/// Which chain of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trail {
    /// What people and the control plane changed (`audit_events`).
    Control,
    /// What happened in the engines (`execution_audit_events`).
    Execution,
}

impl Trail {
    pub fn as_str(self) -> &'static str {
        match self {
            Trail::Control => "control",
            Trail::Execution => "execution",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "control" => Some(Trail::Control),
            "execution" => Some(Trail::Execution),
            _ => None,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Trail::Control => "audit_events",
            Trail::Execution => "execution_audit_events",
        }
    }
}

/// A signed statement that a chain's event `seq` had the hash `head_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkpoint {
    pub tenant_id: String,
    /// `control` or `execution`.
    pub trail: String,
    pub seq: i64,
    /// The event's `audit_hash`, in hex.
    pub head_hash: String,
    pub signed_at: DateTime<Utc>,
    /// Which key signed it (see `GET /api/v1/audit/checkpoint-key`).
    pub key_id: String,
    /// Ed25519 over [`Checkpoint::message`], base64url without padding.
    pub signature: String,
}

impl Checkpoint {
    /// The bytes signed: one line per field, so no field can run into the next.
    pub fn message(&self) -> String {
        format!(
            "astraflow-audit-checkpoint/1\n{}\n{}\n{}\n{}\n{}",
            self.tenant_id,
            self.trail,
            self.seq,
            self.head_hash,
            self.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
    }
}

/// The public half of the checkpoint key, to verify checkpoints anywhere.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckpointKey {
    pub key_id: String,
    /// Always `Ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
}

type Chain = (String, Trail);

/// One page of a chain's events after a sequence number, oldest first.
pub type Page<'c, E> = Pin<Box<dyn Future<Output = Result<Vec<E>, DomainError>> + Send + 'c>>;

/// The checkpoint key and what this server knows of the chains.
pub struct Checkpoints {
    pair: Ed25519KeyPair,
    key_id: String,
    log: PathBuf,
    /// The newest checkpoint per chain, from the file at start and signed since.
    newest: Mutex<HashMap<Chain, Checkpoint>>,
    /// The head each chain had when a verification last found it whole.
    verified: Mutex<HashMap<Chain, (i64, Vec<u8>)>>,
    /// Who counts signing and verification (the server's metrics).
    observer: std::sync::OnceLock<Arc<dyn Observer>>,
}

/// Told of each checkpoint signed and each verification, e.g. to count them.
pub trait Observer: Send + Sync {
    fn signed(&self);
    fn verified(&self, trail: Trail, seconds: f64);
}

impl std::fmt::Debug for Checkpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoints")
            .field("key_id", &self.key_id)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Checkpoints {
    /// Loads the key from `key_file` (creating it, readable by this account only, on first
    /// start) and the checkpoints already in `log`.
    pub fn open(key_file: &Path, log: PathBuf) -> anyhow::Result<Self> {
        let seed = load_or_create_seed(key_file)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| anyhow::anyhow!("{} does not hold an Ed25519 seed", key_file.display()))?;
        let key_id = hex::encode(&Sha256::digest(pair.public_key().as_ref())[..8]);
        let checkpoints = Self {
            pair,
            key_id,
            log,
            newest: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
            observer: std::sync::OnceLock::new(),
        };
        checkpoints.read_log()?;
        Ok(checkpoints)
    }

    /// Tells `observer` of every checkpoint signed and verification made from now on.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        let _ = self.observer.set(observer);
    }

    pub fn public_key(&self) -> CheckpointKey {
        CheckpointKey {
            key_id: self.key_id.clone(),
            algorithm: "Ed25519",
            public_key: URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref()),
        }
    }

    /// Whether `checkpoint` was signed by this server's key.
    pub fn is_signed_by_us(&self, checkpoint: &Checkpoint) -> bool {
        checkpoint.key_id == self.key_id
            && URL_SAFE_NO_PAD
                .decode(&checkpoint.signature)
                .is_ok_and(|signature| {
                    UnparsedPublicKey::new(&ED25519, self.pair.public_key().as_ref())
                        .verify(checkpoint.message().as_bytes(), &signature)
                        .is_ok()
                })
    }

    fn read_log(&self) -> anyhow::Result<()> {
        let text = match std::fs::read_to_string(&self.log) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", self.log.display()));
            }
        };
        let mut newest = lock(&self.newest);
        // A line cut short by a crash, or not ours, is skipped: only signed checkpoints count.
        for checkpoint in text
            .lines()
            .filter_map(|line| serde_json::from_str::<Checkpoint>(line).ok())
            .filter(|checkpoint| self.is_signed_by_us(checkpoint))
        {
            let Some(trail) = Trail::parse(&checkpoint.trail) else {
                continue;
            };
            let chain = (checkpoint.tenant_id.clone(), trail);
            if newest
                .get(&chain)
                .is_none_or(|known| known.seq < checkpoint.seq)
            {
                newest.insert(chain, checkpoint);
            }
        }
        Ok(())
    }

    /// Signs the head of every chain that grew since its last checkpoint. Returns how many
    /// checkpoints were made.
    pub async fn sign_heads(&self, pool: &PgPool) -> anyhow::Result<usize> {
        let mut made = 0;
        for trail in [Trail::Control, Trail::Execution] {
            let mut tx = db::begin_platform(pool).await?;
            // One index lookup per tenant (`unique (tenant_id, seq)`), not a scan of the trail.
            let heads = sqlx::query(&format!(
                "select t.id as tenant_id, h.seq, h.audit_hash from tenants t \
                 cross join lateral (select seq, audit_hash from {} where tenant_id = t.id \
                 order by seq desc limit 1) h",
                trail.table()
            ))
            .fetch_all(&mut *tx)
            .await?;
            for head in heads {
                let tenant: String = head.try_get("tenant_id")?;
                let seq: i64 = head.try_get("seq")?;
                let hash: Vec<u8> = head.try_get("audit_hash")?;
                let chain = (tenant.clone(), trail);
                if lock(&self.newest)
                    .get(&chain)
                    .is_some_and(|known| known.seq >= seq)
                {
                    continue;
                }
                let checkpoint = self.sign(tenant, trail, seq, &hash);
                sqlx::query(
                    "insert into audit_checkpoints \
                     (tenant_id, trail, seq, head_hash, signed_at, key_id, signature) \
                     values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
                )
                .bind(&checkpoint.tenant_id)
                .bind(trail.as_str())
                .bind(seq)
                .bind(&hash)
                .bind(checkpoint.signed_at)
                .bind(&checkpoint.key_id)
                .bind(URL_SAFE_NO_PAD.decode(&checkpoint.signature)?)
                .execute(&mut *tx)
                .await?;
                self.append_to_log(&checkpoint)?;
                lock(&self.newest).insert(chain, checkpoint);
                made += 1;
                if let Some(observer) = self.observer.get() {
                    observer.signed();
                }
            }
            tx.commit().await?;
        }
        Ok(made)
    }

    fn sign(&self, tenant_id: String, trail: Trail, seq: i64, hash: &[u8]) -> Checkpoint {
        // Microseconds, as the database keeps them, so a checkpoint read back verifies.
        let signed_at = DateTime::from_timestamp_micros(Utc::now().timestamp_micros())
            .expect("now is a valid time");
        let mut checkpoint = Checkpoint {
            tenant_id,
            trail: trail.as_str().to_owned(),
            seq,
            head_hash: hex::encode(hash),
            signed_at,
            key_id: self.key_id.clone(),
            signature: String::new(),
        };
        checkpoint.signature =
            URL_SAFE_NO_PAD.encode(self.pair.sign(checkpoint.message().as_bytes()).as_ref());
        checkpoint
    }

    fn append_to_log(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut line = serde_json::to_string(checkpoint)?;
        line.push('\n');
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        Ok(())
    }

    /// Signs new heads every `every`, for as long as the server runs.
    pub fn spawn(self: Arc<Self>, pool: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                if let Err(error) = self.sign_heads(&pool).await {
                    tracing::warn!(error = format!("{error:#}"), "signing audit checkpoints");
                }
            }
        })
    }

    /// The tenant's checkpoints of `trail` in the database, newest first.
    pub async fn published(
        conn: &mut PgConnection,
        tenant: &TenantId,
        trail: Trail,
        limit: i64,
    ) -> Result<Vec<Checkpoint>, sqlx::Error> {
        let rows = sqlx::query(
            "select tenant_id, trail, seq, head_hash, signed_at, key_id, signature \
             from audit_checkpoints where tenant_id = $1 and trail = $2 \
             order by seq desc limit $3",
        )
        .bind(tenant.as_str())
        .bind(trail.as_str())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Checkpoint {
                    tenant_id: row.try_get("tenant_id")?,
                    trail: row.try_get("trail")?,
                    seq: row.try_get("seq")?,
                    head_hash: hex::encode(row.try_get::<Vec<u8>, _>("head_hash")?),
                    signed_at: row.try_get("signed_at")?,
                    key_id: row.try_get("key_id")?,
                    signature: URL_SAFE_NO_PAD.encode(row.try_get::<Vec<u8>, _>("signature")?),
                })
            })
            .collect()
    }

    /// The newest checkpoint of the chain that verifies: this server's own (memory and file),
    /// or one in the database signed by our key, whichever is further along.
    async fn newest(
        &self,
        conn: &mut PgConnection,
        tenant: &TenantId,
        trail: Trail,
    ) -> Result<Option<Checkpoint>, sqlx::Error> {
        let kept = lock(&self.newest)
            .get(&(tenant.as_str().to_owned(), trail))
            .cloned();
        let published = Self::published(conn, tenant, trail, 1)
            .await?
            .into_iter()
            .find(|checkpoint| self.is_signed_by_us(checkpoint));
        Ok(match (kept, published) {
            (Some(kept), Some(published)) if published.seq > kept.seq => Some(published),
            (Some(kept), _) => Some(kept),
            (None, published) => published,
        })
    }

    /// Verifies a tenant's chain: from the head the last verification found whole (or from
    /// the start when `full`), page by page with `page(conn, after)`, then against the newest
    /// checkpoint.
    pub async fn verify<E, F>(
        &self,
        conn: &mut PgConnection,
        tenant: &TenantId,
        trail: Trail,
        full: bool,
        mut page: F,
    ) -> Result<Verification, DomainError>
    where
        E: super::chain::Chained,
        F: for<'c> FnMut(&'c mut PgConnection, i64) -> Page<'c, E>,
    {
        let started = std::time::Instant::now();
        let chain = (tenant.as_str().to_owned(), trail);
        let resume = if full {
            None
        } else {
            lock(&self.verified).get(&chain).cloned()
        };
        let mut walk = match resume {
            // Resumed only if the head it stopped at still has the hash it had then.
            Some((seq, hash))
                if hash_at(conn, tenant, trail, seq).await?.as_deref() == Some(&hash[..]) =>
            {
                ChainWalk::resume(seq, hash)
            }
            _ => ChainWalk::default(),
        };
        let mut verdict = loop {
            let events = page(&mut *conn, walk.after()).await?;
            if let Some(broken) = walk.check(&events) {
                break broken;
            }
            if (events.len() as i64) < ChainWalk::PAGE {
                break walk.finish();
            }
        };
        if let Some(checkpoint) = self.newest(conn, tenant, trail).await? {
            verdict.checkpoint_seq = Some(checkpoint.seq);
            let held = hash_at(conn, tenant, trail, checkpoint.seq).await?;
            let broken = match held {
                None => Some("cut_before_checkpoint"),
                Some(hash) if hex::encode(&hash) != checkpoint.head_hash => {
                    Some("checkpoint_mismatch")
                }
                Some(_) => None,
            };
            if let Some(reason) = broken {
                verdict.ok = false;
                // The chain's own break, if it has one earlier, comes first.
                if verdict
                    .first_broken
                    .as_ref()
                    .is_none_or(|first| first.seq > checkpoint.seq)
                {
                    verdict.first_broken = Some(BrokenLink {
                        seq: checkpoint.seq,
                        reason,
                    });
                }
            }
        }
        if verdict.ok {
            let (seq, hash) = walk.head();
            if seq > 0 {
                lock(&self.verified).insert(chain, (seq, hash.to_vec()));
            }
        } else {
            lock(&self.verified).remove(&chain);
        }
        if let Some(observer) = self.observer.get() {
            observer.verified(trail, started.elapsed().as_secs_f64());
        }
        Ok(verdict)
    }
}

/// The hash the chain holds at `seq`, if it holds that event.
async fn hash_at(
    conn: &mut PgConnection,
    tenant: &TenantId,
    trail: Trail,
    seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "select audit_hash from {} where tenant_id = $1 and seq = $2",
        trail.table()
    ))
    .bind(tenant.as_str())
    .bind(seq)
    .fetch_optional(conn)
    .await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The 32-byte seed in `path` (64 hex digits), made on first use with mode 0600.
fn load_or_create_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim())
                .with_context(|| format!("{} is not a hex seed", path.display()))?;
            bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
                .map_err(|_| anyhow::anyhow!("no randomness for the checkpoint key"))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(hex::encode(seed).as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "audit checkpoint key created");
            Ok(seed)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_as_signed_and_only_with_our_key() {
        let dir = tempfile::tempdir().unwrap();
        let ours = Checkpoints::open(&dir.path().join("key"), dir.path().join("log")).unwrap();
        let checkpoint = ours.sign("acme".into(), Trail::Control, 7, &[9; 32]);
        assert!(ours.is_signed_by_us(&checkpoint));

        let mut moved = checkpoint.clone();
        moved.seq = 6;
        assert!(!ours.is_signed_by_us(&moved));
        let mut other_tenant = checkpoint.clone();
        other_tenant.tenant_id = "globex".into();
        assert!(!ours.is_signed_by_us(&other_tenant));

        // The same key file gives the same key; another key does not verify ours.
        let again = Checkpoints::open(&dir.path().join("key"), dir.path().join("log")).unwrap();
        assert!(again.is_signed_by_us(&checkpoint));
        let other = tempfile::tempdir().unwrap();
        let theirs =
            Checkpoints::open(&other.path().join("key"), other.path().join("log")).unwrap();
        assert!(!theirs.is_signed_by_us(&checkpoint));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_log_brings_back_the_newest_checkpoint_and_skips_what_is_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let first = Checkpoints::open(&dir.path().join("key"), log.clone()).unwrap();
        for seq in [3, 5] {
            let checkpoint = first.sign("acme".into(), Trail::Execution, seq, &[1; 32]);
            first.append_to_log(&checkpoint).unwrap();
        }
        let mut forged = first.sign("acme".into(), Trail::Execution, 9, &[1; 32]);
        forged.seq = 99;
        first.append_to_log(&forged).unwrap();
        // A line cut short by a crash.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(br#"{"tenant_id":"ac"#)
            .unwrap();
        let reopened = Checkpoints::open(&dir.path().join("key"), log).unwrap();
        let newest = lock(&reopened.newest);
        assert_eq!(newest[&("acme".to_owned(), Trail::Execution)].seq, 5);
    }
}
