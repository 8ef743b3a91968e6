//! Where an element instance is in its lifecycle, and the moves it may make.
//!
//! ```text
//! Activating ─► Activated ─► Completing ─► Completed
//!     │             │             │
//!     └─────────────┴─────────────┴─► Terminating ─► Terminated
//! ```
//!
//! An instance that is completed or terminated leaves the state; those two are named so
//! that every transition, the last one included, is checked by [`Lifecycle::can_become`].
//! On the wire each state is the intent of a `PROCESS_INSTANCE` event
//! (`ELEMENT_ACTIVATING`, …); [`Lifecycle::intent`] and [`Lifecycle::of_intent`] convert.

use serde::{Deserialize, Serialize};
use zeebe::record::Intent;

/// Where an element instance is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    /// Activating: input mappings and behaviour start run here.
    Activating,
    /// Active and waiting (e.g. for its job) or about to complete.
    Activated,
    /// Completing: output mappings and outgoing-flow selection run here.
    Completing,
    /// Being terminated.
    Terminating,
    /// Completed: the instance has left the state.
    Completed,
    /// Terminated: the instance has left the state.
    Terminated,
}

impl Lifecycle {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::Activating,
        Self::Activated,
        Self::Completing,
        Self::Terminating,
        Self::Completed,
        Self::Terminated,
    ];

    /// Whether an instance in this state may move to `next` (see the module docs). An
    /// instance is created `Activating`; no transition leads there.
    #[must_use]
    pub const fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Activating, Self::Activated | Self::Terminating)
                | (Self::Activated, Self::Completing | Self::Terminating)
                | (Self::Completing, Self::Completed | Self::Terminating)
                | (Self::Terminating, Self::Terminated)
        )
    }

    /// Whether the instance has left the state in this state.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Terminated)
    }

    /// The `PROCESS_INSTANCE` intent that records the move into this state.
    #[must_use]
    pub const fn intent(self) -> Intent {
        match self {
            Self::Activating => Intent::ELEMENT_ACTIVATING,
            Self::Activated => Intent::ELEMENT_ACTIVATED,
            Self::Completing => Intent::ELEMENT_COMPLETING,
            Self::Terminating => Intent::ELEMENT_TERMINATING,
            Self::Completed => Intent::ELEMENT_COMPLETED,
            Self::Terminated => Intent::ELEMENT_TERMINATED,
        }
    }

    /// The state a `PROCESS_INSTANCE` intent records a move into; `None` for other
    /// intents (e.g. `SEQUENCE_FLOW_TAKEN`).
    #[must_use]
    pub fn of_intent(intent: &Intent) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.intent() == *intent)
    }
}

#[cfg(test)]
mod tests {
    use super::Lifecycle::{self, *};

    /// The whole transition table: every pair not listed is refused.
    #[test]
    fn only_the_documented_transitions_are_allowed() {
        let allowed = [
            (Activating, Activated),
            (Activating, Terminating),
            (Activated, Completing),
            (Activated, Terminating),
            (Completing, Completed),
            (Completing, Terminating),
            (Terminating, Terminated),
        ];
        for from in Lifecycle::ALL {
            for to in Lifecycle::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn final_states_lead_nowhere() {
        for from in Lifecycle::ALL.into_iter().filter(|l| l.is_final()) {
            assert!(Lifecycle::ALL.into_iter().all(|to| !from.can_become(to)));
        }
    }

    #[test]
    fn intents_convert_both_ways() {
        for lifecycle in Lifecycle::ALL {
            assert_eq!(Lifecycle::of_intent(&lifecycle.intent()), Some(lifecycle));
        }
        assert_eq!(
            Lifecycle::of_intent(&zeebe::record::Intent::SEQUENCE_FLOW_TAKEN),
            None
        );
    }
}
