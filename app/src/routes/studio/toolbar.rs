//! The toolbar: open a BPMN file, download the BPMN or an SVG picture, undo and redo, zoom,
//! and (for editors) save to a tenant, where the first save creates a workflow and later saves
//! its next versions.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::files::{download, read_file};
use super::state::StudioState;
use crate::api::access::TenantView;
use crate::api::studio::save_from_studio;
use crate::components::diagram::{MARGIN, view_box};

/// The toolbar; `children` is its saving part.
#[component]
pub(super) fn Toolbar(state: StudioState, title: String, children: Children) -> impl IntoView {
    let StudioState {
        editor,
        revision,
        scene,
        viewport,
        svg_ref,
        ..
    } = state;
    let export_svg = move || {
        let Some(svg) = svg_ref.get_untracked() else {
            return;
        };
        let Ok(copy) = svg.clone_node_with_deep(true) else {
            return;
        };
        let copy: web_sys::Element = copy.unchecked_into();
        while let Ok(Some(layer)) = copy.query_selector(".overlay-layer") {
            layer.remove();
        }
        if let Ok(Some(viewport)) = copy.query_selector(".viewport") {
            let _ = viewport.remove_attribute("transform");
        }
        let (box_, width, height) = scene.with_untracked(|s| {
            (
                view_box(s),
                s.extent.width + 2.0 * MARGIN,
                s.extent.height + 2.0 * MARGIN,
            )
        });
        let _ = copy.set_attribute("viewBox", &box_);
        let _ = copy.set_attribute("width", &format!("{width}"));
        let _ = copy.set_attribute("height", &format!("{height}"));
        let _ = copy.remove_attribute("class");
        let name = editor
            .with_untracked(|e| e.process_id())
            .unwrap_or_default();
        download(
            &format!("{name}.svg"),
            "image/svg+xml",
            &format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
                copy.outer_html()
            ),
        );
    };
    let save_file = move || {
        let (name, xml) =
            editor.with_untracked(|e| (e.process_id(), bpmn::to_xml(e.definitions())));
        download(
            &format!("{}.bpmn", name.unwrap_or_else(|| "diagram".into())),
            "application/xml",
            &xml,
        );
    };

    view! {
        <div class="studio-toolbar" role="toolbar" aria-label="Diagram">
            <strong class="studio-title" data-testid="studio-title">{title}</strong>
            <label class="button file-button">
                "Open…"
                <input type="file" accept=".bpmn,.xml,application/xml,text/xml" data-testid="open-file"
                    on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = event_target(&ev);
                        if let Some(file) = input.files().and_then(|f| f.get(0)) {
                            read_file(file, move |name, xml| state.import(name, &xml));
                        }
                        input.set_value("");
                    } />
            </label>
            <button type="button" data-testid="save-file" on:click=move |_| save_file()>"Download BPMN"</button>
            <button type="button" data-testid="export-svg" on:click=move |_| export_svg()>"Export SVG"</button>
            <span class="separator"></span>
            <button type="button" data-testid="undo" title="Undo (Ctrl+Z)"
                disabled=move || { revision.track(); !editor.with_untracked(|e| e.can_undo()) }
                on:click=move |_| state.undo()>"Undo"</button>
            <button type="button" data-testid="redo" title="Redo (Ctrl+Y)"
                disabled=move || { revision.track(); !editor.with_untracked(|e| e.can_redo()) }
                on:click=move |_| state.redo()>"Redo"</button>
            <span class="separator"></span>
            <button type="button" data-testid="zoom-out" title="Zoom out" on:click=move |_| state.zoom_by(1.0 / 1.2, None)>"−"</button>
            <span class="zoom" data-testid="zoom">{move || format!("{:.0} %", viewport.get().zoom * 100.0)}</span>
            <button type="button" data-testid="zoom-in" title="Zoom in" on:click=move |_| state.zoom_by(1.2, None)>"+"</button>
            <button type="button" data-testid="fit" on:click=move |_| state.fit()>"Fit"</button>
            <span class="separator"></span>
            {children()}
        </div>
    }
}

/// Saving to a tenant: the tenant (fixed once the workflow exists), a message for the
/// version, and the save button.
#[component]
pub(super) fn SaveControls(
    state: StudioState,
    tenants: Vec<TenantView>,
    /// The tenant selected at first.
    tenant: String,
    /// The workflow the document was opened from, if any.
    workflow: Option<String>,
) -> impl IntoView {
    let StudioState {
        editor,
        problem,
        status,
        ..
    } = state;
    let tenant = RwSignal::new(tenant);
    let workflow_id = RwSignal::new(workflow);
    let save_message = RwSignal::new(String::new());
    let saving = RwSignal::new(false);
    let save_to_server = move || {
        let xml = editor.with_untracked(|e| bpmn::to_xml(e.definitions()));
        let (tenant, workflow, message) = (
            tenant.get_untracked(),
            workflow_id.get_untracked(),
            save_message.get_untracked(),
        );
        saving.set(true);
        leptos::task::spawn_local(async move {
            let outcome = save_from_studio(tenant, workflow, xml, message).await;
            saving.set(false);
            match outcome {
                Ok(saved) => {
                    problem.set(None);
                    save_message.set(String::new());
                    status.set(Some(if saved.created {
                        format!("Saved as version {}", saved.version)
                    } else {
                        format!("No changes since version {}", saved.version)
                    }));
                    let url = format!("/studio?workflow={}", saved.workflow_id);
                    workflow_id.set(Some(saved.workflow_id));
                    // The address now names the saved workflow (a reload opens it) without
                    // navigating, which would rebuild the editor and drop its undo history.
                    if let Ok(history) = window().history() {
                        let _ = history.replace_state_with_url(
                            &wasm_bindgen::JsValue::NULL,
                            "",
                            Some(&url),
                        );
                    }
                }
                Err(error) => problem.set(Some(format!("Not saved: {error}"))),
            }
        });
    };
    let tenant_options = tenants
        .into_iter()
        .map(|t| {
            let id = t.id;
            view! { <option value=id.clone() selected=move || tenant.get() == id>{t.name}</option> }
        })
        .collect_view();
    let has_workflow = move || workflow_id.get().is_some();

    view! {
        <span class="save-group">
            <select aria-label="Tenant" data-testid="save-tenant" disabled=has_workflow
                on:change=move |ev| tenant.set(event_target_value(&ev))>
                {tenant_options}
            </select>
            <input type="text" placeholder="What changed" aria-label="Version message"
                data-testid="save-message" prop:value=move || save_message.get()
                on:input=move |ev| save_message.set(event_target_value(&ev)) />
            <button type="button" class="primary" data-testid="save"
                disabled=move || saving.get() on:click=move |_| save_to_server()>
                {move || if has_workflow() { "Save version" } else { "Save as workflow" }}
            </button>
            {move || workflow_id.get().map(|id| view! {
                <a href=format!("/workflows/{id}") data-testid="workflow-link">"Workflow"</a>
            })}
        </span>
    }
}
