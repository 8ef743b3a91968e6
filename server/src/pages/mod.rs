//! The backends of the Leptos pages' server functions: [`control_plane`] (tenants, members,
//! workflows, deployments, engine access) and [`monitor_plane`] (the live monitor). They call
//! the same services as the REST API, never its handlers.

pub mod control_plane;
pub mod monitor_plane;
mod views;
