//! The canvas: draws the document's [`designer::Scene`] in SVG with the selection's frames and
//! handles, the findings' markers and the gesture previews, and hands presses to the gesture
//! machine ([`designer::Gestures`]); moves and releases reach it through the window (see
//! `shortcuts.rs`). Also the wheel zoom, double-click label editing and dropped files.

use bpmn::{Point, Severity};
use designer::scene::{EdgeKind, Glyph};
use designer::viewport::{label_box, wheel_zoom};
use designer::{FlowEnd, PaletteItem, Press, Target};
use leptos::ev;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::files::read_file;
use super::state::{LabelEdit, StudioState};
use crate::components::diagram::{
    edge_body, edge_key, is_backdrop, shape_body, shape_key, svg_defs,
};

/// The closest element at or above the event's target that matches `selector`.
fn closest(event: &web_sys::Event, selector: &str) -> Option<web_sys::Element> {
    event
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest(selector)
        .ok()
        .flatten()
}

/// What a press landed on, from the markup's `data-handle`, `data-for`, `data-id` and
/// `data-kind` attributes.
fn target_of(event: &web_sys::Event) -> Target {
    if let Some(handle) = closest(event, "[data-handle]") {
        let of = handle.get_attribute("data-for").unwrap_or_default();
        match handle.get_attribute("data-handle").as_deref() {
            Some("connect") => return Target::ConnectHandle { node: of },
            Some("source") => {
                return Target::EndHandle {
                    flow: of,
                    end: FlowEnd::Source,
                };
            }
            Some("target") => {
                return Target::EndHandle {
                    flow: of,
                    end: FlowEnd::Target,
                };
            }
            _ => {}
        }
    }
    match closest(event, "[data-id]") {
        Some(element) => Target::Element {
            id: element.get_attribute("data-id").unwrap_or_default(),
            node: element.get_attribute("data-kind").as_deref() == Some("node"),
        },
        None => Target::Canvas,
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

#[component]
pub(super) fn Canvas(state: StudioState) -> impl IntoView {
    let StudioState {
        editor,
        revision,
        scene,
        selection,
        findings,
        viewport,
        import_ms,
        gestures,
        preview,
        label_edit,
        svg_ref,
        canvas_ref,
        ..
    } = state;
    let label_ref = NodeRef::<leptos::html::Input>::new();

    let commit_label = move || {
        if let Some(edit) = label_edit.get_untracked() {
            // Read before closing: closing removes the input.
            let text = label_ref
                .get_untracked()
                .map(|input| input.value())
                .unwrap_or(edit.text);
            label_edit.set(None);
            state.run(|e| e.rename(&edit.id, &text));
        }
    };
    let start_label_edit = move |id: String| {
        let Some(shape) = scene.with_untracked(|s| s.shapes.iter().find(|s| s.id == id).cloned())
        else {
            return;
        };
        let place = label_box(&shape, viewport.get_untracked());
        label_edit.set(Some(LabelEdit {
            left: place.left,
            top: place.top,
            width: place.width,
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

    let on_pointerdown = move |ev: ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let (cx, cy) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let Some(at) = state.to_diagram(cx, cy) else {
            return;
        };
        if let Some(canvas) = canvas_ref.get_untracked() {
            let _ = canvas.focus();
        }
        if label_edit.get_untracked().is_some() {
            commit_label();
        }
        ev.prevent_default();
        let press = Press {
            screen: Point::new(cx, cy),
            at,
            target: target_of(&ev),
            shift: ev.shift_key(),
            alt: ev.alt_key(),
        };
        let from = viewport.get_untracked();
        let effects = editor.with_untracked(|e| {
            scene.with_untracked(|s| gestures.write_value().press(press, from, e, s))
        });
        state.apply(effects);
    };
    let on_wheel = move |ev: ev::WheelEvent| {
        ev.prevent_default();
        let Some(rect) = state.canvas_rect() else {
            return;
        };
        let at = (
            f64::from(ev.client_x()) - rect.left(),
            f64::from(ev.client_y()) - rect.top(),
        );
        state.zoom_by(wheel_zoom(ev.delta_y(), ev.delta_mode() == 1), Some(at));
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
            read_file(file, move |name, xml| state.import(name, &xml));
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

    view! {
        <div class="canvas" node_ref=canvas_ref tabindex="0" data-testid="canvas"
            data-import-ms=move || import_ms.get().map(|ms| format!("{ms:.1}"))
            data-revision=move || revision.get().to_string()
            on:dragover=move |ev: ev::DragEvent| ev.prevent_default()
            on:drop=on_drop>
            <svg node_ref=svg_ref class="canvas-svg" xmlns="http://www.w3.org/2000/svg"
                class:placing=move || preview.armed.get().is_some()
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
                            let (dx, dy) = preview.ghost_offset.get();
                            format!("translate({dx} {dy})")
                        }>
                            {move || {
                                let moving = preview.ghost_offset.with(|d| d.0 != 0.0 || d.1 != 0.0);
                                preview.ghost.get().into_iter().filter(|_| moving).map(|b| view! {
                                    <rect x=b.x y=b.y width=b.width height=b.height rx="6" />
                                }).collect_view()
                            }}
                        </g>
                        {move || preview.lasso.get().map(|b| view! {
                            <rect class="lasso" x=b.x y=b.y width=b.width height=b.height />
                        })}
                        {move || preview.link.get().map(|(a, b)| view! {
                            <line class="link-preview" x1=a.x y1=a.y x2=b.x y2=b.y />
                        })}
                        {move || preview.placing.get().map(|(item, p)| {
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
    }
}
