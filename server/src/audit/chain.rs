//! The control-plane audit trail: append-only, one SHA-256 hash chain per tenant.
//!
//! Every state-changing service call appends an event in the same transaction as the change, so
//! a change and its record commit or roll back together. Writers of one tenant serialise on a
//! transaction-scoped advisory lock, which keeps the chain linear under concurrency; the
//! `(tenant_id, seq)` unique key is the backstop. The database refuses UPDATE, DELETE and
//! TRUNCATE on the table; an edit made with triggers disabled breaks a hash, and [`verify`]
//! names the first event whose hash or link no longer holds.
//!
//! `audit_hash = SHA-256(prev_hash ‖ canonical JSON of the event)`, where the canonical JSON
//! is RFC 8785 (JCS) for events of hash version 2 and keys-sorted JSON for the version 1 events
//! written before ([`super::canonical`]), with timestamps as RFC 3339 UTC with microseconds (the
//! database's precision). The first event of a tenant links to 32 zero bytes.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    AuditAction,
    canonical::{HashVersion, canonical},
};

/// The `prev_hash` of a tenant's first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who did something, and from where; taken from the request.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The signed-in user, or the user who created the API token used.
    pub user_id: Option<Uuid>,
    /// A readable name for the actor: an email, `token:<name>`, or `system`.
    pub label: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request id, so an audit event can be matched to logs.
    pub correlation_id: Option<String>,
}

impl Actor {
    /// The server itself (first-start seeding, maintenance).
    pub fn system() -> Self {
        Self {
            label: "system".to_owned(),
            ..Self::default()
        }
    }
}

/// A change to record. The target's type follows from the action.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: AuditAction,
    pub target_id: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub tenant_id: String,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    /// How the canonical JSON is written: 2 is RFC 8785, 1 the keys-sorted form of older events.
    pub hash_version: i16,
    /// The previous event's `audit_hash` (zeros for the first event), hex.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub prev_hash: Vec<u8>,
    /// SHA-256 of `prev_hash` and the event's canonical JSON, hex.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub audit_hash: Vec<u8>,
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

impl AuditEvent {
    /// The event's fields that the hash covers, as canonical JSON of its hash version.
    pub fn canonical_json(&self) -> String {
        let mut fields = json!({
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "occurred_at": self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "before": self.before,
            "after": self.after,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "correlation_id": self.correlation_id,
        });
        versioned(&mut fields, "hash_version", self.hash_version)
    }

    /// What `audit_hash` must be, given the stored `prev_hash`.
    pub fn expected_hash(&self) -> [u8; 32] {
        chain_hash(&self.prev_hash, &self.canonical_json())
    }
}

/// `fields` as the canonical JSON of the stored hash version `number`, which versions from 2 on
/// cover too (under `key`). A number no build wrote gives text no stored hash matches.
pub fn versioned(fields: &mut Value, key: &str, number: i16) -> String {
    match HashVersion::of(number) {
        Some(HashVersion::KeysSorted) => canonical(fields, HashVersion::KeysSorted),
        Some(version) => {
            fields[key] = json!(number);
            canonical(fields, version)
        }
        None => format!("unknown hash version {number}"),
    }
}

/// JSON with object keys sorted at every level and no whitespace (hash version 1).
pub fn canonical_json(value: &Value) -> String {
    canonical(value, HashVersion::KeysSorted)
}

/// Which control-plane events to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the actor's label (an email, `token:<name>`, `system…`), any case.
    pub actor: Option<String>,
    /// An action, or its first dotted parts (`deployment` takes `deployment.approve`).
    pub action: Option<String>,
    /// The target's id (a deployment id, a process instance key, …).
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.actor.is_none()
            && self.action.is_none()
            && self.target_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// The result of checking a tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Whether every event links to its predecessor and matches its hash.
    pub ok: bool,
    /// How many events were checked (up to and including the first broken one).
    pub events_checked: u64,
    /// The first event that does not hold, if any.
    pub first_broken: Option<BrokenLink>,
    /// The first event this verification walked: 1, or the event after the head an earlier
    /// verification of this server found whole (whose hash is checked to be unchanged).
    pub checked_from: i64,
    /// The sequence number of the newest signed checkpoint the chain was held against, if
    /// there is one.
    pub checkpoint_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BrokenLink {
    pub seq: i64,
    /// `hash_mismatch`: the event's content no longer matches its hash; `link_mismatch`: its
    /// `prev_hash` is not the previous event's hash; `sequence_gap`: an event is missing;
    /// `cut_before_checkpoint`: the chain ends before the newest signed checkpoint (events were
    /// deleted); `checkpoint_mismatch`: the event at the checkpoint's sequence number has
    /// another hash than the signed one (the chain was rewritten).
    pub reason: &'static str,
}

