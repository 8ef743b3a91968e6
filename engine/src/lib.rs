//! The embedded Zeebe-compatible workflow engine.
