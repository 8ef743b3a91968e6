//! The `gateway_protocol.Gateway` gRPC service: messages, tonic client and server.
//!
//! Everything generated from `proto/gateway.proto` lives in [`gateway_protocol`]
//! and is re-exported here, so `zeebe::gateway::TopologyRequest`,
//! `zeebe::gateway::gateway_client::GatewayClient` and
//! `zeebe::gateway::GatewayClient` all name the same items.
//!
//! Implementations of [`Gateway`] get a default for every RPC that answers
//! `UNIMPLEMENTED`; server-streaming RPCs (`ActivateJobs`, `StreamActivatedJobs`)
//! return a [`BoxStream`].

/// Code generated from `proto/gateway.proto` by `tonic-prost-build`.
#[expect(
    unused_qualifications,
    reason = "generated code spells out fully qualified paths"
)]
pub mod gateway_protocol {
    include!(concat!(env!("OUT_DIR"), "/gateway_protocol.rs"));
}

pub use gateway_protocol::*;
pub use gateway_protocol::{
    gateway_client::GatewayClient,
    gateway_server::{Gateway, GatewayServer},
};
/// The stream type server-streaming RPCs return.
pub use tonic::codegen::BoxStream;

/// Fully qualified name of the service, as it appears in request paths.
pub const SERVICE_NAME: &str = "gateway_protocol.Gateway";

/// The compiled schema as an encoded `google.protobuf.FileDescriptorSet`, e.g. for a
/// gRPC reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/gateway_descriptor.bin"));
