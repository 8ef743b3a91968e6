//! Compiles `proto/gateway.proto` into tonic client and server code.
//!
//! The schema is parsed by `protox` (pure Rust), so neither a `protoc` binary nor a
//! network download is needed to build this crate. The encoded descriptor set is
//! written next to the generated code so the crate can expose it (reflection, tests).

use std::{env, fs, path::PathBuf};

use prost::Message as _;

const PROTO_DIR: &str = "proto";
const PROTO_FILE: &str = "proto/gateway.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_FILE}");
    println!("cargo:rerun-if-changed=build.rs");

    let descriptors = protox::compile([PROTO_FILE], [PROTO_DIR])?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("gateway_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Every RPC the engine does not override answers UNIMPLEMENTED, which is
        // what Zeebe clients expect from a gateway that lacks a feature.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;

    Ok(())
}
