//! The vocabulary every feature shares: tenant ids, roles, field errors and the domain error,
//! and the deserializers request bodies use for integers and objects. The features themselves
//! live in their own folders (`tenants/`, `workflows/`, …).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

pub use zeebe::tenant::{InvalidTenantId, TenantId};

/// What a member may do in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in the tenant, including its members and configuration.
    Owner,
    /// Creates and changes workflows and deployments.
    Editor,
    /// Reads only.
    Viewer,
    /// Reads, including the audit trail.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Editor, Role::Viewer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
        }
    }

    /// Whether holding `self` includes everything `other` may do: an owner covers every role,
    /// every role covers a viewer, and editors and auditors cover only themselves. An API token
    /// works only while its creator's role covers the token's (see `auth::tokens`).
    pub fn covers(self, other: Role) -> bool {
        self == Role::Owner || self == other || other == Role::Viewer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected owner, editor, viewer or auditor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Integer fields of request bodies. JSON has one number type, and JSON Schema counts `3.0` as
/// the integer 3; so do we, rather than refusing what our published schema allows.
pub(crate) mod integer {
    use serde::{Deserialize, Deserializer, de::Error};

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i64>,
    {
        let number = serde_json::Number::deserialize(deserializer)?;
        whole(&number).map_err(D::Error::custom)
    }

    /// The same for an optional field (`null` or left out: `None`).
    pub fn deserialize_option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i64>,
    {
        Option::<serde_json::Number>::deserialize(deserializer)?
            .map(|number| whole(&number).map_err(D::Error::custom))
            .transpose()
    }

    fn whole<T: TryFrom<i64>>(number: &serde_json::Number) -> Result<T, String> {
        let whole = number.as_i64().or_else(|| {
            number
                .as_f64()
                // Beyond 2^53 a float no longer names one integer.
                .filter(|value| value.fract() == 0.0 && value.abs() <= 9_007_199_254_740_992.0)
                .map(|value| value as i64)
        });
        let Some(whole) = whole else {
            return Err(format!("{number} is not an integer"));
        };
        T::try_from(whole).map_err(|_| format!("{number} is out of range"))
    }
}

/// Struct-typed fields of request bodies, which must be JSON objects: serde's derived impls
/// would also take an array of the struct's field values.
pub(crate) mod object {
    use serde::{Deserialize, Deserializer, de::DeserializeOwned, de::Error};

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        let object = serde_json::Map::deserialize(deserializer)?;
        T::deserialize(serde_json::Value::Object(object)).map_err(D::Error::custom)
    }
}

/// A field that failed validation and why, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Refuses a text filter longer than the `max` characters the API documents for it, or
    /// holding a NUL character (which PostgreSQL cannot take in text, and no stored value
    /// holds: ingest stores it escaped).
    pub fn check_length(field: &str, value: Option<&str>, max: usize) -> Result<(), Self> {
        match value {
            Some(text) if text.chars().count() > max => Err(Self::new(
                field,
                format!("must be at most {max} characters"),
            )),
            Some(text) if text.contains('\0') => {
                Err(Self::new(field, "must not contain the NUL character"))
            }
            _ => Ok(()),
        }
    }
}

/// Why a domain operation failed. The HTTP mapping lives in [`crate::error`].
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input that can never be accepted as given.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The thing addressed does not exist (or is not visible to this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (duplicate id, already a member…).
    #[error("{0}")]
    Conflict(String),
    /// The caller's role allows the operation in general but not this particular change.
    #[error("{0}")]
    Forbidden(String),
    /// A quota of the tenant would be exceeded.
    #[error("{0}")]
    QuotaExceeded(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Validates a tenant id for a new tenant: Zeebe's rule, minus Zeebe's reserved `<default>`.
pub fn new_tenant_id(id: &str) -> Result<TenantId, FieldError> {
    let tenant = TenantId::new(id).map_err(|error| FieldError::new("id", error.to_string()))?;
    if tenant.is_default() {
        return Err(FieldError::new(
            "id",
            "<default> is reserved by the engine; choose another id",
        ));
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn tenant_ids_follow_zeebes_rule_without_the_reserved_default() {
        assert!(new_tenant_id("acme-prod_1.eu").is_ok());
        assert!(new_tenant_id(&"a".repeat(31)).is_ok());
        assert!(new_tenant_id(&"a".repeat(32)).is_err());
        assert!(new_tenant_id("").is_err());
        assert!(new_tenant_id("acme corp").is_err());
        assert!(new_tenant_id("<default>").is_err());
    }
}
