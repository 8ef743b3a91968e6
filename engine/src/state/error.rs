//! What goes wrong when a record is applied to the state or processed against it.
//!
//! Two kinds, told apart by [`ApplyError::is_broken_invariant`]:
//!
//! * a record or snapshot that cannot be used at all (a deployed resource that no longer
//!   parses, a damaged snapshot): the engine refuses to start on it rather than run on a
//!   wrong state;
//! * a broken invariant: a record or a processing step refers to something the state
//!   does not hold (an element instance, a job, a process definition, an element of
//!   one), or asks for a lifecycle transition that is not allowed. That is a bug of the
//!   engine. It is never skipped silently: [`ApplyError::report`] panics in debug builds,
//!   so the test that broke the invariant fails where it happened, and logs an error in
//!   release builds; the processor raises an incident on the element instance concerned
//!   when there is one (see `Ctx::broken`).
//!
//! Lookups where absence is normal (a timer cancelled by an earlier trigger of the same
//! tick, an element instance terminated by an earlier step of the same command) do not
//! go through these errors; each says why at its site.

use super::Lifecycle;

/// What kind of entity a broken invariant refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// An element instance.
    ElementInstance,
    /// A job.
    Job,
    /// A deployed process definition.
    ProcessDefinition,
    /// A buffered message.
    Message,
    /// A timer.
    Timer,
    /// A process message subscription.
    MessageSubscription,
    /// A message start event subscription.
    MessageStartSubscription,
    /// A signal subscription.
    SignalSubscription,
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ElementInstance => "element instance",
            Self::Job => "job",
            Self::ProcessDefinition => "process definition",
            Self::Message => "message",
            Self::Timer => "timer",
            Self::MessageSubscription => "message subscription",
            Self::MessageStartSubscription => "message start event subscription",
            Self::SignalSubscription => "signal subscription",
        })
    }
}

/// A record that cannot be applied, or a broken invariant of the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The record or snapshot cannot be used (e.g. a deployed resource that no longer
    /// parses).
    #[error("cannot apply record: {0}")]
    Invalid(String),
    /// A snapshot written in another format version.
    #[error(
        "cannot apply record: snapshot format {found} is not this engine's format {expected}; the log will be replayed instead"
    )]
    SnapshotFormat {
        /// The version the file has.
        found: String,
        /// The version this engine writes.
        expected: String,
    },
    /// Something a record or a step refers to by key is not in the state.
    #[error("broken invariant: {what} {key} does not exist")]
    Missing {
        /// What kind of entity.
        what: Entity,
        /// Its key.
        key: i64,
    },
    /// An element instance's element is not in its process definition.
    #[error("broken invariant: element '{element_id}' is not in process definition {definition}")]
    MissingElement {
        /// The process definition key.
        definition: i64,
        /// The BPMN id of the element.
        element_id: String,
    },
    /// A lifecycle transition that [`Lifecycle::can_become`] does not allow.
    #[error("broken invariant: element instance {key} cannot go from {from:?} to {to:?}")]
    Transition {
        /// The element instance.
        key: i64,
        /// Where it is.
        from: Lifecycle,
        /// Where it was asked to go.
        to: Lifecycle,
    },
    /// Something else the engine guarantees does not hold (a record lacks what the
    /// engine always writes into it, a deployed element it cannot run, …).
    #[error("broken invariant: {0}")]
    Inconsistent(String),
}

impl ApplyError {
    /// `what` with `key` is not in the state.
    #[must_use]
    pub const fn missing(what: Entity, key: i64) -> Self {
        Self::Missing { what, key }
    }

    /// Whether this is a bug of the engine (see the module docs) rather than a record or
    /// snapshot that cannot be used.
    #[must_use]
    pub const fn is_broken_invariant(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. }
                | Self::MissingElement { .. }
                | Self::Transition { .. }
                | Self::Inconsistent(_)
        )
    }

    /// Reports a broken invariant: panics in debug builds, logs an error in release
    /// builds (then the caller carries on as well as it can).
    ///
    /// # Panics
    /// Always, in debug builds.
    #[track_caller]
    pub fn report(&self, context: &str) {
        if cfg!(debug_assertions) {
            panic!("{context}: {self}");
        }
        tracing::error!(error = %self, context, "the engine's state is inconsistent");
    }
}