/// An event of a hash chain, as verification sees it.
pub trait Chained {
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &[u8];
    fn audit_hash(&self) -> &[u8];
    /// What `audit_hash` must be, given the stored `prev_hash`.
    fn expected_hash(&self) -> [u8; 32];
}

impl Chained for AuditEvent {
    fn seq(&self) -> i64 {
        self.seq
    }
    fn prev_hash(&self) -> &[u8] {
        &self.prev_hash
    }
    fn audit_hash(&self) -> &[u8] {
        &self.audit_hash
    }
    fn expected_hash(&self) -> [u8; 32] {
        AuditEvent::expected_hash(self)
    }
}

/// `SHA-256(prev_hash ‖ canonical)`: the hash every chain of ours stores.
pub fn chain_hash(prev_hash: &[u8], canonical: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical.as_bytes());
    hasher.finalize().into()
}

/// Checks a chain from its first event, one page at a time, and stops at the first event
/// that does not hold. The caller loads the pages (events after [`ChainWalk::after`], oldest
/// first), so that any chain table can be walked without holding it in memory.
#[derive(Debug)]
pub struct ChainWalk {
    expected_seq: i64,
    prev_hash: Vec<u8>,
    checked: u64,
    started_at: i64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_vec(),
            checked: 0,
            started_at: 1,
        }
    }
}

impl ChainWalk {
    /// A walk that goes on after event `seq`, whose hash is `hash`: the head of the chain as an
    /// earlier walk left it.
    pub fn resume(seq: i64, hash: Vec<u8>) -> Self {
        Self {
            expected_seq: seq + 1,
            prev_hash: hash,
            checked: 0,
            started_at: seq + 1,
        }
    }

    /// The last event walked and its hash (`(0, GENESIS)` before the first).
    pub fn head(&self) -> (i64, &[u8]) {
        (self.expected_seq - 1, &self.prev_hash)
    }

    /// Events per page.
    pub const PAGE: i64 = 1000;

    /// The sequence number the next page starts after.
    pub fn after(&self) -> i64 {
        self.expected_seq - 1
    }

    /// Checks the next page; the verdict once the chain is broken.
    pub fn check<E: Chained>(&mut self, events: &[E]) -> Option<Verification> {
        for event in events {
            self.checked += 1;
            let reason = if event.seq() != self.expected_seq {
                Some("sequence_gap")
            } else if event.prev_hash() != self.prev_hash {
                Some("link_mismatch")
            } else if event.audit_hash() != event.expected_hash() {
                Some("hash_mismatch")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Some(Verification {
                    ok: false,
                    events_checked: self.checked,
                    first_broken: Some(BrokenLink {
                        seq: self.expected_seq.min(event.seq()),
                        reason,
                    }),
                    checked_from: self.started_at,
                    checkpoint_seq: None,
                });
            }
            self.expected_seq += 1;
            self.prev_hash = event.audit_hash().to_vec();
        }
        None
    }

    /// The verdict for a chain whose every page held.
    pub fn finish(&self) -> Verification {
        Verification {
            ok: true,
            events_checked: self.checked,
            first_broken: None,
            checked_from: self.started_at,
            checkpoint_seq: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [true, null, {"z": "x", "y": "é\""}], "c": 2.5}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":2.5,"d":[true,null,{"y":"é\"","z":"x"}]},"b":1}"#
        );
    }

    fn event() -> AuditEvent {
        AuditEvent {
            tenant_id: "acme".into(),
            seq: 1,
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            actor_id: None,
            actor: "system".into(),
            action: "tenant.create".into(),
            target_type: "tenant".into(),
            target_id: "acme".into(),
            before: None,
            after: Some(json!({"name": "Acme"})),
            ip: None,
            user_agent: None,
            correlation_id: None,
            hash_version: HashVersion::CURRENT.number(),
            prev_hash: GENESIS.to_vec(),
            audit_hash: Vec::new(),
        }
    }

    #[test]
    fn the_hash_covers_the_link_and_every_field() {
        let base = event();
        let hash = base.expected_hash();
        assert!(
            base.canonical_json()
                .contains(r#""occurred_at":"2023-11-14T22:13:20.123456Z""#)
        );

        let mut relinked = base.clone();
        relinked.prev_hash = vec![1; 32];
        assert_ne!(relinked.expected_hash(), hash);

        let mut edited = base.clone();
        edited.after = Some(json!({"name": "Acme!"}));
        assert_ne!(edited.expected_hash(), hash);

        let mut renumbered = base;
        renumbered.seq = 2;
        assert_ne!(renumbered.expected_hash(), hash);
    }
}
