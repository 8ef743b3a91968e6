//! The state every handler and page backend shares. Its own module so that the features'
//! routes can name it without depending on [`crate::startup`], which assembles them.

use std::sync::Arc;

use app::api::ssr::ServerContext;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;

use crate::{
    audit::checkpoint::Checkpoints,
    auth::{AuthState, oidc::Sso},
    engine_access::Authority,
    monitor::{hub::Hub, ingest::Ingest},
    pipeline::Pipeline,
};

/// State shared by every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub server_context: ServerContext,
    pub auth: AuthState,
    /// Single sign-on, when an OpenID Connect provider is configured.
    pub sso: Option<Arc<Sso>>,
    /// Deployments on their way to the engines, and the engines.
    pub pipeline: Arc<Pipeline>,
    /// Engine records in: projections and the execution audit trail.
    pub ingest: Arc<Ingest>,
    /// Deltas out: the feed of the monitor's WebSocket.
    pub hub: Arc<Hub>,
    /// The OAuth authorisation server of the engines: signing keys and token limits.
    pub authority: Arc<Authority>,
    /// Signed checkpoints of the audit chains, and where their verification resumes.
    pub checkpoints: Arc<Checkpoints>,
}
