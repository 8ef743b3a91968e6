//! A card that asks the server for its status on demand.

use leptos::prelude::*;

use crate::api::status::SystemStatus;

#[component]
pub fn StatusCard() -> impl IntoView {
    let check = ServerAction::<crate::api::status::FetchSystemStatus>::new();
    let pending = check.pending();
    let result = check.value();

    view! {
        <section class="card status-card" aria-labelledby="status-title">
            <h2 id="status-title">"System status"</h2>
            <p class="muted">"Asks the server to query its database and report back."</p>
            <button
                class="button primary"
                data-testid="check-status"
                disabled=pending
                on:click=move |_| {
                    check.dispatch(crate::api::status::FetchSystemStatus {});
                }
            >
                {move || if pending.get() { "Checking…" } else { "Check system status" }}
            </button>
            <div class="status-result" data-testid="status-result" aria-live="polite">
                {move || match result.get() {
                    None => ().into_any(),
                    Some(Ok(status)) => view! { <StatusTable status /> }.into_any(),
                    Some(Err(error)) => {
                        view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
                    }
                }}
            </div>
        </section>
    }
}

#[component]
fn StatusTable(status: SystemStatus) -> impl IntoView {
    let SystemStatus {
        version,
        database_mode,
        database_version,
        installation_id,
        migrations_applied,
    } = status;
    view! {
        <dl class="facts">
            <dt>"Server version"</dt>
            <dd>{version}</dd>
            <dt>"Database"</dt>
            <dd data-testid="database-version">
                {format!("PostgreSQL {database_version} ({database_mode})")}
            </dd>
            <dt>"Migrations applied"</dt>
            <dd>{migrations_applied}</dd>
            <dt>"Installation"</dt>
            <dd>
                <code>{installation_id}</code>
            </dd>
        </dl>
    }
}
