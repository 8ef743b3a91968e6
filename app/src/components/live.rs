//! Following a monitor topic over the WebSocket (`/api/v1/ws`) from a page.
//!
//! [`use_live`] gives a page two signals: a counter that moves whenever something it shows may
//! have changed (a delta, or a resync after the client fell behind), and whether the socket is
//! connected and subscribed. Pages key their resources on the counter, so they re-read through
//! the same server functions that rendered them — the deltas say *that* something changed, the
//! server says *what* it is now. Bursts are coalesced into at most one re-read per
//! [`THROTTLE_MS`]. A dropped connection is retried every few seconds, and a resubscription
//! triggers a re-read, so nothing that happened in between is missed.
//!
//! On the server (SSR) this does nothing: the page renders what is current.

use leptos::prelude::*;

use crate::api::monitor_protocol::Topic;

/// Least time between two re-reads caused by deltas.
pub const THROTTLE_MS: u64 = 250;

/// What [`use_live`] returns.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Moves when something shown may have changed.
    pub changes: ReadSignal<u64>,
    /// Connected and subscribed.
    pub connected: ReadSignal<bool>,
}

/// Follows the topic `topic()` gives (none: nothing to follow) while the calling component
/// lives.
pub fn use_live(topic: impl Fn() -> Option<Topic> + Send + Sync + 'static) -> Live {
    let (changes, set_changes) = signal(0_u64);
    let (connected, set_connected) = signal(false);
    #[cfg(feature = "hydrate")]
    browser::follow(topic, set_changes, set_connected);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (topic, set_changes, set_connected);
    }
    Live { changes, connected }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use leptos::{
        prelude::*,
        wasm_bindgen::{JsCast, closure::Closure},
        web_sys::{CloseEvent, MessageEvent, WebSocket},
    };

    use super::THROTTLE_MS;
    use crate::api::monitor_protocol::{ClientMessage, ServerMessage, Topic};

    /// The socket of the current subscription and its generation (a newer topic or a
    /// reconnect makes older sockets' events void).
    #[derive(Default)]
    struct Connection {
        socket: Option<WebSocket>,
        generation: u64,
    }

    pub(super) fn follow(
        topic: impl Fn() -> Option<Topic> + Send + Sync + 'static,
        set_changes: WriteSignal<u64>,
        set_connected: WriteSignal<bool>,
    ) {
        let connection = StoredValue::new_local(Connection::default());
        let pending = StoredValue::new(false);
        let bump = move || {
            if pending.get_value() {
                return;
            }
            pending.set_value(true);
            set_timeout(
                move || {
                    pending.set_value(false);
                    set_changes.update(|n| *n += 1);
                },
                Duration::from_millis(THROTTLE_MS),
            );
        };
        let wanted = Memo::new(move |_| topic());
        Effect::new(move |_| {
            let topic = wanted.get();
            connect(connection, topic, bump, set_connected);
        });
        on_cleanup(move || {
            connection.update_value(|c| {
                c.generation += 1;
                if let Some(socket) = c.socket.take() {
                    let _ = socket.close();
                }
            });
        });
    }

    fn connect(
        connection: StoredValue<Connection, LocalStorage>,
        topic: Option<Topic>,
        bump: impl Fn() + Copy + 'static,
        set_connected: WriteSignal<bool>,
    ) {
        let generation = connection
            .try_update_value(|c| {
                c.generation += 1;
                if let Some(socket) = c.socket.take() {
                    let _ = socket.close();
                }
                c.generation
            })
            .unwrap_or_default();
        set_connected.set(false);
        let Some(topic) = topic else { return };
        let Some(location) = window().location().host().ok() else {
            return;
        };
        let scheme = if window().location().protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{location}/api/v1/ws")) else {
            return;
        };
        let current = move || {
            connection
                .try_with_value(|c| c.generation == generation)
                .unwrap_or(false)
        };

        let subscribe = serde_json::to_string(&ClientMessage::Subscribe {
            id: "page".into(),
            topic: topic.clone(),
        })
        .unwrap_or_default();
        let opened = socket.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            let _ = opened.send_with_str(&subscribe);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if !current() {
                return;
            }
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ServerMessage>(&text) {
                // Subscribed: re-read, in case something changed before the subscription.
                Ok(ServerMessage::Subscribed { .. }) => {
                    set_connected.set(true);
                    bump();
                }
                Ok(ServerMessage::Delta { .. } | ServerMessage::Resync { .. }) => bump(),
                Ok(ServerMessage::Error { .. }) => set_connected.set(false),
                _ => {}
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            if !current() {
                return;
            }
            set_connected.set(false);
            let topic = topic.clone();
            set_timeout(
                move || {
                    if current() {
                        connect(connection, Some(topic), bump, set_connected);
                    }
                },
                Duration::from_secs(3),
            );
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();

        connection.update_value(|c| c.socket = Some(socket));
    }
}
