//! The ASTRAflow server: configuration, database, HTTP routes and the Leptos app, wired together.
//!
//! `main.rs` only loads [`config::Config`] and calls [`startup::Application::build`]; tests build
//! the same application on port 0.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod embedded_pg;
pub mod engine_access;
pub mod engines;
pub mod error;
pub mod monitor;
pub mod pipeline;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod telemetry;
pub mod ui;
