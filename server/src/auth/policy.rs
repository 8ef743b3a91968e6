//! The one authorisation policy: role × action × resource.
//!
//! Every REST handler and server function calls [`authorize`] before it touches data, and the
//! matrix test in `tests/api/matrix.rs` runs every endpoint for every role against its own and a
//! foreign tenant. Row-level security is the second line: even a handler that asked the wrong
//! question could not read another tenant's rows.

use crate::domain::{Role, TenantId};

use super::principal::Principal;

/// Something a principal wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateTenant,
    ListAllTenants,
    /// Suspend or reactivate a tenant, or set its plan and quotas.
    ChangeTenantStatus,
    /// Read what ingest could not store (records of every tenant and engine).
    ReadIngestDeadLetters,
    /// Send any account a one-time link that sets its password (a reset).
    SendPasswordLinks,
    ReadTenant,
    UpdateTenantConfig,
    ListMembers,
    ManageMembers,
    ManageTokens,
    ReadAudit,
    ReadWorkflows,
    /// Create, change and delete workflows and their versions.
    EditWorkflows,
    ManageJobTypes,
    /// Engine targets and approval policies.
    ManageEnvironments,
    RequestDeployment,
    /// Approve a deployment; the environment's own policy then says which roles count.
    ApproveDeployment,
    RollbackDeployment,
    StartExecution,
    /// Retry incidents, cancel instances, set variables on running instances.
    OperateInstances,
    /// Create, list and revoke the OAuth clients of an environment's engine (Zeebe workers'
    /// credentials).
    ManageEngineClients,
}

/// What it is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// The installation as a whole.
    Platform,
    Tenant(&'a TenantId),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The principal has no role in the tenant; answered as "not found" so tenant ids cannot
    /// be probed.
    #[error("tenant not found")]
    NotAMember,
    #[error("the {role} role may not {what}")]
    Role {
        role: &'static str,
        what: &'static str,
    },
    #[error("only platform administrators may {0}")]
    NotPlatformAdmin(&'static str),
    #[error("change the one-time password first (POST /api/v1/me/password)")]
    PasswordChangeRequired,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::CreateTenant => "create tenants",
            Action::ListAllTenants => "list every tenant",
            Action::ChangeTenantStatus => {
                "suspend or reactivate tenants or set their plan and quotas"
            }
            Action::ReadIngestDeadLetters => "read ingest dead letters",
            Action::SendPasswordLinks => "send links that set an account's password",
            Action::ReadTenant => "read the tenant",
            Action::UpdateTenantConfig => "change the tenant's configuration",
            Action::ListMembers => "list members",
            Action::ManageMembers => "add, change or remove members",
            Action::ManageTokens => "create API tokens",
            Action::ReadAudit => "read the audit trail",
            Action::ReadWorkflows => "read workflows and deployments",
            Action::EditWorkflows => "create or change workflows",
            Action::ManageJobTypes => "declare job types",
            Action::ManageEnvironments => "change environments",
            Action::RequestDeployment => "deploy workflows",
            Action::ApproveDeployment => "approve deployments",
            Action::RollbackDeployment => "roll deployments back",
            Action::StartExecution => "start workflow executions",
            Action::OperateInstances => "operate on running instances",
            Action::ManageEngineClients => "manage engine clients",
        }
    }

    /// Whether a member with `role` may do this in their tenant.
    fn allowed_for(self, role: Role) -> bool {
        match self {
            Action::ReadTenant
            | Action::ListMembers
            | Action::ReadWorkflows
            | Action::ApproveDeployment => true,
            Action::EditWorkflows
            | Action::ManageJobTypes
            | Action::RequestDeployment
            | Action::RollbackDeployment
            | Action::StartExecution
            | Action::OperateInstances => matches!(role, Role::Owner | Role::Editor),
            Action::ManageEnvironments => role == Role::Owner,
            Action::UpdateTenantConfig
            | Action::ManageMembers
            | Action::ManageTokens
            | Action::ManageEngineClients => role == Role::Owner,
            Action::ReadAudit => matches!(role, Role::Owner | Role::Auditor),
            Action::CreateTenant
            | Action::ListAllTenants
            | Action::ChangeTenantStatus
            | Action::ReadIngestDeadLetters
            | Action::SendPasswordLinks => false,
        }
    }
}

