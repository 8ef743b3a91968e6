//! The live monitor's WebSocket protocol (`/api/v1/ws`), shared by the server and the browser.
//!
//! A client subscribes to [`Topic`]s; the server pushes [`Delta`]s that match them. Deltas
//! are small on purpose — what changed, not the whole row — and a client that needs more
//! reads it over REST. A client that falls behind gets [`ServerMessage::Resync`] instead of an
//! ever-growing backlog, and re-reads what it shows.
//!
//! Every message is one JSON text frame, tagged by `type`:
//!
//! ```text
//! → {"type":"subscribe","id":"s1","topic":{"kind":"instances","tenant":"demo","environment":"dev"}}
//! ← {"type":"subscribed","id":"s1"}
//! ← {"type":"delta","subscription":"s1","deltas":[{"kind":"instance","state":"completed",…}]}
//! ← {"type":"resync","reason":"…"}
//! ```

use serde::{Deserialize, Serialize};

/// What kind of thing a [`Delta`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaKind {
    /// A process instance started, completed, was terminated, or its open incidents changed.
    Instance,
    /// An element instance (or a taken sequence flow) changed state.
    Element,
    /// An incident was created or resolved.
    Incident,
    /// A variable was created or updated (`element_id` holds its name).
    Variable,
    /// A job changed state.
    Job,
    /// A deployment moved on (`deployment_id` says which).
    Deployment,
}

/// One change, as pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    pub tenant_id: String,
    /// The environment's name (`dev`, `prod`, …).
    pub environment: String,
    pub kind: DeltaKind,
    /// The process instance concerned; 0 for a deployment.
    pub process_instance_key: i64,
    /// The key of what changed (the element instance, incident, job, variable scope); for
    /// an instance its own key.
    pub key: i64,
    /// The process id (a workflow's key).
    #[serde(default)]
    pub bpmn_process_id: String,
    /// The BPMN element concerned, or a variable's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element_id: Option<String>,
    /// The new state: `active`, `completed`, `terminated`, `activated`, `resolved`, …
    pub state: String,
    /// For an instance: how many incidents are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<i32>,
    /// For a deployment: its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// When the engine wrote the record behind this change, epoch milliseconds.
    pub timestamp: i64,
    /// The record's position in its partition; 0 for a deployment.
    #[serde(default)]
    pub position: i64,
}

/// What a subscription follows. Every topic names its tenant, and the server refuses topics
/// of tenants the caller is not a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Topic {
    /// A tenant's process instances: starts, ends and incident counts, optionally of one
    /// environment or one process id (a workflow's key).
    Instances {
        tenant: String,
        #[serde(default)]
        environment: Option<String>,
        #[serde(default)]
        bpmn_process_id: Option<String>,
    },
    /// Everything about one process instance: its elements, variables, incidents and jobs.
    Instance {
        tenant: String,
        environment: String,
        process_instance_key: i64,
    },
    /// A tenant's incidents, optionally of one environment.
    Incidents {
        tenant: String,
        #[serde(default)]
        environment: Option<String>,
    },
    /// A tenant's deployments.
    Deployments { tenant: String },
}

impl Topic {
    /// The tenant the topic belongs to.
    pub fn tenant(&self) -> &str {
        match self {
            Topic::Instances { tenant, .. }
            | Topic::Instance { tenant, .. }
            | Topic::Incidents { tenant, .. }
            | Topic::Deployments { tenant } => tenant,
        }
    }

    /// Whether `delta` belongs to this topic.
    pub fn matches(&self, delta: &Delta) -> bool {
        if delta.tenant_id != self.tenant() {
            return false;
        }
        let environment_ok =
            |wanted: &Option<String>| wanted.as_ref().is_none_or(|e| *e == delta.environment);
        match self {
            Topic::Instances {
                environment,
                bpmn_process_id,
                ..
            } => {
                delta.kind == DeltaKind::Instance
                    && environment_ok(environment)
                    && bpmn_process_id
                        .as_ref()
                        .is_none_or(|id| *id == delta.bpmn_process_id)
            }
            Topic::Instance {
                environment,
                process_instance_key,
                ..
            } => {
                delta.kind != DeltaKind::Deployment
                    && *environment == delta.environment
                    && *process_instance_key == delta.process_instance_key
            }
            Topic::Incidents { environment, .. } => {
                delta.kind == DeltaKind::Incident && environment_ok(environment)
            }
            Topic::Deployments { .. } => delta.kind == DeltaKind::Deployment,
        }
    }
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Start following `topic`; deltas for it name the subscription `id`.
    Subscribe {
        id: String,
        topic: Topic,
    },
    Unsubscribe {
        id: String,
    },
    Ping,
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Subscribed {
        id: String,
    },
    Unsubscribed {
        id: String,
    },
    /// Changes for one subscription, oldest first.
    Delta {
        subscription: String,
        deltas: Vec<Delta>,
    },
    /// Some changes were not delivered (the client read too slowly, or the server's feed
    /// restarted): re-read what is shown, then carry on with the deltas that follow.
    Resync {
        reason: String,
    },
    /// A message was refused; `id` names the subscription when it was about one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: String,
        message: String,
    },
    Pong,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(kind: DeltaKind) -> Delta {
        Delta {
            tenant_id: "acme".into(),
            environment: "dev".into(),
            kind,
            process_instance_key: 7,
            key: 9,
            bpmn_process_id: "order".into(),
            element_id: None,
            state: "active".into(),
            incidents: None,
            deployment_id: None,
            timestamp: 1,
            position: 1,
        }
    }

    #[test]
    fn topics_match_their_tenant_only() {
        let topic = Topic::Instances {
            tenant: "other".into(),
            environment: None,
            bpmn_process_id: None,
        };
        assert!(!topic.matches(&delta(DeltaKind::Instance)));
    }

    #[test]
    fn topics_narrow_by_environment_process_and_instance() {
        let instances = Topic::Instances {
            tenant: "acme".into(),
            environment: Some("dev".into()),
            bpmn_process_id: Some("order".into()),
        };
        assert!(instances.matches(&delta(DeltaKind::Instance)));
        assert!(!instances.matches(&delta(DeltaKind::Element)));
        let mut prod = delta(DeltaKind::Instance);
        prod.environment = "prod".into();
        assert!(!instances.matches(&prod));

        let one = Topic::Instance {
            tenant: "acme".into(),
            environment: "dev".into(),
            process_instance_key: 7,
        };
        assert!(one.matches(&delta(DeltaKind::Element)));
        assert!(one.matches(&delta(DeltaKind::Variable)));
        let mut other = delta(DeltaKind::Element);
        other.process_instance_key = 8;
        assert!(!one.matches(&other));

        let incidents = Topic::Incidents {
            tenant: "acme".into(),
            environment: None,
        };
        assert!(incidents.matches(&delta(DeltaKind::Incident)));
        assert!(!incidents.matches(&delta(DeltaKind::Job)));
    }

    #[test]
    fn messages_are_tagged_json() {
        let message: ClientMessage = serde_json::from_str(
            r#"{"type":"subscribe","id":"s1","topic":{"kind":"incidents","tenant":"acme"}}"#,
        )
        .unwrap();
        assert_eq!(
            message,
            ClientMessage::Subscribe {
                id: "s1".into(),
                topic: Topic::Incidents {
                    tenant: "acme".into(),
                    environment: None
                }
            }
        );
        let text = serde_json::to_string(&ServerMessage::Resync {
            reason: "slow".into(),
        })
        .unwrap();
        assert_eq!(text, r#"{"type":"resync","reason":"slow"}"#);
    }
}
