//! Studio: the BPMN designer. The canvas draws the [`designer::Scene`] of the document in SVG;
//! every edit is a [`designer::Editor`] command (undoable, all-or-nothing), so this module only
//! turns pointer, keyboard and form events into commands.
//!
//! Gestures: drag a palette entry onto the canvas (or click it, then click the canvas) to
//! create; drag a shape to move the selection (a ghost follows the pointer, the model changes
//! once on drop); drag the round handle of a selected node onto another node to connect; drag an
//! end of a selected flow to reconnect it; shift-click adds to the selection and shift-drag on
//! empty canvas lassoes; drag empty canvas to pan; the wheel zooms at the pointer; double-click
//! edits a label in place.

use std::collections::HashMap;

use bpmn::{Bounds, Point, Severity};
use designer::props::{MultiInstanceProps, Properties, PropertyEdit, TimerKind};
use designer::scene::{EdgeKind, Glyph, Scene};
use designer::{Clipboard, Editor, FlowEnd, PaletteItem};
use leptos::ev;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wasm_bindgen::JsCast;

use crate::api::access::{TenantView, current_user, list_tenants};
use crate::api::studio::{StudioDocument, open_in_studio, save_from_studio};
use crate::components::diagram::{
    MARGIN, edge_body, edge_key, is_backdrop, shape_body, shape_key, svg_defs, view_box,
};
use crate::error::AppError;

/// Zoom limits of the canvas.
const MIN_ZOOM: f64 = 0.1;
const MAX_ZOOM: f64 = 4.0;
/// How far a paste lands from the copied elements.
const PASTE_OFFSET: f64 = 40.0;

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

/// Pan and zoom: a diagram point `p` is drawn at `p * zoom + (x, y)` in the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Viewport {
    x: f64,
    y: f64,
    zoom: f64,
}

/// What a pointer drag is doing.
#[derive(Debug, Clone, Default)]
enum Gesture {
    #[default]
    None,
    Pan {
        client: (f64, f64),
        from: Viewport,
    },
    Move {
        ids: Vec<String>,
        start: Point,
        moved: bool,
    },
    Lasso {
        start: Point,
        add: bool,
    },
    Connect {
        source: String,
        from: Point,
    },
    Reconnect {
        flow: String,
        end: FlowEnd,
        fixed: Point,
    },
    Create {
        item: PaletteItem,
    },
}

/// A label being edited in place.
#[derive(Debug, Clone, PartialEq)]
struct LabelEdit {
    id: String,
    /// Where the input goes, in canvas pixels.
    left: f64,
    top: f64,
    width: f64,
    text: String,
}

/// Runs `command` on the editor and reports a refusal in `problem`.
fn run<T>(
    editor: RwSignal<Editor>,
    problem: RwSignal<Option<String>>,
    command: impl FnOnce(&mut Editor) -> Result<T, bpmn::EditError>,
) -> Option<T> {
    let mut outcome = None;
    editor.update(|e| match command(e) {
        Ok(value) => {
            outcome = Some(value);
        }
        Err(error) => problem.set(Some(error.to_string())),
    });
    if outcome.is_some() {
        problem.set(None);
    }
    outcome
}

/// The syntax error of a FEEL field, if any. `always` fields are expressions even without the
/// leading `=`.
fn feel_error(text: &str, always: bool) -> Option<String> {
    let trimmed = text.trim();
    let expression = match trimmed.strip_prefix('=') {
        Some(expression) => expression,
        None if always => trimmed,
        None => return None,
    };
    if expression.trim().is_empty() {
        return (trimmed.starts_with('=')).then(|| "the expression is empty".to_owned());
    }
    feel::check(expression)
        .into_iter()
        .find(|d| d.severity == feel::Severity::Error)
        .map(|d| d.message)
}

fn validate(defs: &bpmn::Definitions) -> Vec<bpmn::Diagnostic> {
    let check = |expression: &str| -> Result<(), String> {
        match feel_error(expression, true) {
            Some(message) => Err(message),
            None => Ok(()),
        }
    };
    bpmn::validate_with(
        defs,
        &bpmn::ValidateOptions {
            feel: Some(&check),
            ..bpmn::ValidateOptions::default()
        },
    )
}

fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_default()
}

/// The closest element at or above the event's target that has attribute `attr`.
fn closest(event: &web_sys::Event, selector: &str) -> Option<web_sys::Element> {
    event
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest(selector)
        .ok()
        .flatten()
}

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

