//! Page components, one module per area of the product.

pub mod access;
pub mod engine_access;
pub mod home;
pub mod monitor;
pub mod not_found;
pub mod sections;
pub mod studio;
pub mod workflows;
