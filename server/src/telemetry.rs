//! Logging setup: human-readable in development, one JSON object per line in production.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. Call once, from `main`.
pub fn init(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let registry = tracing_subscriber::registry().with(filter);
    match config.log_format() {
        LogFormat::Pretty => registry.with(fmt::layer().with_target(false)).init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .init(),
    }
}
