//! HTTP routes outside the Leptos app.

pub mod api;
pub mod health;
pub mod monitor;
pub mod openapi;
pub mod uploads;
pub mod workflows;
