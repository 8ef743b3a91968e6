//! Deployments of workflow versions to environments, and their approvals.
//!
//! A deployment moves through an explicit state machine ([`State::can_become`]); every
//! transition is one transaction that also appends to the tenant's audit trail. The rules of
//! promotion are plain functions ([`may_approve`], [`approvals_satisfied`]) so they can be read
//! and tested without a database; the I/O (validation, calls to the engine) lives in
//! [`crate::pipeline`].
//!
//! The feature's parts: [`store`] (the SQL), [`service`] (what a caller may do), [`routes`]
//! (the REST API).

pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{domain::Role, environments::Environment};

/// Where a deployment is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Requested,
    Validating,
    AwaitingApproval,
    Deploying,
    Deployed,
    Failed,
    /// Was deployed, then replaced by a rollback to an earlier version.
    RolledBack,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Requested,
        State::Validating,
        State::AwaitingApproval,
        State::Deploying,
        State::Deployed,
        State::Failed,
        State::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Validating => "validating",
            State::AwaitingApproval => "awaiting_approval",
            State::Deploying => "deploying",
            State::Deployed => "deployed",
            State::Failed => "failed",
            State::RolledBack => "rolled_back",
        }
    }

    fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The transitions the state machine allows.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Requested, Validating)
                | (Validating, AwaitingApproval | Deploying | Failed)
                | (AwaitingApproval, Deploying | Failed)
                | (Deploying, Deployed | Failed)
                | (Deployed, RolledBack)
        )
    }

    /// No further transition except a rollback of a deployed one.
    pub fn is_settled(self) -> bool {
        matches!(self, State::Deployed | State::Failed | State::RolledBack)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Deployment {
    pub id: Uuid,
    pub tenant_id: String,
    pub workflow_id: Uuid,
    pub workflow_key: String,
    pub version: i32,
    pub version_id: Uuid,
    pub environment: String,
    pub state: State,
    pub requested_by: String,
    pub requested_by_id: Option<Uuid>,
    /// For a rollback: the deployment it replaced.
    pub rollback_of: Option<Uuid>,
    /// The validation's findings (`[{code, severity, message, element_id}]`).
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Value,
    pub error: Option<String>,
    pub process_definition_key: Option<i64>,
    pub process_version: Option<i32>,
    /// When it reached `deployed`.
    pub deployed_at: Option<DateTime<Utc>>,
    pub approvals: Vec<Approval>,
    /// Approvals still needed before it deploys (0 once it has them).
    pub approvals_missing: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Approval {
    pub approver_id: Uuid,
    pub approver: String,
    pub role: Role,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// What `POST /api/v1/deployments` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    pub workflow_id: Uuid,
    /// The version to deploy; the latest when left out.
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: Option<i32>,
    #[schema(pattern = "^[a-z][a-z0-9-]{0,30}$")]
    pub environment: String,
}

fn optional_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i32>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "crate::domain::integer::deserialize")] i32);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(value)| value))
}

/// What `POST /api/v1/deployments/{id}/approvals` accepts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub comment: String,
}

/// A state change, published to in-process subscribers (the monitor's WebSocket carries them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub tenant_id: String,
    pub deployment_id: Uuid,
    pub state: State,
    pub at: DateTime<Utc>,
}

/// The deployment serving new instances of a workflow in `environment`, among that
/// workflow's `deployments`: its most recently deployed one — the rule [`store::active`]
/// applies in SQL.
pub fn active_of<'a>(deployments: &'a [Deployment], environment: &str) -> Option<&'a Deployment> {
    deployments
        .iter()
        .filter(|d| d.environment == environment && d.state == State::Deployed)
        .max_by_key(|d| (d.deployed_at, d.created_at))
}

