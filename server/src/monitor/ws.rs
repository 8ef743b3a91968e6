//! `GET /api/v1/ws`: the monitor's WebSocket ([`app::api::monitor_protocol`]).
//!
//! The upgrade is authenticated like any API request — the session cookie, or an
//! `Authorization: Bearer` API token — and a cookie-authenticated upgrade must come from our own
//! origin, since browsers let any site open a WebSocket with the user's cookies. Each
//! subscription is authorised for its tenant when it is made, and the caller's credentials and
//! memberships are checked again every [`RECHECK`]: a removed member or a revoked token stops
//! receiving within that time. Deltas are filtered by the connection's subscriptions on the
//! server; nothing of a tenant is sent to a connection that has not been allowed to see it.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use app::api::monitor_protocol::{ClientMessage, Delta, ServerMessage, Topic};
use axum::{
    extract::{
        State,
        ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, header},
    response::Response,
};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

use super::{
    hub::{Feed, Hub},
    slots::Full,
};
use crate::{
    auth::{
        self, AuthState, Principal,
        policy::{Action, Resource, authorize},
        tokens,
    },
    domain::TenantId,
    error::{ApiError, Result},
};

/// How often a connection's caller is authenticated and authorised again.
pub const RECHECK: Duration = Duration::from_secs(30);
/// Most subscriptions one connection may hold.
const MAX_SUBSCRIPTIONS: usize = 64;
/// Largest message a client may send.
const MAX_MESSAGE: usize = 16 * 1024;

/// How the connection was authenticated, to check again later.
#[derive(Debug, Clone)]
enum Credential {
    Token(String),
    Session(auth::SignedIn),
}

#[utoipa::path(get, path = "/api/v1/ws", tag = "monitor", operation_id = "open_monitor_socket",
    description = "Upgrades to the monitor's WebSocket: JSON messages tagged by `type`. Send \
        `{\"type\":\"subscribe\",\"id\":\"s1\",\"topic\":{\"kind\":\"instances\",\"tenant\":\"demo\"}}` \
        (topics: `instances` with optional `environment` and `bpmn_process_id`; `instance` with \
        `environment` and `process_instance_key`; `incidents` with optional `environment`; \
        `deployments`); receive `subscribed`, `delta` (`{subscription, deltas}`), `resync` \
        (re-read what you show) and `error`.",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = crate::error::ErrorBody),
        (status = 429, description = "The caller (or the server) has as many monitor connections open as it may", body = crate::error::ErrorBody),
    ))]
pub async fn upgrade(
    State(auth): State<AuthState>,
    State(hub): State<Arc<Hub>>,
    principal: Principal,
    session: Session,
    headers: HeaderMap,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let credential = match bearer(&headers) {
        Some(token) => Credential::Token(token.to_owned()),
        None => {
            same_origin(&headers)?;
            Credential::Session(auth::session_user(&session, &auth.config).await?)
        }
    };
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "expected a WebSocket upgrade request: {}",
            rejection.body_text()
        ))
    })?;
    // Held for as long as the connection is open.
    let slot = hub.slots.take(&principal.rate_key).map_err(|full| {
        ApiError::TooManyConnections(match full {
            Full::Caller(n) => format!("you have {n} monitor connections open already; close one"),
            Full::Server(_) => {
                "the server has all the monitor connections it takes; try again later".to_owned()
            }
        })
    })?;
    Ok(upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            serve(socket, auth, hub, principal, credential).await;
            drop(slot);
        }))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Cross-site WebSocket hijacking: a page elsewhere must not open our socket with the user's
/// cookie. Browsers always send `Origin` on WebSocket handshakes.
fn same_origin(headers: &HeaderMap) -> Result<()> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        // Not a browser (no Origin): a cookie alone is then as good as any API client's.
        (None, _) => Ok(()),
        (Some(origin), Some(host))
            if origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority == host) =>
        {
            Ok(())
        }
        _ => Err(ApiError::CrossSite),
    }
}

async fn recheck(auth: &AuthState, credential: &Credential) -> Result<Principal> {
    match credential {
        Credential::Token(token) => tokens::authenticate(&auth.pool, token).await,
        Credential::Session(signed_in) => {
            auth::load(&auth.pool, signed_in.user_id, Some(signed_in.at)).await
        }
    }
}

