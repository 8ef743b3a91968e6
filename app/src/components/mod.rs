//! Reusable view components.

pub mod layout;
pub mod status_card;
