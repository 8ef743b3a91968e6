//! The application frame: top bar, collapsible navigation and the main content area.

use leptos::prelude::*;
use leptos_router::components::A;

/// One entry of the main navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

/// The product's sections, in navigation order.
pub const NAV_ITEMS: &[NavItem] = &[
    NavItem {
        href: "/studio",
        label: "Studio",
        hint: "Design BPMN workflows",
    },
    NavItem {
        href: "/deployments",
        label: "Deployments",
        hint: "Promote dev → staging → prod",
    },
    NavItem {
        href: "/monitor",
        label: "Monitor",
        hint: "Watch executions live",
    },
    NavItem {
        href: "/audit",
        label: "Audit",
        hint: "Tamper-evident trail",
    },
    NavItem {
        href: "/tenants",
        label: "Tenants",
        hint: "Users, roles, cloud settings",
    },
    NavItem {
        href: "/actions",
        label: "Actions",
        hint: "Connector catalog",
    },
    NavItem {
        href: "/control-center",
        label: "ControlCenter",
        hint: "Alerts to workflows",
    },
];

#[component]
pub fn AppLayout(children: Children) -> impl IntoView {
    // Collapsing the navigation is purely client-side state: it only works once the page has
    // hydrated, which the browser tests rely on.
    let (collapsed, set_collapsed) = signal(false);

    view! {
        <div class="app" class:nav-collapsed=collapsed>
            <header class="topbar">
                <button
                    class="nav-toggle"
                    data-testid="nav-toggle"
                    aria-controls="main-nav"
                    aria-expanded=move || (!collapsed.get()).to_string()
                    on:click=move |_| set_collapsed.update(|c| *c = !*c)
                >
                    <span class="sr-only">"Toggle navigation"</span>
                    "☰"
                </button>
                <A href="/" attr:class="brand">
                    "ASTRA"
                    <strong>"flow"</strong>
                </A>
            </header>
            <nav id="main-nav" class="sidenav" aria-label="Main">
                <ul>
                    {NAV_ITEMS
                        .iter()
                        .map(|item| {
                            view! {
                                <li>
                                    <A href=item.href attr:title=item.hint>
                                        {item.label}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main class="content">{children()}</main>
        </div>
    }
}
