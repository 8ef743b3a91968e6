//! The control-plane audit trail: append-only, one SHA-256 hash chain per tenant.
//!
//! Every state-changing service call appends an event in the same transaction as the change, so
//! a change and its record commit or roll back together. Writers of one tenant serialise on a
//! transaction-scoped advisory lock, which keeps the chain linear under concurrency; the
//! `(tenant_id, seq)` unique key is the backstop. The database refuses UPDATE, DELETE and
//! TRUNCATE on the table; an edit made with triggers disabled breaks a hash, and
//! [`store::verify`] names the first event whose hash or link no longer holds.
//!
//! The feature's parts: [`chain`] (the events and how they are hashed and checked), [`store`]
//! (the SQL), [`service`] (reading and verifying for a caller), [`routes`] (the REST API).
//! Every audited action is an [`AuditAction`]. The execution trail of engine records is a
//! second chain of the same construction, in [`crate::monitor::trail`].

pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod routes;
pub mod service;
pub mod store;

pub use chain::{Actor, AuditEvent, Change, Filter, Verification};
pub use store::append;

/// Every action the control-plane audit trail records. Its dotted name is what is stored and
/// what `GET …/audit?action=` filters on; the type of its target follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    TenantCreate,
    TenantUpdateConfig,
    MemberAdd,
    MemberChangeRole,
    MemberRemove,
    TokenCreate,
    TokenRevoke,
    WorkflowCreate,
    WorkflowUpdate,
    WorkflowDelete,
    WorkflowVersionCreate,
    JobTypeAdd,
    JobTypeRemove,
    EnvironmentUpdate,
    EnvironmentIngestTokenCreate,
    EngineClientCreate,
    EngineClientRevoke,
    DeploymentRequest,
    DeploymentRollback,
    DeploymentTransition,
    DeploymentApprove,
    ExecutionStart,
    InstanceCancel,
    InstanceVariablesSet,
    IncidentRetry,
}

impl AuditAction {
    pub const ALL: [AuditAction; 25] = [
        AuditAction::TenantCreate,
        AuditAction::TenantUpdateConfig,
        AuditAction::MemberAdd,
        AuditAction::MemberChangeRole,
        AuditAction::MemberRemove,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::WorkflowCreate,
        AuditAction::WorkflowUpdate,
        AuditAction::WorkflowDelete,
        AuditAction::WorkflowVersionCreate,
        AuditAction::JobTypeAdd,
        AuditAction::JobTypeRemove,
        AuditAction::EnvironmentUpdate,
        AuditAction::EnvironmentIngestTokenCreate,
        AuditAction::EngineClientCreate,
        AuditAction::EngineClientRevoke,
        AuditAction::DeploymentRequest,
        AuditAction::DeploymentRollback,
        AuditAction::DeploymentTransition,
        AuditAction::DeploymentApprove,
        AuditAction::ExecutionStart,
        AuditAction::InstanceCancel,
        AuditAction::InstanceVariablesSet,
        AuditAction::IncidentRetry,
    ];

    /// The stored, dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TenantCreate => "tenant.create",
            AuditAction::TenantUpdateConfig => "tenant.update_config",
            AuditAction::MemberAdd => "member.add",
            AuditAction::MemberChangeRole => "member.change_role",
            AuditAction::MemberRemove => "member.remove",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::WorkflowCreate => "workflow.create",
            AuditAction::WorkflowUpdate => "workflow.update",
            AuditAction::WorkflowDelete => "workflow.delete",
            AuditAction::WorkflowVersionCreate => "workflow_version.create",
            AuditAction::JobTypeAdd => "job_type.add",
            AuditAction::JobTypeRemove => "job_type.remove",
            AuditAction::EnvironmentUpdate => "environment.update",
            AuditAction::EnvironmentIngestTokenCreate => "environment.ingest_token.create",
            AuditAction::EngineClientCreate => "engine_client.create",
            AuditAction::EngineClientRevoke => "engine_client.revoke",
            AuditAction::DeploymentRequest => "deployment.request",
            AuditAction::DeploymentRollback => "deployment.rollback",
            AuditAction::DeploymentTransition => "deployment.transition",
            AuditAction::DeploymentApprove => "deployment.approve",
            AuditAction::ExecutionStart => "execution.start",
            AuditAction::InstanceCancel => "instance.cancel",
            AuditAction::InstanceVariablesSet => "instance.variables.set",
            AuditAction::IncidentRetry => "incident.retry",
        }
    }

    /// What kind of thing the event's `target_id` names.
    pub fn target_type(self) -> &'static str {
        match self {
            AuditAction::TenantCreate | AuditAction::TenantUpdateConfig => "tenant",
            AuditAction::MemberAdd | AuditAction::MemberChangeRole | AuditAction::MemberRemove => {
                "user"
            }
            AuditAction::TokenCreate | AuditAction::TokenRevoke => "api_token",
            AuditAction::WorkflowCreate
            | AuditAction::WorkflowUpdate
            | AuditAction::WorkflowDelete
            | AuditAction::WorkflowVersionCreate
            // An execution is recorded against the workflow it runs.
            | AuditAction::ExecutionStart => "workflow",
            AuditAction::JobTypeAdd | AuditAction::JobTypeRemove => "job_type",
            AuditAction::EnvironmentUpdate | AuditAction::EnvironmentIngestTokenCreate => {
                "environment"
            }
            AuditAction::EngineClientCreate | AuditAction::EngineClientRevoke => "engine_client",
            AuditAction::DeploymentRequest
            | AuditAction::DeploymentRollback
            | AuditAction::DeploymentTransition
            | AuditAction::DeploymentApprove => "deployment",
            AuditAction::InstanceCancel | AuditAction::InstanceVariablesSet => "process_instance",
            AuditAction::IncidentRetry => "incident",
        }
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::AuditAction;

    #[test]
    fn every_action_has_its_own_dotted_name() {
        let names: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            let (noun, verb) = action.as_str().split_once('.').expect("dotted");
            assert!(!noun.is_empty() && !verb.is_empty(), "{action}");
        }
    }
}