/// Why an approval is refused, decided from the deployment, the policy and the approver.
pub fn may_approve(
    environment: &Environment,
    deployment: &Deployment,
    approver: Uuid,
    role: Role,
) -> Result<(), String> {
    if deployment.state != State::AwaitingApproval {
        return Err(format!(
            "the deployment is {}, not awaiting approval",
            deployment.state.as_str()
        ));
    }
    if deployment.requested_by_id == Some(approver) {
        return Err("you requested this deployment; someone else must approve it".to_owned());
    }
    if deployment
        .approvals
        .iter()
        .any(|approval| approval.approver_id == approver)
    {
        return Err("you have approved this deployment already".to_owned());
    }
    if !environment.approver_roles.contains(&role) {
        return Err(format!(
            "in {} approvals come from {}; your role is {role}",
            environment.name,
            environment
                .approver_roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(())
}

/// How many more approvals `approvals` need under the environment's policy as it is now: an
/// approval given in a role the environment no longer accepts does not count.
pub fn approvals_missing(environment: &Environment, approvals: &[Approval]) -> i32 {
    let counted: Vec<&Approval> = approvals
        .iter()
        .filter(|approval| environment.approver_roles.contains(&approval.role))
        .collect();
    let count = i32::try_from(counted.len()).unwrap_or(i32::MAX);
    let mut missing = (environment.approvals_required - count).max(0);
    if environment.require_owner_approval
        && environment.approvals_required > 0
        && !counted.iter().any(|approval| approval.role == Role::Owner)
    {
        missing = missing.max(1);
    }
    missing
}

pub fn approvals_satisfied(environment: &Environment, approvals: &[Approval]) -> bool {
    approvals_missing(environment, approvals) == 0
}

/// What a transition records besides the new state.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub diagnostics: Option<Value>,
    pub error: Option<String>,
    pub process_definition_key: Option<i64>,
    pub process_version: Option<i32>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::environments::EngineSettings;

    fn prod() -> Environment {
        Environment {
            id: Uuid::new_v4(),
            tenant_id: "acme".into(),
            name: "prod".into(),
            position: 3,
            engine: EngineSettings::Embedded,
            approvals_required: 2,
            approver_roles: vec![Role::Owner, Role::Editor],
            require_owner_approval: true,
            ingest_token_created_at: None,
            gateway_address: None,
        }
    }

    fn approval(role: Role) -> Approval {
        Approval {
            approver_id: Uuid::new_v4(),
            approver: "someone".into(),
            role,
            comment: String::new(),
            created_at: Utc::now(),
        }
    }

    fn awaiting(requester: Uuid) -> Deployment {
        Deployment {
            id: Uuid::new_v4(),
            tenant_id: "acme".into(),
            workflow_id: Uuid::new_v4(),
            workflow_key: "order".into(),
            version: 1,
            version_id: Uuid::new_v4(),
            environment: "prod".into(),
            state: State::AwaitingApproval,
            requested_by: "requester".into(),
            requested_by_id: Some(requester),
            rollback_of: None,
            diagnostics: json!([]),
            error: None,
            process_definition_key: None,
            process_version: None,
            deployed_at: None,
            approvals: vec![],
            approvals_missing: 2,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_state_machine_allows_only_forward_transitions() {
        use State::*;
        assert!(Requested.can_become(Validating));
        assert!(Validating.can_become(AwaitingApproval));
        assert!(AwaitingApproval.can_become(Deploying));
        assert!(Deploying.can_become(Deployed));
        assert!(Deployed.can_become(RolledBack));
        for settled in [Failed, RolledBack] {
            for next in State::ALL {
                assert!(!settled.can_become(next), "{settled:?} -> {next:?}");
            }
        }
        assert!(!Requested.can_become(Deployed), "no skipping validation");
        assert!(
            !AwaitingApproval.can_become(Deployed),
            "no skipping the engine"
        );
    }

    #[test]
    fn prod_needs_two_approvals_one_of_them_an_owner() {
        let prod = prod();
        assert_eq!(approvals_missing(&prod, &[]), 2);
        assert_eq!(approvals_missing(&prod, &[approval(Role::Editor)]), 1);
        assert_eq!(
            approvals_missing(&prod, &[approval(Role::Editor), approval(Role::Editor)]),
            1,
            "two editors are not enough without an owner"
        );
        assert!(approvals_satisfied(
            &prod,
            &[approval(Role::Editor), approval(Role::Owner)]
        ));
        let owners_only = Environment {
            approver_roles: vec![Role::Owner],
            ..prod.clone()
        };
        assert_eq!(
            approvals_missing(
                &owners_only,
                &[approval(Role::Editor), approval(Role::Owner)]
            ),
            1,
            "an editor's approval stops counting once editors are no longer approvers"
        );
        let dev = Environment {
            approvals_required: 0,
            require_owner_approval: false,
            ..prod
        };
        assert!(approvals_satisfied(&dev, &[]));
    }

    #[test]
    fn the_requester_never_approves_their_own_deployment() {
        let requester = Uuid::new_v4();
        let deployment = awaiting(requester);
        let refused = may_approve(&prod(), &deployment, requester, Role::Owner).unwrap_err();
        assert!(refused.contains("someone else"), "{refused}");
        assert!(may_approve(&prod(), &deployment, Uuid::new_v4(), Role::Owner).is_ok());
        let viewer = may_approve(&prod(), &deployment, Uuid::new_v4(), Role::Viewer).unwrap_err();
        assert!(viewer.contains("owner or editor"), "{viewer}");
        let done = Deployment {
            state: State::Deployed,
            ..deployment
        };
        assert!(may_approve(&prod(), &done, Uuid::new_v4(), Role::Owner).is_err());
    }
}
