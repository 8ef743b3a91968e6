//! The error type every server function returns.
//!
//! It crosses the wire as JSON with a stable `code`, so the browser can react to the kind of
//! failure without parsing messages. Internal details are logged on the server and never sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// Result alias for server functions.
pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", content = "message", rename_all = "snake_case")]
pub enum AppError {
    /// The database could not be reached or answered with an error. Details are in the server log.
    #[error("the database is unavailable")]
    DatabaseUnavailable,
    /// Something went wrong on the server that the caller cannot fix.
    #[error("internal error")]
    Internal,
    /// Not signed in, or the session has ended.
    #[error("please sign in")]
    Unauthenticated,
    /// Refused, with the reason in words the user can act on (no permission, invalid input,
    /// conflict, quota) and the HTTP status the server answered with.
    #[error("{message}")]
    Refused { status: u16, message: String },
    /// The request could not be sent, decoded or routed (network trouble, version skew).
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status a server function answers with when it fails this way.
    pub fn status(&self) -> u16 {
        match self {
            AppError::DatabaseUnavailable => 503,
            AppError::Internal | AppError::Transport(_) => 500,
            AppError::Unauthenticated => 401,
            AppError::Refused { status, .. } => *status,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
