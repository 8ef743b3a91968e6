//! Tenants and their members: the feature's types and rules. [`store`] holds the transactional
//! operations and their SQL, [`service`] what a caller may do with them, [`routes`] the REST API.

pub mod cloud;
pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use self::cloud::CloudConfig;
use crate::domain::{FieldError, Role, integer, object};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    /// Kept with all its data, but nothing may run or change until it is reactivated.
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Standard,
    Enterprise,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Standard => "standard",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// Limits on what one tenant may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    #[serde(deserialize_with = "integer::deserialize")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub max_users: i32,
    #[serde(deserialize_with = "integer::deserialize")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub max_workflows: i32,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            max_users: 50,
            max_workflows: 100,
        }
    }
}

impl Quotas {
    pub const LIMIT: i32 = 100_000;

    pub(crate) fn validate(&self) -> Result<(), FieldError> {
        for (field, value) in [
            ("quotas.max_users", self.max_users),
            ("quotas.max_workflows", self.max_workflows),
        ] {
            if !(1..=Self::LIMIT).contains(&value) {
                return Err(FieldError::new(
                    field,
                    format!("must be between 1 and {}", Self::LIMIT),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    pub plan: Plan,
    pub quotas: Quotas,
    pub cloud: CloudConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `POST /api/v1/tenants` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Zeebe's tenant id rule: at most 31 of `A-Z a-z 0-9 . _ -`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,31}$")]
    pub id: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: String,
    #[serde(default = "default_plan")]
    pub plan: Plan,
    #[serde(default, deserialize_with = "object::deserialize")]
    pub quotas: Quotas,
    #[serde(default, deserialize_with = "object::deserialize")]
    pub cloud: CloudConfig,
}

fn default_plan() -> Plan {
    Plan::Standard
}

/// What `PUT /api/v1/tenants/{id}/config` accepts: the whole configuration, replaced.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: String,
    pub status: TenantStatus,
    pub plan: Plan,
    #[serde(deserialize_with = "object::deserialize")]
    pub quotas: Quotas,
    #[serde(default, deserialize_with = "object::deserialize")]
    pub cloud: CloudConfig,
}

/// Names of tenants, members and tokens: 1 to 200 characters, no control characters (they
/// break displays and logs, and PostgreSQL cannot store NUL), no spaces at either end.
pub(crate) fn validate_name(field: &str, name: &str) -> Result<(), FieldError> {
    let length = name.chars().count();
    if length == 0
        || length > 200
        || name.trim() != name
        || name.chars().any(|c| c.is_ascii_control())
    {
        return Err(FieldError::new(
            field,
            "must be 1 to 200 characters without control characters or leading or trailing \
             spaces",
        ));
    }
    Ok(())
}

/// Whether the caller may change what the platform decides for a tenant — its status
/// (suspend, reactivate), plan and quotas — decided by the authorisation policy before the
/// service is called. An owner sets the rest of the configuration, never these: otherwise an
/// owner could lift its own tenant's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformSettings {
    Allowed,
    Refused,
}

impl PlatformSettings {
    pub(crate) fn allowed(self) -> bool {
        self == PlatformSettings::Allowed
    }
}

/// A user's membership in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// What `POST /api/v1/tenants/{id}/users` accepts.
///
/// An email with no account yet gets one, without a password: the person receives a one-time
/// link to choose one (or signs in through SSO). An email whose account exists, perhaps in
/// other tenants, joins as it is; the tenant knows the member by `name` (or the email's local
/// part), never by the name the account has elsewhere. The answer is the same either way.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"
    )]
    pub email: String,
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: Option<String>,
    pub role: Role,
}

pub(crate) fn validate_email(email: &str) -> Result<(), FieldError> {
    let valid = email.chars().count() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_ascii_control());
    if valid {
        Ok(())
    } else {
        Err(FieldError::new("email", "is not an email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_names_are_checked() {
        assert!(validate_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "a@b@c",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_name("name", "Acme").is_ok());
        assert!(validate_name("name", " Acme").is_err());
        assert!(validate_name("name", "").is_err());
    }

    #[test]
    fn quotas_are_bounded() {
        assert!(Quotas::default().validate().is_ok());
        let zero = Quotas {
            max_users: 0,
            ..Quotas::default()
        };
        assert_eq!(zero.validate().unwrap_err().field, "quotas.max_users");
    }
}
