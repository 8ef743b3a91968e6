//! The embedded Zeebe-compatible workflow engine.
//!
//! Module map (each module's own docs say more):
//!
//! * [`clock`] — the controllable [`Clock`] (system or [`ManualClock`]).
//! * [`key`] — Zeebe-style keys with the partition id in the high bits.
//! * [`log`] — the durable log: checksummed segment files, torn-tail repair, group commit.
//! * [`state`] — the partition state as plain data, changed only by
//!   [`State::apply`](state::State::apply) (live and replay alike).
//! * [`processor`] — `(state, command, now) → events + response`; one module per concern
//!   (deploy, instance, element lifecycle, job, incident, message, variables).

pub mod clock;
pub mod key;
pub mod log;
pub mod processor;
pub mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use processor::{Command, Processed, Rejection, Response, process};
pub use state::State;
