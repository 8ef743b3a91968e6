//! Tenant identifiers, validated the way Zeebe validates them.
//!
//! Zeebe accepts a tenant id of 1 to 31 characters drawn from ASCII letters, digits,
//! `.`, `_` and `-`, plus the reserved id `<default>` that names the tenant every
//! resource belongs to when multi-tenancy is off. Holding a [`TenantId`] means the
//! string passed that check, so it can be handed to the engine or a real cluster
//! without further validation.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Why a string is not a valid tenant id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTenantId {
    /// The id is the empty string.
    #[error("tenant id must not be empty")]
    Empty,
    /// The id is longer than [`TenantId::MAX_LEN`] characters.
    #[error("tenant id is {len} characters long; at most {max} are allowed", max = TenantId::MAX_LEN)]
    TooLong {
        /// Length of the rejected id, in characters.
        len: usize,
    },
    /// The id contains a character outside `[A-Za-z0-9._-]`.
    #[error(
        "tenant id contains {ch:?} at position {index}; only letters, digits, '.', '_' and '-' are allowed"
    )]
    InvalidCharacter {
        /// The first offending character.
        ch: char,
        /// Its position, counted in characters from 0.
        index: usize,
    },
}

/// A tenant id that satisfies Zeebe's rule (see the module docs).
///
/// `Default` is the default tenant, `<default>`, matching what Zeebe assumes when a
/// request or record carries no tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// The tenant Zeebe uses when multi-tenancy is disabled.
    pub const DEFAULT: &'static str = "<default>";
    /// Longest accepted id, in characters.
    pub const MAX_LEN: usize = 31;

    /// Validates `id` and wraps it.
    ///
    /// # Errors
    /// [`InvalidTenantId`] when `id` is empty, too long, or has a character outside
    /// `[A-Za-z0-9._-]` (the reserved `<default>` is accepted as is).
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidTenantId> {
        let id = id.into();
        validate(&id)?;
        Ok(Self(id))
    }

    /// The default tenant, `<default>`.
    #[must_use]
    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// Whether this is the default tenant.
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }

    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

fn validate(id: &str) -> Result<(), InvalidTenantId> {
    if id == TenantId::DEFAULT {
        return Ok(());
    }
    if id.is_empty() {
        return Err(InvalidTenantId::Empty);
    }
    if let Some((index, ch)) = id
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(InvalidTenantId::InvalidCharacter { ch, index });
    }
    // Only ASCII is left at this point, so bytes and characters agree.
    if id.len() > TenantId::MAX_LEN {
        return Err(InvalidTenantId::TooLong { len: id.len() });
    }
    Ok(())
}

impl Default for TenantId {
    fn default() -> Self {
        Self::default_tenant()
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl TryFrom<&str> for TenantId {
    type Error = InvalidTenantId;

    fn try_from(id: &str) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl FromStr for TenantId {
    type Err = InvalidTenantId;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::new(id)
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> Self {
        id.0
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_zeebe_alphabet_up_to_31_characters() {
        for id in [
            "a",
            "tenant-1",
            "Acme_Corp.eu",
            "0123456789012345678901234567890",
        ] {
            assert_eq!(TenantId::new(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn accepts_the_reserved_default_tenant() {
        let id = TenantId::new("<default>").unwrap();
        assert!(id.is_default());
        assert_eq!(id, TenantId::default());
        assert_eq!(TenantId::default().as_str(), TenantId::DEFAULT);
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(TenantId::new(""), Err(InvalidTenantId::Empty));
    }

    #[test]
    fn rejects_32_characters() {
        let id = "a".repeat(32);
        assert_eq!(TenantId::new(id), Err(InvalidTenantId::TooLong { len: 32 }));
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(
            TenantId::new("acme corp"),
            Err(InvalidTenantId::InvalidCharacter { ch: ' ', index: 4 })
        );
        assert_eq!(
            TenantId::new("<other>"),
            Err(InvalidTenantId::InvalidCharacter { ch: '<', index: 0 })
        );
        assert!(matches!(
            TenantId::new("tenánt"),
            Err(InvalidTenantId::InvalidCharacter { ch: 'á', index: 3 })
        ));
        assert!(TenantId::new("a/b").is_err());
    }

    #[test]
    fn serde_validates_and_writes_a_plain_string() {
        let id: TenantId = serde_json::from_str(r#""tenant-a""#).unwrap();
        assert_eq!(id, "tenant-a");
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""tenant-a""#);
        assert!(serde_json::from_str::<TenantId>(r#""bad tenant""#).is_err());
    }
}
