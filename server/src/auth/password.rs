//! Password hashing with argon2id, off the async runtime, and generated one-time passwords.
//!
//! Each hash costs tens of milliseconds of a core and 19 MiB of memory. Hashes run on blocking
//! threads, at most [`concurrent_hashes`] at a time for the whole process: a burst of sign-ins
//! waits its turn instead of taking every core from the requests that need no hash.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use std::sync::LazyLock;

use rand::{Rng, distr::Alphanumeric};
use tokio::sync::Semaphore;

/// Shortest password a person may choose.
pub const MIN_LENGTH: usize = 12;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_LENGTH: usize = 1024;

/// How many hashes may run at once: half the cores, at least one.
pub fn concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(concurrent_hashes()));

/// Runs `work` on a blocking thread once a hashing slot is free.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let _slot = HASHING.acquire().await?;
    tokio::task::spawn_blocking(work).await?
}

/// A hash of nothing anyone can type, checked for accounts that do not exist (or have no
/// password), made once so that such a check costs exactly one verification, as a real one
/// does.
static DUMMY_HASH: LazyLock<Result<String, String>> =
    LazyLock::new(|| dummy_hash().map_err(|error| error.to_string()));

/// Makes the dummy hash now, at start, rather than in the first sign-in for an unknown email
/// (which would then take twice as long as any other).
pub async fn prepare() -> anyhow::Result<()> {
    tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY_HASH).clone().map(drop))
        .await?
        .map_err(anyhow::Error::msg)
}

/// Hashes `password` with argon2id (the crate's default parameters) on a blocking thread.
pub async fn hash(password: String) -> anyhow::Result<String> {
    hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
    })
    .await
}

/// Whether `password` matches `hash`, checked on a blocking thread. With no hash (an account
/// without a local password, or no account at all) a dummy hash is checked instead, so the
/// answer takes as long either way and does not reveal which accounts exist.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    hashing(move || {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => DUMMY_HASH.clone().map_err(anyhow::Error::msg)?,
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|error| anyhow::anyhow!("stored password hash is malformed: {error}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
}

fn dummy_hash() -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no such account", &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
}

/// A random password for a first-start administrator: 20 letters and digits (≈119 bits).
pub fn generate() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Checks a password a person chose.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters"));
    }
    if password.chars().count() > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let password = generate();
        let hash = hash(password.clone()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(password.clone(), Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify(password, None).await.unwrap());
    }

    #[test]
    fn generated_passwords_differ_and_are_strong() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(check_strength(&a).is_ok());
        assert!(check_strength("short").is_err());
    }
}
