//! Reusable view components.

pub mod diagram;
pub mod instance_diagram;
pub mod layout;
pub mod live;
pub mod status_card;
