//! Collaborations: pools ([`Participant`]s), message flows and their artifacts.

use serde::{Deserialize, Serialize};

use super::{Artifact, Base, Id};

/// `bpmn:collaboration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Collaboration {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `isClosed`.
    pub is_closed: Option<bool>,
    /// `bpmn:participant` (pools).
    pub participants: Vec<Participant>,
    /// `bpmn:messageFlow`.
    pub message_flows: Vec<MessageFlow>,
    /// Artifacts drawn on the collaboration.
    pub artifacts: Vec<Artifact>,
    /// Documentation, extensions and unknown content (conversations, …).
    pub base: Base,
}

/// `bpmn:participant` (a pool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Participant {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `processRef`: the process shown in the pool (absent for a black-box pool).
    pub process_ref: Option<Id>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:messageFlow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageFlow {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `sourceRef`.
    pub source_ref: Id,
    /// `targetRef`.
    pub target_ref: Id,
    /// `messageRef`.
    pub message_ref: Option<Id>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}