fn allowed(principal: &Principal, topic: &Topic) -> std::result::Result<(), String> {
    let tenant = TenantId::new(topic.tenant()).map_err(|_| "tenant not found".to_owned())?;
    authorize(principal, Action::ReadWorkflows, Resource::Tenant(&tenant))
        .map_err(|denied| ApiError::from(denied).to_string())
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

async fn serve(
    mut socket: WebSocket,
    auth: AuthState,
    hub: Arc<Hub>,
    mut principal: Principal,
    credential: Credential,
) {
    let mut feed = hub.subscribe();
    let mut subscriptions: BTreeMap<String, Topic> = BTreeMap::new();
    let mut recheck_at = tokio::time::interval(RECHECK);
    recheck_at.reset();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { return };
                let reply = match message {
                    Message::Text(text) => handle(&principal, &mut subscriptions, text.as_str()),
                    Message::Binary(_) => Some(ServerMessage::Error {
                        id: None,
                        code: "bad_request".into(),
                        message: "send JSON text messages".into(),
                    }),
                    Message::Close(_) => return,
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(reply) = reply
                    && !send(&mut socket, &reply).await
                {
                    return;
                }
            }
            item = feed.recv() => {
                let deltas = match item {
                    Ok(Feed::Deltas(deltas)) => deltas,
                    Ok(Feed::Gap) => {
                        if !resync(&mut socket, &subscriptions, "the server's feed was interrupted").await {
                            return;
                        }
                        continue;
                    }
                    Err(RecvError::Lagged(missed)) => {
                        let reason = format!("{missed} updates were skipped because they were read too slowly");
                        if !resync(&mut socket, &subscriptions, &reason).await {
                            return;
                        }
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                };
                for (id, topic) in &subscriptions {
                    let matching: Vec<Delta> =
                        deltas.iter().filter(|d| topic.matches(d)).cloned().collect();
                    if matching.is_empty() {
                        continue;
                    }
                    let message = ServerMessage::Delta { subscription: id.clone(), deltas: matching };
                    if !send(&mut socket, &message).await {
                        return;
                    }
                }
            }
            _ = recheck_at.tick() => {
                match recheck(&auth, &credential).await {
                    Ok(fresh) => principal = fresh,
                    Err(_) => {
                        let _ = send(&mut socket, &ServerMessage::Error {
                            id: None,
                            code: "unauthenticated".into(),
                            message: "the session ended or the token is no longer valid".into(),
                        }).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
                let revoked: Vec<String> = subscriptions
                    .iter()
                    .filter(|(_, topic)| allowed(&principal, topic).is_err())
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in revoked {
                    subscriptions.remove(&id);
                    let message = ServerMessage::Error {
                        id: Some(id),
                        code: "forbidden".into(),
                        message: "you may no longer follow this topic".into(),
                    };
                    if !send(&mut socket, &message).await {
                        return;
                    }
                }
            }
        }
    }
}

async fn resync(
    socket: &mut WebSocket,
    subscriptions: &BTreeMap<String, Topic>,
    reason: &str,
) -> bool {
    if subscriptions.is_empty() {
        return true;
    }
    send(
        socket,
        &ServerMessage::Resync {
            reason: reason.to_owned(),
        },
    )
    .await
}

fn handle(
    principal: &Principal,
    subscriptions: &mut BTreeMap<String, Topic>,
    text: &str,
) -> Option<ServerMessage> {
    let error = |id: Option<String>, code: &str, message: String| {
        Some(ServerMessage::Error {
            id,
            code: code.to_owned(),
            message,
        })
    };
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(e) => return error(None, "bad_request", format!("not a valid message: {e}")),
    };
    match message {
        ClientMessage::Subscribe { id, topic } => {
            if id.is_empty() || id.len() > 100 {
                return error(Some(id), "invalid", "ids are 1 to 100 characters".into());
            }
            if !subscriptions.contains_key(&id) && subscriptions.len() >= MAX_SUBSCRIPTIONS {
                return error(
                    Some(id),
                    "invalid",
                    format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"),
                );
            }
            if let Err(message) = allowed(principal, &topic) {
                // Not a member answers like a tenant that does not exist.
                return error(Some(id), "not_found", message);
            }
            subscriptions.insert(id.clone(), topic);
            Some(ServerMessage::Subscribed { id })
        }
        ClientMessage::Unsubscribe { id } => {
            subscriptions.remove(&id);
            Some(ServerMessage::Unsubscribed { id })
        }
        ClientMessage::Ping => Some(ServerMessage::Pong),
    }
}
