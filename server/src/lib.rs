//! The ASTRAflow server: configuration, database, HTTP routes and the Leptos app, wired together.
//!
//! `main.rs` only loads [`config::Config`] and calls [`startup::Application::build`]; tests build
//! the same application on port 0.

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod context;
pub mod db;
pub mod deployments;
pub mod domain;
pub mod embedded_pg;
pub mod engine_access;
pub mod engines;
pub mod environments;
pub mod error;
pub mod executions;
pub mod extract;
pub mod health;
pub mod mail;
pub mod metrics;
pub mod monitor;
pub mod openapi;
pub mod pages;
pub mod pipeline;
pub mod planes;
pub mod security_headers;
pub mod seed;
pub mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod workflows;
