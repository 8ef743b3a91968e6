//! The Zeebe wire protocol as ASTRAflow speaks it.
//!
//! Two halves, used by the embedded engine, the server and the execution plane:
//!
//! * [`gateway`] — the gRPC service `gateway_protocol.Gateway` that Zeebe clients
//!   (pyzeebe, zeebe-node, the Camunda SDKs, `zbctl`) talk to: message types, a tonic
//!   client ([`gateway::GatewayClient`]) to drive our engine or a real Camunda 8
//!   cluster, and a tonic server ([`gateway::GatewayServer`] around an implementation
//!   of the [`gateway::Gateway`] trait). gzip compression is compiled in; enable it per
//!   client or server with `accept_compressed`/`send_compressed`.
//! * [`record`] — exporter records in Zeebe's JSON shape, with typed values for the
//!   value types the product reads and a lossless fallback for everything else; and
//!   [`tenant::TenantId`], a tenant id checked against Zeebe's rule.
//!
//! # Where the schema comes from
//!
//! `proto/gateway.proto` is written for this project from the public wire contract of
//! the Zeebe 8.x gateway (the 8.5–8.7 releases plus additive fields of later 8.x
//! minors). Only facts carry over from Zeebe: package, service, RPC and message names,
//! and each field's name, number, type and label. Layout and comments are our own.
//! Because proto3 decoding skips unknown fields, clients built from older or newer
//! 8.x schemas interoperate as long as every shared number matches; the crate's tests
//! pin the RPC list and a sample of field numbers.
//!
//! # Regenerating
//!
//! There is nothing to regenerate by hand: `build.rs` parses the schema with `protox`
//! (pure Rust, no `protoc`) and generates the Rust code into `OUT_DIR` with
//! `tonic-prost-build` on every build where the `.proto` changed. After editing the
//! schema, run `cargo test -p zeebe`.
//!
//! RPCs an implementation of [`gateway::Gateway`] does not override answer
//! `UNIMPLEMENTED`, which is how a Zeebe gateway reports a feature it lacks.

pub mod gateway;
pub mod record;
pub mod tenant;
