//! The Studio's window listeners: pointer moves and releases go to the gesture machine, so a
//! drag that leaves the canvas (or starts in the palette) still ends properly, and keys that
//! are [`Shortcut`]s run them unless the user is typing in a field.

use designer::Shortcut;
use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::state::StudioState;

/// Whether keyboard shortcuts should leave this event to a form field.
fn typing_in_field(event: &web_sys::KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || el.has_attribute("contenteditable")
        })
}

/// Listens on the window while the Studio is mounted.
pub(super) fn listen(state: StudioState) {
    Effect::new(move |_| {
        let follow = move |ev: ev::PointerEvent, released: bool| {
            // Nothing to follow between gestures: spare the layout read.
            if state.gestures.with_value(|g| g.is_idle()) {
                return;
            }
            let pointer = state.pointer(f64::from(ev.client_x()), f64::from(ev.client_y()));
            let effects = if released {
                state
                    .editor
                    .with_untracked(|e| state.gestures.write_value().release(pointer, e))
            } else {
                state.gestures.write_value().pointer_move(pointer)
            };
            state.apply(effects);
        };
        let moving = window_event_listener(ev::pointermove, move |ev| follow(ev, false));
        let releasing = window_event_listener(ev::pointerup, move |ev| follow(ev, true));
        let keys = window_event_listener(ev::keydown, move |ev| {
            if typing_in_field(&ev) {
                return;
            }
            let ctrl = ev.ctrl_key() || ev.meta_key();
            if let Some(shortcut) = Shortcut::of_key(&ev.key(), ctrl, ev.shift_key()) {
                state.shortcut(shortcut);
                ev.prevent_default();
            }
        });
        on_cleanup(move || {
            moving.remove();
            releasing.remove();
            keys.remove();
        });
    });
}
