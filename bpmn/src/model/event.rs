//! Event data: [`Event`] and its [`EventDefinition`]s, including timers.

use serde::{Deserialize, Serialize};

use super::{Base, Expression, Id};

/// Data of an event (start, intermediate, end, boundary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Event definitions; empty for a "none" event.
    pub definitions: Vec<EventDefinition>,
    /// `isInterrupting` (start events of event sub-processes).
    pub is_interrupting: Option<bool>,
    /// `parallelMultiple`.
    pub parallel_multiple: Option<bool>,
    /// `attachedToRef` (boundary events).
    pub attached_to_ref: Option<Id>,
    /// `cancelActivity` (boundary events).
    pub cancel_activity: Option<bool>,
}

impl Event {
    /// An event with one definition.
    pub fn with(kind: EventDefinitionKind) -> Self {
        Self {
            definitions: vec![EventDefinition::new(kind)],
            ..Self::default()
        }
    }

    /// The first event definition, if any.
    pub fn definition(&self) -> Option<&EventDefinitionKind> {
        self.definitions.first().map(|d| &d.kind)
    }

    /// `isInterrupting` with its default (true).
    pub fn interrupting(&self) -> bool {
        self.is_interrupting.unwrap_or(true)
    }

    /// `cancelActivity` with its default (true).
    pub fn cancels_activity(&self) -> bool {
        self.cancel_activity.unwrap_or(true)
    }
}

/// An event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDefinition {
    /// `id`.
    #[serde(default)]
    pub id: Option<Id>,
    /// Kind and kind-specific data.
    pub kind: EventDefinitionKind,
    /// Documentation, extensions and unknown content.
    #[serde(default)]
    pub base: Base,
}

impl EventDefinition {
    /// A definition without id.
    pub fn new(kind: EventDefinitionKind) -> Self {
        Self {
            id: None,
            kind,
            base: Base::default(),
        }
    }
}

/// The kinds of event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventDefinitionKind {
    /// `bpmn:messageEventDefinition`.
    Message {
        /// `messageRef`.
        message_ref: Option<Id>,
    },
    /// `bpmn:timerEventDefinition`.
    Timer(TimerDefinition),
    /// `bpmn:errorEventDefinition`.
    Error {
        /// `errorRef`.
        error_ref: Option<Id>,
    },
    /// `bpmn:signalEventDefinition`.
    Signal {
        /// `signalRef`.
        signal_ref: Option<Id>,
    },
    /// `bpmn:escalationEventDefinition`.
    Escalation {
        /// `escalationRef`.
        escalation_ref: Option<Id>,
    },
    /// `bpmn:terminateEventDefinition`.
    Terminate,
    /// `bpmn:cancelEventDefinition`.
    Cancel,
    /// `bpmn:linkEventDefinition`.
    Link {
        /// `name`: throw and catch links pair by name.
        name: Option<String>,
    },
    /// `bpmn:conditionalEventDefinition`.
    Conditional {
        /// `bpmn:condition`.
        condition: Option<Expression>,
    },
    /// `bpmn:compensateEventDefinition`.
    Compensate {
        /// `activityRef`.
        activity_ref: Option<Id>,
        /// `waitForCompletion`.
        wait_for_completion: Option<bool>,
    },
}

impl EventDefinitionKind {
    /// The BPMN element name (`timerEventDefinition`, …).
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Message { .. } => "messageEventDefinition",
            Self::Timer(_) => "timerEventDefinition",
            Self::Error { .. } => "errorEventDefinition",
            Self::Signal { .. } => "signalEventDefinition",
            Self::Escalation { .. } => "escalationEventDefinition",
            Self::Terminate => "terminateEventDefinition",
            Self::Cancel => "cancelEventDefinition",
            Self::Link { .. } => "linkEventDefinition",
            Self::Conditional { .. } => "conditionalEventDefinition",
            Self::Compensate { .. } => "compensateEventDefinition",
        }
    }
}

/// `bpmn:timerEventDefinition`: exactly one of the three should be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimerDefinition {
    /// `bpmn:timeDate`: an ISO-8601 date-time.
    pub time_date: Option<Expression>,
    /// `bpmn:timeDuration`: an ISO-8601 duration.
    pub time_duration: Option<Expression>,
    /// `bpmn:timeCycle`: an ISO-8601 repeating interval or a cron expression.
    pub time_cycle: Option<Expression>,
}
