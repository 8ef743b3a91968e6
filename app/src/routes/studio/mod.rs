//! Studio: the BPMN designer. The canvas draws the [`designer::Scene`] of the document in SVG;
//! every edit is a [`designer::Editor`] command (undoable, all-or-nothing), and the pointer
//! gestures are the [`designer::Gestures`] state machine, so these components only turn
//! browser events into the machine's inputs and its effects into signals.
//!
//! Gestures: drag a palette entry onto the canvas (or click it, then click the canvas) to
//! create; drag a shape to move the selection (a ghost follows the pointer, the model changes
//! once on drop); drag the round handle of a selected node onto another node to connect; drag an
//! end of a selected flow to reconnect it; shift-click adds to the selection and shift-drag on
//! empty canvas lassoes; drag empty canvas to pan; the wheel zooms at the pointer; double-click
//! edits a label in place.
//!
//! `state.rs` holds what the parts share; `toolbar.rs`, `palette.rs`, `canvas.rs`,
//! `properties.rs` and `problems.rs` are the parts; `shortcuts.rs` listens on the window.

mod canvas;
mod files;
mod palette;
mod problems;
mod properties;
mod shortcuts;
mod state;
mod toolbar;

use designer::Editor;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use self::canvas::Canvas;
use self::palette::Palette;
use self::problems::Problems;
use self::properties::PropertiesPanel;
use self::state::StudioState;
use self::toolbar::{SaveControls, Toolbar};
use crate::api::access::{TenantView, current_user, list_tenants};
use crate::api::studio::{StudioDocument, open_in_studio};
use crate::error::AppError;

/// The Studio route: `/studio` starts a new diagram, `/studio?workflow=<id>[&version=<n>]`
/// opens a saved version.
#[component]
pub fn StudioPage() -> impl IntoView {
    let query = use_query_map();
    let document = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("workflow"),
                q.get("version").and_then(|v| v.parse::<i32>().ok()),
            )
        },
        |(workflow, version)| async move {
            match workflow {
                Some(workflow) => open_in_studio(workflow, version).await.map(Some),
                None => Ok(None),
            }
        },
    );
    // Signed out, the designer still works (saving does not): ask for tenants only when
    // signed in, so the page is not answered as unauthorised.
    let tenants = Resource::new(
        || (),
        |_| async {
            match current_user().await {
                Ok(Some(_)) => list_tenants().await.unwrap_or_default(),
                _ => Vec::new(),
            }
        },
    );
    view! {
        <Title text="Studio" />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let document = document.await;
                let tenants = tenants.await;
                match document {
                    Ok(document) => view! { <Studio document tenants /> }.into_any(),
                    Err(AppError::Unauthenticated) => view! {
                        <p class="notice" data-testid="signed-out">
                            "Sign in to open saved workflows. " <a href="/login">"Sign in"</a>
                        </p>
                    }
                    .into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// The designer itself.
#[component]
fn Studio(document: Option<StudioDocument>, tenants: Vec<TenantView>) -> impl IntoView {
    let initial = document
        .as_ref()
        .and_then(|d| bpmn::parse(&d.bpmn_xml).ok())
        .map(Editor::new)
        .unwrap_or_else(|| Editor::blank("Process_1"));
    let state = StudioState::new(initial);
    shortcuts::listen(state);
    // A saved document opens fitted to the canvas.
    let opened = document.is_some();
    Effect::new(move |_| {
        if opened {
            state.fit();
        }
    });

    let title = document
        .as_ref()
        .map(|d| format!("{} — version {}", d.name, d.version))
        .unwrap_or_else(|| "New diagram".to_owned());
    let can_save = document.as_ref().is_none_or(|d| d.can_edit) && !tenants.is_empty();
    let saving = if can_save {
        let tenant = document
            .as_ref()
            .map(|d| d.tenant_id.clone())
            .or_else(|| tenants.first().map(|t| t.id.clone()))
            .unwrap_or_default();
        let workflow = document.as_ref().map(|d| d.workflow_id.clone());
        view! { <SaveControls state tenants tenant workflow /> }.into_any()
    } else {
        view! { <span class="muted">"Sign in as an editor to save workflows."</span> }.into_any()
    };
    let StudioState {
        editor,
        revision,
        selection,
        diagnostics,
        problem,
        status,
        gestures,
        preview,
        ..
    } = state;

    view! {
        <div class="studio" data-testid="studio">
            <Toolbar state title>{saving}</Toolbar>
            <div class="studio-messages">
                {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="studio-problem">{p}</p> })}
                {move || status.get().map(|s| view! { <p class="status" role="status" data-testid="studio-status">{s}</p> })}
            </div>
            <div class="studio-body">
                <Palette gestures armed=preview.armed />
                <Canvas state />
                <aside class="side-panel">
                    <PropertiesPanel editor revision selection problem />
                    <Problems diagnostics editor />
                    <XmlView editor revision />
                </aside>
            </div>
        </div>
    }
}

/// The document's BPMN, serialised only while the section is open.
#[component]
fn XmlView(editor: RwSignal<Editor>, revision: Memo<u64>) -> impl IntoView {
    let xml_open = RwSignal::new(false);
    let xml_text = move || {
        if xml_open.get() {
            revision.track();
            editor.with_untracked(|e| bpmn::to_xml(e.definitions()))
        } else {
            String::new()
        }
    };
    view! {
        <details class="xml" on:toggle=move |ev| {
            let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
            xml_open.set(open);
        }>
            <summary data-testid="xml-toggle">"XML"</summary>
            <textarea readonly data-testid="xml" prop:value=xml_text rows="16"></textarea>
        </details>
    }
}
