//! What checking a bearer token costs the gateway per call: a full Ed25519 verification (a
//! token seen for the first time) and a remembered token (every later call with it).
//!
//! ```text
//! cargo bench -p engine --bench token_check
//! ```
//!
//! The throughput benchmark's `BENCH_AUTH=tokens` shows the effect end to end; this one
//! isolates the gateway's own work from the disk and the in-process clients, whose timing
//! varies far more than this cost between runs on a shared machine.

use std::time::Instant;

use engine::auth::{Claims, KeySet, Permission, SigningKey, Verifier, now_secs};

fn main() -> anyhow::Result<()> {
    let key = SigningKey::generate("bench");
    let mut keys = KeySet::default();
    keys.insert(key.kid(), key.public_key());
    let verifier = Verifier::new("https://issuer.bench", "astraflow-engine:bench", keys);
    let now = now_secs();
    let tenant = zeebe::record::TenantId::new("acme")?;
    let claims = |n: usize| Claims {
        iss: "https://issuer.bench".into(),
        aud: "astraflow-engine:bench".into(),
        sub: "astc_0123456789abcdef0123456789abcdef".into(),
        iat: now,
        exp: now + 300,
        jti: format!("00000000-0000-4000-8000-{n:012}"),
        client_id: "astc_0123456789abcdef0123456789abcdef".into(),
        tenant_id: tenant.clone(),
        permissions: Permission::ALL.to_vec(),
    };

    // Distinct tokens, each verified in full once.
    let fresh: Vec<String> = (0..2_000).map(|n| key.sign(&claims(n))).collect();
    let started = Instant::now();
    for token in &fresh {
        verifier.verify_cached(token, now)?;
    }
    let full = started.elapsed().as_nanos() as f64 / fresh.len() as f64;

    // The same tokens again: remembered.
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        for token in &fresh {
            verifier.verify_cached(token, now)?;
        }
    }
    let remembered = started.elapsed().as_nanos() as f64 / (fresh.len() * rounds) as f64;

    println!(
        "token_check: {} bytes per token; first call (Ed25519 verification) {:.1} µs, later \
         calls (remembered) {:.0} ns",
        fresh[0].len(),
        full / 1000.0,
        remembered
    );
    Ok(())
}
