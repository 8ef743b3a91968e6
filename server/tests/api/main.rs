//! HTTP-level tests of the server, each against its own database.

mod accounts;
mod audit;
mod auth;
mod contract;
mod deployments;
mod embedded;
mod engine_access;
mod health;
mod helpers;
mod ingest;
mod layout;
mod matrix;
mod metrics;
mod monitor;
mod oidc;
mod pages;
mod plane;
mod tenancy;
mod timeouts;
mod tokens;
