//! The ASTRAflow web application: routes, components and server functions.
//!
//! The crate is compiled twice: with the `ssr` feature into the server, which renders pages and
//! runs server functions, and with the `hydrate` feature into the browser bundle, which takes
//! over the server-rendered HTML. Server-only code lives behind `#[cfg(feature = "ssr")]`.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::AppLayout;
use crate::routes::{
    access::{AccountPage, SetPasswordPage, SignInPage, TenantPage, TenantsPage},
    home::HomePage,
    monitor::{AuditPage, InstancePage, MonitorPage},
    not_found::NotFound,
    sections::{ActionsPage, ControlCenterPage},
    studio::StudioPage,
    workflows::{DeploymentsPage, TenantWorkflowsPage, WorkflowPage},
};

/// Name of the generated JS/WASM bundle and stylesheet under `/pkg`.
pub const BUNDLE_NAME: &str = "astraflow";

/// What this page may load and run, named in the page itself so that the script rule can carry
/// this response's nonce: the hydration and streaming scripts the server wrote (which carry it),
/// our bundle and its WebAssembly, and nothing else. Styles may be inline (the designer sets
/// element styles); connections go to this origin only (the REST API, server functions and the
/// monitor's WebSocket). The framing rules are a header (`server::security_headers`): a
/// `<meta>` policy cannot hold them.
fn content_security_policy() -> String {
    let nonce = use_nonce()
        .map(|nonce| format!(" 'nonce-{nonce}'"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'"
    )
}

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta http-equiv="Content-Security-Policy" content=content_security_policy() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Root component: layout, navigation and the route table.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="astraflow" href=format!("/pkg/{BUNDLE_NAME}.css") />
        <Title formatter=|page: String| {
            if page.is_empty() { "ASTRAflow".to_owned() } else { format!("{page} · ASTRAflow") }
        } />
        <Router>
            <AppLayout>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage />
                    <Route path=path!("/studio") view=StudioPage />
                    <Route path=path!("/deployments") view=DeploymentsPage />
                    <Route path=path!("/monitor") view=MonitorPage />
                    <Route path=path!("/monitor/:tenant/:environment/:key") view=InstancePage />
                    <Route path=path!("/audit") view=AuditPage />
                    <Route path=path!("/tenants") view=TenantsPage />
                    <Route path=path!("/tenants/:id") view=TenantPage />
                    <Route path=path!("/tenants/:id/workflows") view=TenantWorkflowsPage />
                    <Route path=path!("/workflows/:id") view=WorkflowPage />
                    <Route path=path!("/login") view=SignInPage />
                    <Route path=path!("/account") view=AccountPage />
                    <Route path=path!("/set-password") view=SetPasswordPage />
                    <Route path=path!("/actions") view=ActionsPage />
                    <Route path=path!("/control-center") view=ControlCenterPage />
                </Routes>
            </AppLayout>
        </Router>
    }
}