/// Offers `text` as a file download.
fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(anchor) = document().create_element("a") {
        let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Reads a file's text and hands it to `done`.
#[cfg(feature = "hydrate")]
fn read_file(file: web_sys::File, done: impl FnOnce(String, String) + 'static) {
    let name = file.name();
    leptos::task::spawn_local(async move {
        if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
            done(name, text.as_string().unwrap_or_default());
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn read_file(_file: web_sys::File, _done: impl FnOnce(String, String) + 'static) {}

/// The designer itself.
#[component]
fn Studio(document: Option<StudioDocument>, tenants: Vec<TenantView>) -> impl IntoView {
    let initial = document
        .as_ref()
        .and_then(|d| bpmn::parse(&d.bpmn_xml).ok())
        .map(Editor::new)
        .unwrap_or_else(|| Editor::blank("Process_1"));
    let editor = RwSignal::new(initial);
    let revision = Memo::new(move |_| editor.with(|e| e.revision()));
    let scene = Memo::new(move |_| {
        revision.track();
        editor.with_untracked(|e| designer::scene::scene(e.definitions()))
    });
    let selection = Memo::new(move |_| editor.with(|e| e.selection().to_vec()));
    let diagnostics = Memo::new(move |_| {
        revision.track();
        editor.with_untracked(|e| validate(e.definitions()))
    });
    // The worst finding per element, for the markers on the canvas.
    let findings = Memo::new(move |_| {
        let mut worst: HashMap<String, Severity> = HashMap::new();
        for d in diagnostics.read().iter() {
            if let Some(id) = &d.element_id {
                let entry = worst.entry(id.clone()).or_insert(d.severity);
                if d.severity == Severity::Error {
                    *entry = Severity::Error;
                }
            }
        }
        worst
    });

    let viewport = RwSignal::new(Viewport {
        x: 0.0,
        y: 0.0,
        zoom: 1.0,
    });
    let problem = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let import_ms = RwSignal::new(None::<f64>);
    let gesture = StoredValue::new(Gesture::None);
    let drag_delta = RwSignal::new((0.0_f64, 0.0_f64));
    let ghost = RwSignal::new(Vec::<Bounds>::new());
    let lasso = RwSignal::new(None::<Bounds>);
    let link = RwSignal::new(None::<(Point, Point)>);
    let placing = RwSignal::new(None::<(PaletteItem, Point)>);
    let armed = RwSignal::new(None::<PaletteItem>);
    let label_edit = RwSignal::new(None::<LabelEdit>);
    let clipboard = StoredValue::new((None::<Clipboard>, 0_u32));
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    let canvas_ref = NodeRef::<leptos::html::Div>::new();
    let label_ref = NodeRef::<leptos::html::Input>::new();

    let workflow_id = RwSignal::new(document.as_ref().map(|d| d.workflow_id.clone()));
    let can_save = document.as_ref().is_none_or(|d| d.can_edit) && !tenants.is_empty();
    let tenant = RwSignal::new(
        document
            .as_ref()
            .map(|d| d.tenant_id.clone())
            .or_else(|| tenants.first().map(|t| t.id.clone()))
            .unwrap_or_default(),
    );
    let title = document
        .as_ref()
        .map(|d| format!("{} — version {}", d.name, d.version))
        .unwrap_or_else(|| "New diagram".to_owned());
    let save_message = RwSignal::new(String::new());

    let canvas_rect = move || {
        svg_ref
            .get_untracked()
            .map(|svg| svg.get_bounding_client_rect())
    };
    let to_diagram = move |client_x: f64, client_y: f64| -> Option<Point> {
        let rect = canvas_rect()?;
        let v = viewport.get_untracked();
        Some(Point::new(
            (client_x - rect.left() - v.x) / v.zoom,
            (client_y - rect.top() - v.y) / v.zoom,
        ))
    };
    let inside_canvas = move |client_x: f64, client_y: f64| {
        canvas_rect().is_some_and(|r| {
            client_x >= r.left()
                && client_x <= r.right()
                && client_y >= r.top()
                && client_y <= r.bottom()
        })
    };
    let fit = move || {
        let Some(rect) = canvas_rect() else { return };
        let extent = scene.with_untracked(|s| s.extent);
        if extent.width <= 0.0 || rect.width() <= 0.0 {
            return;
        }
        let zoom = ((rect.width()) / (extent.width + 2.0 * MARGIN))
            .min(rect.height() / (extent.height + 2.0 * MARGIN))
            .clamp(MIN_ZOOM, 1.5);
        viewport.set(Viewport {
            x: (rect.width() - extent.width * zoom) / 2.0 - extent.x * zoom,
            y: (rect.height() - extent.height * zoom) / 2.0 - extent.y * zoom,
            zoom,
        });
    };
    let zoom_by = move |factor: f64, at: Option<(f64, f64)>| {
        let center = at.or_else(|| canvas_rect().map(|r| (r.width() / 2.0, r.height() / 2.0)));
        let Some((cx, cy)) = center else { return };
        viewport.update(|v| {
            let zoom = (v.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
            let f = zoom / v.zoom;
            v.x = cx - (cx - v.x) * f;
            v.y = cy - (cy - v.y) * f;
            v.zoom = zoom;
        });
    };

    let import = move |name: String, xml: String| {
        let started = now_ms();
        match bpmn::parse(&xml) {
            Err(error) => problem.set(Some(format!("{name}: {error}"))),
            Ok(defs) => {
                let elements = bpmn::walk::all_flow_nodes(&defs).count()
                    + bpmn::walk::all_sequence_flows(&defs).count();
                editor.update(|e| {
                    e.replace(defs);
                    e.clear_selection();
                });
                problem.set(None);
                fit();
                // Measured once the browser has drawn the new document: after the next frame's
                // rendering, which a zero timeout scheduled from that frame follows.
                request_animation_frame(move || {
                    set_timeout(
                        move || {
                            let ms = now_ms() - started;
                            import_ms.set(Some(ms));
                            status.set(Some(format!(
                                "Opened {name}: {elements} elements in {ms:.0} ms"
                            )));
                        },
                        std::time::Duration::ZERO,
                    );
                });
            }
        }
    };

    let undo = move || {
        editor.update(|e| {
            e.undo();
        })
    };
    let redo = move || {
        editor.update(|e| {
            e.redo();
        })
    };
    let delete_selection = move || {
        let ids = selection.get_untracked();
        if !ids.is_empty() {
            run(editor, problem, |e| e.delete(&ids));
        }
    };
    let copy = move || {
        let ids = selection.get_untracked();
        if !ids.is_empty() {
            let copied = editor.with_untracked(|e| e.copy(&ids));
            clipboard.set_value((Some(copied), 0));
        }
    };
    let paste = move || {
        let (copied, times) = clipboard.get_value();
        if let Some(copied) = copied.filter(|c| !c.is_empty()) {
            let offset = PASTE_OFFSET * f64::from(times + 1);
            if run(editor, problem, |e| e.paste(&copied, offset, offset)).is_some() {
                clipboard.set_value((Some(copied), times + 1));
            }
        }
    };
    let cancel = move || {
        gesture.set_value(Gesture::None);
        ghost.set(Vec::new());
        drag_delta.set((0.0, 0.0));
        lasso.set(None);
        link.set(None);
        placing.set(None);
        armed.set(None);
        label_edit.set(None);
        editor.update(|e| e.clear_selection());
    };

    let commit_label = move || {
        if let Some(edit) = label_edit.get_untracked() {
            // Read before closing: closing removes the input.
            let text = label_ref
                .get_untracked()
                .map(|input| input.value())
                .unwrap_or(edit.text);
            label_edit.set(None);
            run(editor, problem, |e| e.rename(&edit.id, &text));
        }
    };
    let start_label_edit = move |id: String| {
        let Some(shape) = scene.with_untracked(|s| s.shapes.iter().find(|s| s.id == id).cloned())
        else {
            return;
        };
        let v = viewport.get_untracked();
        let b = shape.bounds;
        let below = matches!(shape.glyph, Glyph::Event { .. } | Glyph::Gateway(_));
        let width = if below {
            140.0
        } else {
            (b.width * v.zoom).max(100.0)
        };
        let (cx, y) = if below {
            (b.x + b.width / 2.0, b.y + b.height + 4.0)
        } else {
            (b.x + b.width / 2.0, b.y + b.height / 2.0 - 12.0 / v.zoom)
        };
        label_edit.set(Some(LabelEdit {
            left: cx * v.zoom + v.x - width / 2.0,
            top: y * v.zoom + v.y,
            width,
            text: shape.name.unwrap_or_default(),
            id,
        }));
    };
    Effect::new(move |_| {
        if let Some(input) = label_ref.get() {
            let _ = input.focus();
            input.select();
        }
    });

    // Pointer moves and releases are followed on the window, so a drag that leaves the canvas
    // (or starts in the palette) still ends properly.
    Effect::new(move |_| {
        let moving = window_event_listener(ev::pointermove, move |ev| {
            let (cx, cy) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
            match gesture.get_value() {
                Gesture::None => {}
                Gesture::Pan { client, from } => viewport.set(Viewport {
                    x: from.x + cx - client.0,
                    y: from.y + cy - client.1,
                    ..from
                }),
                Gesture::Move { ids, start, moved } => {
                    if let Some(p) = to_diagram(cx, cy) {
                        let d = (p.x - start.x, p.y - start.y);
                        if !moved && d.0.abs() + d.1.abs() < 3.0 {
                            return;
                        }
                        drag_delta.set(d);
                        gesture.set_value(Gesture::Move {
                            ids,
                            start,
                            moved: true,
                        });
                    }
                }
                Gesture::Lasso { start, .. } => {
                    if let Some(p) = to_diagram(cx, cy) {
                        lasso.set(Some(Bounds::new(
                            start.x.min(p.x),
                            start.y.min(p.y),
                            (p.x - start.x).abs(),
                            (p.y - start.y).abs(),
                        )));
                    }
                }
                Gesture::Connect { from, .. } | Gesture::Reconnect { fixed: from, .. } => {
                    if let Some(p) = to_diagram(cx, cy) {
                        link.set(Some((from, p)));
                    }
                }
                Gesture::Create { item } => {
                    placing.set(
                        inside_canvas(cx, cy)
                            .then(|| to_diagram(cx, cy))
                            .flatten()
                            .map(|p| (item, p)),
                    );
                }
            }
        });
        let releasing = window_event_listener(ev::pointerup, move |ev| {
            let (cx, cy) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
            let point = to_diagram(cx, cy);
            match std::mem::take(&mut *gesture.write_value()) {
                Gesture::None | Gesture::Pan { .. } => {}
                Gesture::Move { ids, start, moved } => {
                    ghost.set(Vec::new());
                    drag_delta.set((0.0, 0.0));
                    if let (true, Some(p)) = (moved, point) {
                        run(editor, problem, |e| {
                            e.move_elements(&ids, p.x - start.x, p.y - start.y)
                        });
                    }
                }
                Gesture::Lasso { add, .. } => {
                    if let Some(rect) = lasso.get_untracked() {
                        editor.update(|e| {
                            let mut ids = e.elements_in(rect);
                            if add {
                                let mut all = e.selection().to_vec();
                                all.retain(|id| !ids.contains(id));
                                all.append(&mut ids);
                                ids = all;
                            }
                            e.select(ids);
                        });
                    }
                    lasso.set(None);
                }
                Gesture::Connect { source, .. } => {
                    link.set(None);
                    let target = point.and_then(|p| editor.with_untracked(|e| e.node_at(p)));
                    if let Some(target) = target.filter(|t| *t != source) {
                        run(editor, problem, |e| e.connect(&source, &target));
                    }
                }
                Gesture::Reconnect { flow, end, .. } => {
                    link.set(None);
                    if let Some(node) = point.and_then(|p| editor.with_untracked(|e| e.node_at(p)))
                    {
                        run(editor, problem, |e| e.reconnect(&flow, end, &node));
                    }
                }
                Gesture::Create { item } => {
                    placing.set(None);
                    match point.filter(|_| inside_canvas(cx, cy)) {
                        Some(p) => {
                            armed.set(None);
                            run(editor, problem, |e| e.create(item, p));
                        }
                        // Released without reaching the canvas: a click. The next click on the
                        // canvas places the element.
                        None => armed.set(Some(item)),
                    }
                }
            }
        });
        let keys = window_event_listener(ev::keydown, move |ev| {
            if typing_in_field(&ev) {
                return;
            }
            let ctrl = ev.ctrl_key() || ev.meta_key();
            let key = ev.key();
            let handled = match key.as_str() {
                "Delete" | "Backspace" => {
                    delete_selection();
                    true
                }
                "Escape" => {
                    cancel();
                    true
                }
                "z" | "Z" if ctrl && ev.shift_key() => {
                    redo();
                    true
                }
                "z" | "Z" if ctrl => {
                    undo();
                    true
                }
                "y" | "Y" if ctrl => {
                    redo();
                    true
                }
                "c" | "C" if ctrl => {
                    copy();
                    true
                }
                "v" | "V" if ctrl => {
                    paste();
                    true
                }
                "a" | "A" if ctrl => {
                    editor.update(|e| e.select_all());
                    true
                }
                _ => false,
            };
            if handled {
                ev.prevent_default();
            }
        });
        on_cleanup(move || {
            moving.remove();
            releasing.remove();
            keys.remove();
        });
    });
    // A saved document opens fitted to the canvas.
    let opened = document.is_some();
    Effect::new(move |_| {
        if opened {
            fit();
        }
    });

    let on_pointerdown = move |ev: ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let (cx, cy) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let Some(p) = to_diagram(cx, cy) else { return };
        if let Some(canvas) = canvas_ref.get_untracked() {
            let _ = canvas.focus();
        }
        if label_edit.get_untracked().is_some() {
            commit_label();
        }
        ev.prevent_default();
        if let Some(item) = armed.get_untracked() {
            armed.set(None);
            run(editor, problem, |e| e.create(item, p));
            return;
        }
        if let Some(handle) = closest(&ev, "[data-handle]") {
            let kind = handle.get_attribute("data-handle").unwrap_or_default();
            let of = handle.get_attribute("data-for").unwrap_or_default();
            let fixed = |index_from_end: bool| {
                scene.with_untracked(|s| {
                    s.edges.iter().find(|e| e.id == of).and_then(|e| {
                        if index_from_end {
                            e.points.last().copied()
                        } else {
                            e.points.first().copied()
                        }
                    })
                })
            };
            let next = match kind.as_str() {
                "connect" => Some(Gesture::Connect {
                    source: of.clone(),
                    from: scene
                        .with_untracked(|s| {
                            s.shapes
                                .iter()
                                .find(|s| s.id == of)
                                .map(|s| s.bounds.center())
                        })
                        .unwrap_or(p),
                }),
                "source" => fixed(true).map(|fixed| Gesture::Reconnect {
                    flow: of.clone(),
                    end: FlowEnd::Source,
                    fixed,
                }),
                "target" => fixed(false).map(|fixed| Gesture::Reconnect {
                    flow: of.clone(),
                    end: FlowEnd::Target,
                    fixed,
                }),
                _ => None,
            };
            if let Some(next) = next {
                gesture.set_value(next);
            }
            return;
        }
        if let Some(element) = closest(&ev, "[data-id]") {
            let id = element.get_attribute("data-id").unwrap_or_default();
            if ev.shift_key() {
                editor.update(|e| e.toggle_selected(&id));
                return;
            }
            if !editor.with_untracked(|e| e.is_selected(&id)) {
                editor.update(|e| e.select(vec![id.clone()]));
            }
            if element.get_attribute("data-kind").as_deref() == Some("node") {
                let ids = selection.get_untracked();
                let bounds = scene.with_untracked(|s| {
                    s.shapes
                        .iter()
                        .filter(|s| ids.contains(&s.id))
                        .map(|s| s.bounds)
                        .collect::<Vec<_>>()
                });
                ghost.set(bounds);
                gesture.set_value(Gesture::Move {
                    ids,
                    start: p,
                    moved: false,
                });
            }
            return;
        }
        if ev.shift_key() {
            gesture.set_value(Gesture::Lasso {
                start: p,
                add: true,
            });
        } else if ev.alt_key() {
            gesture.set_value(Gesture::Lasso {
                start: p,
                add: false,
            });
        } else {
            editor.update(|e| e.clear_selection());
            gesture.set_value(Gesture::Pan {
                client: (cx, cy),
                from: viewport.get_untracked(),
            });
        }
    };
    let on_wheel = move |ev: ev::WheelEvent| {
        ev.prevent_default();
        let Some(rect) = canvas_rect() else { return };
        let at = (
            f64::from(ev.client_x()) - rect.left(),
            f64::from(ev.client_y()) - rect.top(),
        );
        // Pixel and line deltas alike: one notch of a mouse wheel is about 10 % zoom.
        let delta = ev.delta_y() * if ev.delta_mode() == 1 { 33.0 } else { 1.0 };
        zoom_by((-delta * 0.001).exp(), Some(at));
    };
    let on_dblclick = move |ev: ev::MouseEvent| {
        if let Some(element) = closest(&ev, "[data-id]")
            && let Some(id) = element.get_attribute("data-id")
        {
            start_label_edit(id);
        }
    };
    let on_drop = move |ev: ev::DragEvent| {
        ev.prevent_default();
        let file = ev
            .data_transfer()
            .and_then(|t| t.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            read_file(file, import);
        }
    };

    let shape_class = move |id: &str| {
        let mut class = String::from("bpmn-el");
        if selection.with(|s| s.iter().any(|x| x == id)) {
            class.push_str(" selected");
        }
        match findings.with(|f| f.get(id).copied()) {
            Some(Severity::Error) => class.push_str(" has-error"),
            Some(_) => class.push_str(" has-warning"),
            None => {}
        }
        class
    };
    // Containers are drawn behind the edges, everything else in front of them.
    let layer = move |back: bool| {
        scene.with(|s| {
            s.shapes
                .iter()
                .filter(|s| is_backdrop(s) == back)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let backdrop = move || layer(true);
    let front = move || layer(false);
    let draw_shape = move |shape: designer::scene::ShapeView| {
        let id = shape.id.clone();
        let kind = if shape.is_flow_node { "node" } else { "shape" };
        let glyph_kind = glyph_name(&shape.glyph);
        let selectable = shape.is_flow_node.then(|| id.clone());
        view! {
            <g class=move || shape_class(&id) data-id=selectable data-element-id=shape.id.clone()
                data-kind=kind data-glyph=glyph_kind>
                {shape_body(&shape)}
            </g>
        }
    };
    let edges = move || scene.with(|s| s.edges.clone());
    let draw_edge = move |edge: designer::scene::EdgeView| {
        let id = edge.id.clone();
        let selectable = matches!(edge.kind, EdgeKind::Sequence { .. }).then(|| id.clone());
        view! {
            <g class=move || shape_class(&id) data-id=selectable data-element-id=edge.id data-kind="flow">
                {edge_body(&edge)}
            </g>
        }
    };

    // Decorations drawn over the document: selection frames, handles, previews.
    let decorations = move || {
        let ids = selection.get();
        let one = (ids.len() == 1).then(|| ids[0].clone());
        scene.with(|s| {
            let mut frames = Vec::new();
            for shape in s.shapes.iter().filter(|s| ids.contains(&s.id)) {
                let b = shape.bounds;
                frames.push(view! {
                    <rect class="selection-frame" x=b.x - 6.0 y=b.y - 6.0 width=b.width + 12.0 height=b.height + 12.0 />
                }.into_any());
                let ends_flow = matches!(
                    shape.glyph,
                    Glyph::Event { position: designer::scene::EventPosition::End, .. }
                );
                if one.as_deref() == Some(shape.id.as_str()) && shape.is_flow_node && !ends_flow {
                    let (hx, hy) = (b.x + b.width + 16.0, b.y + b.height / 2.0);
                    frames.push(view! {
                        <g class="handle connect-handle" data-handle="connect" data-for=shape.id.clone()>
                            <title>"Drag onto another element to connect"</title>
                            <circle cx=hx cy=hy r="8" />
                            <path d=format!("M {} {} h 8 m -3 -3 l 3 3 l -3 3", hx - 4.0, hy) />
                        </g>
                    }.into_any());
                }
            }
            if let Some(edge) = one.as_ref().and_then(|id| s.edges.iter().find(|e| &e.id == id))
                && let (Some(first), Some(last)) = (edge.points.first(), edge.points.last())
            {
                for (end, p) in [("source", first), ("target", last)] {
                    frames.push(view! {
                        <circle class="handle end-handle" data-handle=end data-for=edge.id.clone() cx=p.x cy=p.y r="6" />
                    }.into_any());
                }
            }
            frames
        })
    };
    let error_markers = move || {
        findings.with(|f| {
            scene.with(|s| {
                s.shapes
                    .iter()
                    .filter_map(|shape| {
                        let severity = f.get(&shape.id)?;
                        let b = shape.bounds;
                        let class = if *severity == Severity::Error {
                            "finding error"
                        } else {
                            "finding warning"
                        };
                        Some(view! {
                            <g class=class data-finding-for=shape.id.clone()>
                                <circle cx=b.x + b.width cy=b.y r="7" />
                                <text x=b.x + b.width y=b.y text-anchor="middle" dominant-baseline="central">"!"</text>
                            </g>
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
    };

    let palette = PaletteItem::ALL
        .chunk_by(|a, b| a.group() == b.group())
        .map(|group| {
            let name = group[0].group();
            view! {
                <div class="palette-group">
                    <h3>{name}</h3>
                    {group
                        .iter()
                        .map(|&item| {
                            view! {
                                <button type="button" class="palette-item" data-palette=item.key()
                                    title=item.label() aria-label=item.label()
                                    class:armed=move || armed.get() == Some(item)
                                    on:pointerdown=move |ev| {
                                        ev.prevent_default();
                                        gesture.set_value(Gesture::Create { item });
                                    }>
                                    <PaletteIcon item />
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            }
        })
        .collect_view();

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

    let xml_open = RwSignal::new(false);
    let xml_text = move || {
        if xml_open.get() {
            revision.track();
            editor.with_untracked(|e| bpmn::to_xml(e.definitions()))
        } else {
            String::new()
        }
    };
    let tenant_options = tenants
        .iter()
        .map(|t| {
            let id = t.id.clone();
            view! { <option value=id.clone() selected=move || tenant.get() == id>{t.name.clone()}</option> }
        })
        .collect_view();
    let has_workflow = move || workflow_id.get().is_some();

    view! {
        <div class="studio" data-testid="studio">
            <div class="studio-toolbar" role="toolbar" aria-label="Diagram">
                <strong class="studio-title" data-testid="studio-title">{title}</strong>
                <label class="button file-button">
                    "Open…"
                    <input type="file" accept=".bpmn,.xml,application/xml,text/xml" data-testid="open-file"
                        on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                read_file(file, import);
                            }
                            input.set_value("");
                        } />
                </label>
                <button type="button" data-testid="save-file" on:click=move |_| save_file()>"Download BPMN"</button>
                <button type="button" data-testid="export-svg" on:click=move |_| export_svg()>"Export SVG"</button>
                <span class="separator"></span>
                <button type="button" data-testid="undo" title="Undo (Ctrl+Z)"
                    disabled=move || { revision.track(); !editor.with_untracked(|e| e.can_undo()) }
                    on:click=move |_| undo()>"Undo"</button>
                <button type="button" data-testid="redo" title="Redo (Ctrl+Y)"
                    disabled=move || { revision.track(); !editor.with_untracked(|e| e.can_redo()) }
                    on:click=move |_| redo()>"Redo"</button>
                <span class="separator"></span>
                <button type="button" data-testid="zoom-out" title="Zoom out" on:click=move |_| zoom_by(1.0 / 1.2, None)>"−"</button>
                <span class="zoom" data-testid="zoom">{move || format!("{:.0} %", viewport.get().zoom * 100.0)}</span>
                <button type="button" data-testid="zoom-in" title="Zoom in" on:click=move |_| zoom_by(1.2, None)>"+"</button>
                <button type="button" data-testid="fit" on:click=move |_| fit()>"Fit"</button>
                <span class="separator"></span>
                {if can_save {
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
                    .into_any()
                } else {
                    view! { <span class="muted">"Sign in as an editor to save workflows."</span> }.into_any()
                }}
            </div>
            <div class="studio-messages">
                {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="studio-problem">{p}</p> })}
                {move || status.get().map(|s| view! { <p class="status" role="status" data-testid="studio-status">{s}</p> })}
            </div>
            <div class="studio-body">
                <aside class="palette" aria-label="Palette" data-testid="palette">{palette}</aside>
                <div class="canvas" node_ref=canvas_ref tabindex="0" data-testid="canvas"
                    data-import-ms=move || import_ms.get().map(|ms| format!("{ms:.1}"))
                    data-revision=move || revision.get().to_string()
                    on:dragover=move |ev: ev::DragEvent| ev.prevent_default()
                    on:drop=on_drop>
                    <svg node_ref=svg_ref class="canvas-svg" xmlns="http://www.w3.org/2000/svg"
                        class:placing=move || armed.get().is_some()
                        on:pointerdown=on_pointerdown on:wheel=on_wheel on:dblclick=on_dblclick>
                        {svg_defs()}
                        <g class="viewport" transform=move || {
                            let v = viewport.get();
                            format!("translate({} {}) scale({})", v.x, v.y, v.zoom)
                        }>
                            <g class="layer-back">
                                <For each=backdrop key=shape_key children=draw_shape />
                            </g>
                            <g class="layer-edges">
                                <For each=edges key=edge_key children=draw_edge />
                            </g>
                            <g class="layer-front">
                                <For each=front key=shape_key children=draw_shape />
                            </g>
                            <g class="overlay-layer">
                                {error_markers}
                                {decorations}
                                <g class="ghost" transform=move || {
                                    let (dx, dy) = drag_delta.get();
                                    format!("translate({dx} {dy})")
                                }>
                                    {move || {
                                        let moving = drag_delta.with(|d| d.0 != 0.0 || d.1 != 0.0);
                                        ghost.get().into_iter().filter(|_| moving).map(|b| view! {
                                            <rect x=b.x y=b.y width=b.width height=b.height rx="6" />
                                        }).collect_view()
                                    }}
                                </g>
                                {move || lasso.get().map(|b| view! {
                                    <rect class="lasso" x=b.x y=b.y width=b.width height=b.height />
                                })}
                                {move || link.get().map(|(a, b)| view! {
                                    <line class="link-preview" x1=a.x y1=a.y x2=b.x y2=b.y />
                                })}
                                {move || placing.get().map(|(item, p)| {
                                    let (w, h) = item_size(item);
                                    view! { <rect class="placing" x=p.x - w / 2.0 y=p.y - h / 2.0 width=w height=h rx="6" /> }
                                })}
                            </g>
                        </g>
                    </svg>
                    {move || label_edit.get().map(|edit| view! {
                        <input class="label-editor" node_ref=label_ref data-testid="label-editor"
                            style=format!("left: {}px; top: {}px; width: {}px", edit.left, edit.top, edit.width)
                            value=edit.text
                            on:keydown=move |ev| match ev.key().as_str() {
                                "Enter" => { ev.prevent_default(); commit_label(); }
                                "Escape" => { ev.prevent_default(); label_edit.set(None); }
                                _ => {}
                            }
                            on:blur=move |_| commit_label() />
                    })}
                </div>
                <aside class="side-panel">
                    <PropertiesPanel editor revision selection problem />
                    <section class="problems" data-testid="problems">
                        <h2>{move || format!("Problems ({})", diagnostics.read().len())}</h2>
                        <ul>
                            {move || diagnostics.get().into_iter().map(|d| {
                                let target = d.element_id.clone();
                                let class = if d.severity == Severity::Error { "finding-row error" } else { "finding-row warning" };
                                view! {
                                    <li class=class data-code=d.code.to_string() data-element=d.element_id
                                        on:click=move |_| if let Some(id) = target.clone() {
                                            editor.update(|e| e.select(vec![id]));
                                        }>
                                        <code>{d.code.to_string()}</code>" "
                                        {d.element_id.clone().map(|id| view! { <strong>{id}</strong>": " })}
                                        {d.message}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                    <details class="xml" on:toggle=move |ev| {
                        let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                        xml_open.set(open);
                    }>
                        <summary data-testid="xml-toggle">"XML"</summary>
                        <textarea readonly data-testid="xml" prop:value=xml_text rows="16"></textarea>
                    </details>
                </aside>
            </div>
        </div>
    }
}

fn item_size(item: PaletteItem) -> (f64, f64) {
    bpmn::edit::default_size(&item.node(bpmn::Id::from("x")).kind)
}

/// A short name of a glyph for `data-glyph` (tests and styling).
fn glyph_name(glyph: &Glyph) -> &'static str {
    match glyph {
        Glyph::Event { .. } => "event",
        Glyph::Task { .. } => "task",
        Glyph::SubProcess { .. } => "sub-process",
        Glyph::CallActivity { .. } => "call-activity",
        Glyph::Gateway(_) => "gateway",
        Glyph::Participant { .. } => "participant",
        Glyph::Lane { .. } => "lane",
        Glyph::DataObject => "data-object",
        Glyph::DataStore => "data-store",
        Glyph::TextAnnotation => "text-annotation",
        Glyph::Group => "group",
        Glyph::Unknown => "unknown",
    }
}

/// A palette entry's icon: the element itself, drawn by the canvas's own notation.
#[component]
fn PaletteIcon(item: PaletteItem) -> impl IntoView {
    let mut defs = Editor::blank("Icon");
    // A boundary event needs a host to be created on; the icon shows only the event.
    let created = if item.is_boundary() {
        defs.create(PaletteItem::ServiceTask, Point::new(0.0, 0.0))
            .and_then(|_| defs.create(item, Point::new(0.0, 35.0)))
    } else {
        defs.create(item, Point::new(0.0, 0.0))
    };
    let scene: Scene = match created {
        Ok(_) => designer::scene::scene(defs.definitions()),
        Err(_) => Scene::default(),
    };
    let shape = created
        .ok()
        .and_then(|id| scene.shapes.iter().find(|s| s.id == id.as_str()).cloned());
    let body = shape.map(|mut shape| {
        shape.name = None;
        let b = shape.bounds;
        let size = b.width.max(b.height);
        let vb = format!(
            "{} {} {} {}",
            b.x + b.width / 2.0 - size / 2.0 - 3.0,
            b.y + b.height / 2.0 - size / 2.0 - 3.0,
            size + 6.0,
            size + 6.0
        );
        view! { <svg class="palette-icon" viewBox=vb>{shape_body(&shape)}</svg> }
    });
    view! { {body}<span class="palette-label">{item.label()}</span> }
}

/// The properties of the single selected element, or of the process when nothing is selected.
#[component]
fn PropertiesPanel(
    editor: RwSignal<Editor>,
    revision: Memo<u64>,
    selection: Memo<Vec<String>>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let target = Memo::new(move |_| {
        revision.track();
        let selected = selection.get();
        match selected.as_slice() {
            [] => editor.with_untracked(|e| e.process_id()),
            [one] => Some(one.clone()),
            _ => None,
        }
    });
    let props = Memo::new(move |_| {
        revision.track();
        let id = target.get()?;
        editor.with_untracked(|e| designer::props::properties(e.definitions(), &id))
    });
    let count = move || selection.read().len();
    view! {
        <section class="properties" data-testid="properties">
            {move || match props.get() {
                None if count() > 1 => view! {
                    <p class="muted">{format!("{} elements selected", count())}</p>
                }
                .into_any(),
                None => view! { <p class="muted">"Nothing to show."</p> }.into_any(),
                Some(p) => view! { <PropertyFields props=p editor problem /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn PropertyFields(
    props: Properties,
    editor: RwSignal<Editor>,
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(props.id.clone());
    let set = move |edit: PropertyEdit| {
        let id = id.get_value();
        run(editor, problem, |e| e.set_property(&id, edit));
    };
    let text = |label: &'static str,
                key: &'static str,
                value: String,
                feel: Feel,
                edit: fn(String) -> PropertyEdit| {
        view! { <TextField label key value feel on_commit=move |v| set(edit(v)) /> }
    };
    let timer = props.timer.clone().map(|(kind, value)| {
        let kind = RwSignal::new(kind);
        let value = StoredValue::new(value);
        let commit = move || set(PropertyEdit::Timer(kind.get_untracked(), value.get_value()));
        view! {
            <fieldset>
                <legend>"Timer"</legend>
                <label>
                    "Type"
                    <select data-prop="timer-kind" on:change=move |ev| {
                        kind.set(match event_target_value(&ev).as_str() {
                            "date" => TimerKind::Date,
                            "cycle" => TimerKind::Cycle,
                            _ => TimerKind::Duration,
                        });
                        commit();
                    }>
                        <option value="date" selected=kind.get_untracked() == TimerKind::Date>"Date"</option>
                        <option value="duration" selected=kind.get_untracked() == TimerKind::Duration>"Duration"</option>
                        <option value="cycle" selected=kind.get_untracked() == TimerKind::Cycle>"Cycle"</option>
                    </select>
                </label>
                <TextField label="Value" key="timer-value" value=value.get_value() feel=Feel::Optional
                    on_commit=move |v| { value.set_value(v); commit(); } />
                <p class="hint">"ISO 8601: 2026-12-24T09:00:00Z, PT15M, R3/PT1H — or a FEEL expression starting with =."</p>
            </fieldset>
        }
    });
    let multi = props.multi_instance.clone().map(|current| {
        let enabled = current.is_some();
        let value = StoredValue::new(current.unwrap_or_default());
        let commit = move || set(PropertyEdit::MultiInstance(Some(value.get_value())));
        let field = move |label: &'static str, key: &'static str, get: fn(&MultiInstanceProps) -> String, put: fn(&mut MultiInstanceProps, String), feel: Feel| {
            view! {
                <TextField label key value=get(&value.get_value()) feel
                    on_commit=move |v| { value.update_value(|p| put(p, v)); commit(); } />
            }
        };
        view! {
            <fieldset>
                <legend>"Multi-instance"</legend>
                <label class="check">
                    <input type="checkbox" data-prop="multi-instance" checked=enabled on:change=move |ev| {
                        if event_target_checked(&ev) { commit() } else { set(PropertyEdit::MultiInstance(None)) }
                    } />
                    "Run once per item of a collection"
                </label>
                {enabled.then(|| view! {
                    <label class="check">
                        <input type="checkbox" data-prop="mi-sequential" checked=value.get_value().sequential on:change=move |ev| {
                            let sequential = event_target_checked(&ev);
                            value.update_value(|p| p.sequential = sequential);
                            commit();
                        } />
                        "Sequential"
                    </label>
                    {field("Input collection", "mi-input-collection", |p| p.input_collection.clone(), |p, v| p.input_collection = v, Feel::Always)}
                    {field("Input element", "mi-input-element", |p| p.input_element.clone(), |p, v| p.input_element = v, Feel::Never)}
                    {field("Output collection", "mi-output-collection", |p| p.output_collection.clone(), |p, v| p.output_collection = v, Feel::Never)}
                    {field("Output element", "mi-output-element", |p| p.output_element.clone(), |p, v| p.output_element = v, Feel::Always)}
                    {field("Completion condition", "mi-completion", |p| p.completion_condition.clone(), |p, v| p.completion_condition = v, Feel::Always)}
                })}
            </fieldset>
        }
    });
    view! {
        <h2 data-testid="properties-kind">{props.kind.clone()}</h2>
        {text("Id", "id", props.id.clone(), Feel::Never, PropertyEdit::Id)}
        {text("Name", "name", props.name.clone(), Feel::Never, PropertyEdit::Name)}
        <TextArea label="Documentation" key="documentation" value=props.documentation.clone()
            on_commit=move |v| set(PropertyEdit::Documentation(v)) />
        {props.task_type.clone().map(|v| text("Task type", "task-type", v, Feel::Optional, PropertyEdit::TaskType))}
        {props.retries.clone().map(|v| text("Retries", "retries", v, Feel::Optional, PropertyEdit::Retries))}
        {props.headers.clone().map(|rows| view! {
            <PairsField legend="Headers" key="headers" names=("Key", "Value") rows feel_first=Feel::Never
                on_commit=move |rows| set(PropertyEdit::Headers(rows)) />
        })}
        {props.condition.clone().map(|v| text("Condition", "condition", v, Feel::Always, PropertyEdit::Condition))}
        {props.is_default.map(|checked| view! {
            <label class="check">
                <input type="checkbox" data-prop="default" checked=checked
                    on:change=move |ev| set(PropertyEdit::Default(event_target_checked(&ev))) />
                "Default flow"
            </label>
        })}
        {timer}
        {props.message_name.clone().map(|v| text("Message name", "message-name", v, Feel::Optional, PropertyEdit::MessageName))}
        {props.correlation_key.clone().map(|v| text("Correlation key", "correlation-key", v, Feel::Always, PropertyEdit::CorrelationKey))}
        {props.error_code.clone().map(|v| text("Error code", "error-code", v, Feel::Optional, PropertyEdit::ErrorCode))}
        {props.called_process_id.clone().map(|v| text("Called process id", "called-process-id", v, Feel::Optional, PropertyEdit::CalledProcessId))}
        {multi}
        {props.inputs.clone().map(|rows| view! {
            <PairsField legend="Inputs" key="inputs" names=("Source (FEEL)", "Target variable") rows feel_first=Feel::Always
                on_commit=move |rows| set(PropertyEdit::Inputs(rows)) />
        })}
        {props.outputs.map(|rows| view! {
            <PairsField legend="Outputs" key="outputs" names=("Source (FEEL)", "Target variable") rows feel_first=Feel::Always
                on_commit=move |rows| set(PropertyEdit::Outputs(rows)) />
        })}
    }
}

/// Whether a field holds FEEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feel {
    Never,
    /// When it starts with `=`.
    Optional,
    /// Always an expression.
    Always,
}

impl Feel {
    fn error(self, text: &str) -> Option<String> {
        match self {
            Feel::Never => None,
            Feel::Optional => feel_error(text, false),
            Feel::Always => feel_error(text, true),
        }
    }
}

/// A one-line field that commits on change (blur or Enter) and underlines FEEL errors as the
/// user types.
#[component]
fn TextField(
    label: &'static str,
    key: &'static str,
    value: String,
    feel: Feel,
    #[prop(into)] on_commit: Callback<String>,
) -> impl IntoView {
    let error = RwSignal::new(feel.error(&value));
    view! {
        <label class="field">
            {label}
            <input type="text" data-prop=key value=value class:feel-error=move || error.read().is_some()
                aria-invalid=move || error.read().is_some().to_string()
                on:input=move |ev| error.set(feel.error(&event_target_value(&ev)))
                on:change=move |ev| on_commit.run(event_target_value(&ev)) />
            {move || error.get().map(|e| view! { <small class="field-error" data-error-for=key>{e}</small> })}
        </label>
    }
}

#[component]
fn TextArea(
    label: &'static str,
    key: &'static str,
    value: String,
    #[prop(into)] on_commit: Callback<String>,
) -> impl IntoView {
    view! {
        <label class="field">
            {label}
            <textarea data-prop=key rows="3" prop:value=value
                on:change=move |ev| on_commit.run(event_target_value(&ev))></textarea>
        </label>
    }
}

/// Key/value rows (headers, input and output mappings): edit in place, remove, add.
#[component]
fn PairsField(
    legend: &'static str,
    key: &'static str,
    names: (&'static str, &'static str),
    rows: Vec<(String, String)>,
    feel_first: Feel,
    #[prop(into)] on_commit: Callback<Vec<(String, String)>>,
) -> impl IntoView {
    let current = StoredValue::new(rows.clone());
    let new_left = RwSignal::new(String::new());
    let new_right = RwSignal::new(String::new());
    let new_error = Memo::new(move |_| feel_first.error(&new_left.get()));
    let edit = move |index: usize, left: bool, value: String| {
        let mut rows = current.get_value();
        if let Some(row) = rows.get_mut(index) {
            if left {
                row.0 = value;
            } else {
                row.1 = value;
            }
        }
        on_commit.run(rows);
    };
    view! {
        <fieldset class="pairs" data-prop=key>
            <legend>{legend}</legend>
            {rows
                .into_iter()
                .enumerate()
                .map(|(index, (left, right))| {
                    let error = RwSignal::new(feel_first.error(&left));
                    view! {
                        <div class="pair" data-row=index>
                            <input type="text" aria-label=names.0 value=left class:feel-error=move || error.read().is_some()
                                on:input=move |ev| error.set(feel_first.error(&event_target_value(&ev)))
                                on:change=move |ev| edit(index, true, event_target_value(&ev)) />
                            <input type="text" aria-label=names.1 value=right
                                on:change=move |ev| edit(index, false, event_target_value(&ev)) />
                            <button type="button" class="remove" title="Remove" on:click=move |_| {
                                let mut rows = current.get_value();
                                rows.remove(index);
                                on_commit.run(rows);
                            }>"×"</button>
                            {move || error.get().map(|e| view! { <small class="field-error">{e}</small> })}
                        </div>
                    }
                })
                .collect_view()}
            <div class="pair new">
                <input type="text" aria-label=names.0 placeholder=names.0 data-new="left"
                    class:feel-error=move || new_error.read().is_some()
                    prop:value=move || new_left.get() on:input=move |ev| new_left.set(event_target_value(&ev)) />
                <input type="text" aria-label=names.1 placeholder=names.1 data-new="right"
                    prop:value=move || new_right.get() on:input=move |ev| new_right.set(event_target_value(&ev)) />
                <button type="button" data-add=key on:click=move |_| {
                    let (left, right) = (new_left.get_untracked(), new_right.get_untracked());
                    if left.trim().is_empty() && right.trim().is_empty() {
                        return;
                    }
                    let mut rows = current.get_value();
                    rows.push((left, right));
                    new_left.set(String::new());
                    new_right.set(String::new());
                    on_commit.run(rows);
                }>"Add"</button>
                {move || new_error.get().map(|e| view! { <small class="field-error">{e}</small> })}
            </div>
        </fieldset>
    }
}
