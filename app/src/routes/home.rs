//! The landing page: what the product does and where to start.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{layout::NAV_ITEMS, status_card::StatusCard};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <h1>"Workflow orchestration control plane"</h1>
        <p class="lead">
            "Design BPMN workflows, promote them from dev to staging to prod, watch every execution \
             live and hand auditors a trail nobody can quietly edit."
        </p>
        <div class="grid">
            <StatusCard />
            <section class="card" aria-labelledby="sections-title">
                <h2 id="sections-title">"Sections"</h2>
                <ul class="section-list">
                    {NAV_ITEMS
                        .iter()
                        .map(|item| {
                            view! {
                                <li>
                                    <A href=item.href>{item.label}</A>
                                    <span class="muted">{item.hint}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        </div>
    }
}
