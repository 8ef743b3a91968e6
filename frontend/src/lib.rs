//! Browser entry point: hydrates the server-rendered page with the `app` crate.
//!
//! Empty on native targets (see `Cargo.toml`), so that workspace-wide native builds never
//! switch on the browser's feature set in the server.
#![cfg(target_arch = "wasm32")]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