/// Decides whether `principal` may do `action` to `resource`.
pub fn authorize(
    principal: &Principal,
    action: Action,
    resource: Resource<'_>,
) -> Result<(), Denied> {
    if principal.must_change_password {
        return Err(Denied::PasswordChangeRequired);
    }
    // Platform administration needs a signed-in administrator; API tokens are always scoped
    // to one tenant and never carry it.
    let admin = principal.platform_admin && principal.token_tenant.is_none();
    match resource {
        Resource::Platform => match action {
            Action::CreateTenant
            | Action::ListAllTenants
            | Action::ChangeTenantStatus
            | Action::ReadIngestDeadLetters
            | Action::SendPasswordLinks
                if admin =>
            {
                Ok(())
            }
            Action::CreateTenant
            | Action::ListAllTenants
            | Action::ChangeTenantStatus
            | Action::ReadIngestDeadLetters
            | Action::SendPasswordLinks => Err(Denied::NotPlatformAdmin(action.describe())),
            // Tenant actions are always asked about a tenant.
            _ => Err(Denied::NotAMember),
        },
        Resource::Tenant(tenant) => {
            if admin {
                return Ok(());
            }
            let role = principal.role_in(tenant).ok_or(Denied::NotAMember)?;
            if action.allowed_for(role) {
                Ok(())
            } else {
                Err(Denied::Role {
                    role: role.as_str(),
                    what: action.describe(),
                })
            }
        }
    }
}

/// Whether the principal may change tenants' status, plan and quotas, for
/// [`crate::tenants::store::update_config`].
pub fn platform_settings(principal: &Principal) -> crate::tenants::PlatformSettings {
    match authorize(principal, Action::ChangeTenantStatus, Resource::Platform) {
        Ok(()) => crate::tenants::PlatformSettings::Allowed,
        Err(_) => crate::tenants::PlatformSettings::Refused,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn member(role: Role) -> Principal {
        Principal {
            user_id: Some(uuid::Uuid::nil()),
            label: "someone@example.com".into(),
            platform_admin: false,
            must_change_password: false,
            memberships: BTreeMap::from([("own".to_owned(), role)]),
            token_tenant: None,
            rate_key: "user:test".into(),
        }
    }

    #[test]
    fn members_act_in_their_tenant_by_role_only() {
        let own = TenantId::new("own").unwrap();
        let foreign = TenantId::new("foreign").unwrap();
        let expect = [
            (Role::Owner, [true, true, true, true, true, true, true]),
            (
                Role::Editor,
                [true, false, true, false, false, false, false],
            ),
            (
                Role::Viewer,
                [true, false, true, false, false, false, false],
            ),
            (
                Role::Auditor,
                [true, false, true, false, false, true, false],
            ),
        ];
        let actions = [
            Action::ReadTenant,
            Action::UpdateTenantConfig,
            Action::ListMembers,
            Action::ManageMembers,
            Action::ManageTokens,
            Action::ReadAudit,
            Action::ManageEngineClients,
        ];
        for (role, allowed) in expect {
            let principal = member(role);
            for (action, allowed) in actions.into_iter().zip(allowed) {
                assert_eq!(
                    authorize(&principal, action, Resource::Tenant(&own)).is_ok(),
                    allowed,
                    "{role} {action:?}"
                );
                assert_eq!(
                    authorize(&principal, action, Resource::Tenant(&foreign)),
                    Err(Denied::NotAMember)
                );
            }
            assert!(authorize(&principal, Action::CreateTenant, Resource::Platform).is_err());
        }
    }

    #[test]
    fn admins_need_a_session_and_a_changed_password() {
        let tenant = TenantId::new("any").unwrap();
        let mut admin = member(Role::Viewer);
        admin.platform_admin = true;
        assert!(authorize(&admin, Action::CreateTenant, Resource::Platform).is_ok());
        assert!(authorize(&admin, Action::ChangeTenantStatus, Resource::Platform).is_ok());
        assert!(
            authorize(
                &member(Role::Owner),
                Action::ChangeTenantStatus,
                Resource::Platform
            )
            .is_err()
        );
        assert!(authorize(&admin, Action::ManageMembers, Resource::Tenant(&tenant)).is_ok());

        admin.must_change_password = true;
        assert_eq!(
            authorize(&admin, Action::ReadTenant, Resource::Tenant(&tenant)),
            Err(Denied::PasswordChangeRequired)
        );

        admin.must_change_password = false;
        admin.token_tenant = Some((tenant, Role::Owner));
        assert!(authorize(&admin, Action::CreateTenant, Resource::Platform).is_err());
    }
}
