//! The live monitor: engine records in, projections and the execution audit trail in
//! PostgreSQL, deltas out over WebSocket.
//!
//! ```text
//! embedded engine ─ stream ─┐
//!                           ├─ ingest (one path) ─ projections + audit chain + NOTIFY ─┐
//! exporter ─ POST records ──┘                                                            │
//!        every replica: LISTEN ─ hub ─ WebSocket connections (filtered by tenant) ◄──────┘
//! ```
//!
//! * [`ingest`] applies a batch of records exactly once per source and partition;
//! * [`embedded`] follows each embedded engine's record stream from its stored position;
//! * [`trail`] is the execution audit trail, a hash chain per tenant;
//! * [`hub`] turns `NOTIFY`s into an in-process feed, so a client connected to any replica
//!   sees what any replica ingested;
//! * [`ws`] serves `/api/v1/ws`;
//! * [`operations`] ties engine records to the person whose request caused them;
//! * [`query`] reads the projections for the REST API and the pages;
//! * [`routes`] is the monitor's REST API.

pub mod embedded;
pub mod hub;
pub mod ingest;
pub mod operations;
pub mod query;
pub mod routes;
pub mod service;
pub mod slots;
pub mod store;
pub mod trail;
pub mod ws;

/// The `LISTEN`/`NOTIFY` channel that carries deltas between replicas.
pub const NOTIFY_CHANNEL: &str = "astraflow_monitor";
