//! Integration tests of the `zeebe` crate: schema facts, a real gRPC round trip, and
//! record JSON.

mod descriptor;
mod grpc;
mod records;
