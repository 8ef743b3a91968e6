//! The embedded Zeebe-compatible workflow engine.
//!
//! Module map (each module's own docs say more):
//!
//! * [`clock`] — the controllable [`Clock`] (system or [`ManualClock`]).
//! * [`key`] — Zeebe-style keys with the partition id in the high bits.
//! * [`log`] — the durable log: checksummed segment files, torn-tail repair (corruption
//!   refuses to open), group commit, recovery after a failed write, deleting covered
//!   segments, a streaming reader.
//! * [`model`] — an index of a deployed process's elements, however deeply nested.
//! * [`schedule`] — ISO-8601 dates, durations, cycles and cron: when timers fire.
//! * [`state`] — the partition state as plain data, changed only by
//!   [`State::apply`](state::State::apply) (live and replay alike).
//! * [`processor`] — `(state, command, now) → events + response`; one module per concern
//!   (deploy, instance, element lifecycle, events and subscriptions, timers, messages,
//!   signals, errors and escalations, gateways, multi-instance, call activities,
//!   modification, resource deletion, jobs, incidents, variables).
//! * [`runtime`] — [`Engine`]: the processor task, group-committed log writes, replies
//!   after durability, refusing commands (and recovering) while the log cannot be
//!   written, the record stream for in-process subscribers, deleting exported segments.
//! * [`snapshot`] — atomically written, checksummed state snapshots that bound the
//!   replay work at start.
//! * [`gateway`] — the Zeebe gateway gRPC service over an [`Engine`] ([`gateway::serve`]).
//!
//! # Embedding
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let engine = engine::Engine::start(engine::EngineConfig::new("data/engine"))?;
//! let mut records = engine.subscribe(1); // every record from position 1, then live
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:26500").await?;
//! tokio::spawn(engine::gateway::serve(engine.clone(), listener, std::future::pending()));
//! while let Some(record) = records.recv().await {
//!     println!("{}", serde_json::to_string(&*record)?);
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod clock;
pub mod gateway;
pub mod key;
pub mod log;
pub mod model;
pub mod processor;
pub mod runtime;
pub mod schedule;
pub mod snapshot;
pub mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use processor::{Command, Processed, Rejection, Response, process};
pub use runtime::{Engine, EngineConfig, EngineError, ExporterHandle, Recovery, Reply, Retention};
pub use state::State;
