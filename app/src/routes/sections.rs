//! The product's sections. Each one that has not been built yet says so plainly, with what it
//! will do, instead of showing an empty or fake screen.

use leptos::prelude::*;
use leptos_meta::Title;

/// A section that is not available in this build yet.
#[component]
fn NotYetAvailable(
    title: &'static str,
    summary: &'static str,
    planned: &'static [&'static str],
) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="lead">{summary}</p>
        <div class="notice" role="status" data-testid="not-available">
            <strong>"Not available yet."</strong>
            " This section is not part of this build. It will offer:"
        </div>
        <ul class="planned">{planned.iter().map(|item| view! { <li>{*item}</li> }).collect_view()}</ul>
    }
}

#[component]
pub fn ActionsPage() -> impl IntoView {
    view! {
        <NotYetAvailable
            title="Actions"
            summary="The catalog of connectors and actions workflows can call."
            planned=&["Versioned element templates", "Job types known to each tenant"]
        />
    }
}

#[component]
pub fn ControlCenterPage() -> impl IntoView {
    view! {
        <NotYetAvailable
            title="ControlCenter"
            summary="Turns incoming alerts into workflow executions."
            planned=&[
                "Alert webhooks and mapping rules",
                "Eligibility checks and execution context",
            ]
        />
    }
}
