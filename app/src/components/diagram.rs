//! BPMN notation in SVG, drawn from a [`designer::Scene`]: the Studio's canvas and the
//! monitor's read-only instance diagram share these functions.
//!
//! Colours are SVG attributes rather than stylesheet rules so that an exported SVG looks the
//! same outside the app; the stylesheet only adds selection and state highlights on top.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use bpmn::{Bounds, Point};
use designer::scene::{
    EdgeKind, EdgeView, EventMarker, EventPosition, GatewayMarker, Glyph, LoopMarker, Scene,
    ShapeView, TaskMarker,
};
use leptos::prelude::*;

const INK: &str = "#22242a";
const PAPER: &str = "#ffffff";
/// Margin around the drawing when fitting it into view or exporting it.
pub const MARGIN: f64 = 40.0;

/// Highlight of one element in a read-only diagram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementOverlay {
    /// CSS class added to the element (e.g. `active`, `incident`).
    pub class: &'static str,
    /// Small count in the element's corner (e.g. active tokens).
    pub badge: Option<String>,
}

/// The arrowheads and flow markers, once per `<svg>`.
pub fn svg_defs() -> impl IntoView {
    view! {
        <defs>
            <marker id="af-arrow" viewBox="0 0 20 20" refX="11" refY="10" markerWidth="10" markerHeight="10" orient="auto">
                <path d="M 1 5 L 11 10 L 1 15 Z" fill=INK stroke=INK stroke-width="1" />
            </marker>
            <marker id="af-default" viewBox="0 0 20 20" refX="0" refY="10" markerWidth="10" markerHeight="10" orient="auto">
                <path d="M 6 4 L 10 16" fill="none" stroke=INK stroke-width="1.5" />
            </marker>
            <marker id="af-conditional" viewBox="0 0 20 20" refX="-1" refY="10" markerWidth="10" markerHeight="10" orient="auto">
                <path d="M 0 10 L 8 6 L 16 10 L 8 14 Z" fill=PAPER stroke=INK stroke-width="1" />
            </marker>
            <marker id="af-message-start" viewBox="0 0 20 20" refX="6" refY="6" markerWidth="20" markerHeight="20" orient="auto">
                <circle cx="6" cy="6" r="3.5" fill=PAPER stroke=INK stroke-width="1" />
            </marker>
            <marker id="af-message-end" viewBox="0 0 20 20" refX="8.5" refY="5" markerWidth="20" markerHeight="20" orient="auto">
                <path d="m 1 5 l 0 -3 l 7 3 l -7 3 z" fill=PAPER stroke=INK stroke-width="1" />
            </marker>
        </defs>
    }
}

/// A stable key for a shape's drawing: equal keys draw the same, so keyed lists keep the DOM
/// of shapes that did not change.
pub fn shape_key(shape: &ShapeView) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    shape.id.hash(&mut hasher);
    shape.glyph.hash(&mut hasher);
    hash_bounds(&shape.bounds, &mut hasher);
    shape.name.hash(&mut hasher);
    if let Some(label) = &shape.label {
        hash_bounds(label, &mut hasher);
    }
    hasher.finish()
}

/// Like [`shape_key`], for edges.
pub fn edge_key(edge: &EdgeView) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    edge.id.hash(&mut hasher);
    edge.kind.hash(&mut hasher);
    for p in &edge.points {
        p.x.to_bits().hash(&mut hasher);
        p.y.to_bits().hash(&mut hasher);
    }
    edge.name.hash(&mut hasher);
    if let Some(label) = &edge.label {
        hash_bounds(label, &mut hasher);
    }
    hasher.finish()
}

fn hash_bounds(b: &Bounds, hasher: &mut impl Hasher) {
    for v in [b.x, b.y, b.width, b.height] {
        v.to_bits().hash(hasher);
    }
}

/// Shapes drawn behind the edges: containers whose white fill would otherwise hide the flows
/// inside them.
pub fn is_backdrop(shape: &ShapeView) -> bool {
    matches!(
        shape.glyph,
        Glyph::Participant { .. }
            | Glyph::Lane { .. }
            | Glyph::Group
            | Glyph::SubProcess { expanded: true, .. }
    )
}

fn fmt(v: f64) -> String {
    // Two decimals are finer than a screen pixel at any zoom the canvas allows.
    let rounded = (v * 100.0).round() / 100.0;
    format!("{rounded}")
}

/// Splits a label into lines of about `width` pixels (the SVG text element does not wrap).
fn wrap(text: &str, width: f64) -> Vec<String> {
    let per_line = ((width / 6.5).floor() as usize).max(4);
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_owned();
            while word.chars().count() > per_line {
                let head: String = word.chars().take(per_line).collect();
                let tail: String = word.chars().skip(per_line).collect();
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(head);
                word = tail;
            }
            if line.is_empty() {
                line = word;
            } else if line.chars().count() + 1 + word.chars().count() <= per_line {
                line.push(' ');
                line.push_str(&word);
            } else {
                lines.push(std::mem::replace(&mut line, word));
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// Text centred on (`cx`, `cy`), wrapped to `width`.
fn text_block(text: &str, cx: f64, cy: f64, width: f64) -> impl IntoView + use<> {
    const LINE: f64 = 14.0;
    let lines = wrap(text, width);
    let top = cy - (lines.len() as f64 - 1.0) * LINE / 2.0;
    let x = fmt(cx);
    view! {
        <text class="label" x=x.clone() y=fmt(top) text-anchor="middle" dominant-baseline="middle"
            font-family="Arial, sans-serif" font-size="12" fill=INK>
            {lines
                .into_iter()
                .enumerate()
                .map(|(i, line)| {
                    view! { <tspan x=x.clone() dy=if i == 0 { "0".to_owned() } else { fmt(LINE) }>{line}</tspan> }
                })
                .collect_view()}
        </text>
    }
}

/// Where an element's external label goes: the DI label bounds, else below the shape.
fn external_label(shape: &ShapeView) -> Option<AnyView> {
    let name = shape.name.as_deref().filter(|n| !n.trim().is_empty())?;
    let b = &shape.bounds;
    let (cx, cy, width) = match &shape.label {
        Some(l) if l.width > 0.0 => (l.x + l.width / 2.0, l.y + l.height / 2.0, l.width.max(90.0)),
        _ => (b.x + b.width / 2.0, b.y + b.height + 16.0, 90.0),
    };
    Some(text_block(name, cx, cy, width).into_any())
}

fn loop_marker(looping: Option<LoopMarker>, b: &Bounds) -> Option<AnyView> {
    let x = b.x + b.width / 2.0;
    let y = b.y + b.height - 16.0;
    let d = match looping? {
        LoopMarker::Parallel => format!(
            "M {a} {y} v 12 M {x} {y} v 12 M {c} {y} v 12",
            a = fmt(x - 5.0),
            x = fmt(x),
            c = fmt(x + 5.0),
            y = fmt(y)
        ),
        LoopMarker::Sequential => format!(
            "M {l} {a} h 12 M {l} {b} h 12 M {l} {c} h 12",
            l = fmt(x - 6.0),
            a = fmt(y + 1.0),
            b = fmt(y + 6.0),
            c = fmt(y + 11.0)
        ),
        LoopMarker::Standard => format!(
            "M {sx} {sy} a 5.5 5.5 0 1 1 4 1.6 m 0 0 l 0.4 -3.4 m -0.4 3.4 l -3.2 -0.8",
            sx = fmt(x - 3.0),
            sy = fmt(y + 10.0)
        ),
    };
    Some(view! { <path d=d fill="none" stroke=INK stroke-width="1.5" /> }.into_any())
}

fn task_marker(marker: TaskMarker, b: &Bounds) -> Option<AnyView> {
    let (x, y) = (b.x + 6.0, b.y + 6.0);
    let view = match marker {
        TaskMarker::None => return None,
        TaskMarker::Service => view! {
            <g class="marker">
                <circle cx=fmt(x + 8.0) cy=fmt(y + 8.0) r="6" fill=PAPER stroke=INK stroke-width="1.5" stroke-dasharray="3 1.7" />
                <circle cx=fmt(x + 8.0) cy=fmt(y + 8.0) r="2.5" fill=PAPER stroke=INK stroke-width="1" />
            </g>
        }
        .into_any(),
        TaskMarker::User => view! {
            <g class="marker">
                <circle cx=fmt(x + 8.0) cy=fmt(y + 5.0) r="4" fill=PAPER stroke=INK stroke-width="1" />
                <path d=format!("M {} {} q 0 -7 7 -7 q 7 0 7 7 z", fmt(x + 1.0), fmt(y + 17.0)) fill=PAPER stroke=INK stroke-width="1" />
            </g>
        }
        .into_any(),
        TaskMarker::Script => view! {
            <path class="marker" d=format!(
                "M {} {} c 6 3 -6 9 0 14 h 10 c -6 -5 6 -11 0 -14 z M {} {} h 6 M {} {} h 6 M {} {} h 6",
                fmt(x + 2.0), fmt(y + 1.0), fmt(x + 4.0), fmt(y + 5.0), fmt(x + 5.0), fmt(y + 8.0), fmt(x + 4.0), fmt(y + 11.0)
            ) fill=PAPER stroke=INK stroke-width="1" />
        }
        .into_any(),
        TaskMarker::Send | TaskMarker::Receive => {
            let filled = marker == TaskMarker::Send;
            envelope(x + 1.0, y + 2.0, 16.0, 11.0, filled).into_any()
        }
        TaskMarker::BusinessRule => view! {
            <g class="marker">
                <rect x=fmt(x) y=fmt(y + 1.0) width="17" height="12" fill=PAPER stroke=INK stroke-width="1" />
                <path d=format!("M {} {} h 17 M {} {} v 8", fmt(x), fmt(y + 5.0), fmt(x + 5.0), fmt(y + 5.0)) stroke=INK stroke-width="1" />
            </g>
        }
        .into_any(),
        TaskMarker::Manual => view! {
            <path class="marker" d=format!(
                "M {} {} h 8 a 1.5 1.5 0 0 1 0 3 h -3 h 6 a 1.5 1.5 0 0 1 0 3 h -6 h 5 a 1.5 1.5 0 0 1 0 3 h -5 h 3 a 1.5 1.5 0 0 1 0 3 h -8 q -2 0 -2 -3 v -6 q 0 -3 3 -3 z",
                fmt(x + 3.0), fmt(y + 2.0)
            ) fill=PAPER stroke=INK stroke-width="1" />
        }
        .into_any(),
    };
    Some(view)
}

fn envelope(x: f64, y: f64, w: f64, h: f64, filled: bool) -> impl IntoView {
    let (fill, line) = if filled { (INK, PAPER) } else { (PAPER, INK) };
    view! {
        <g class="marker">
            <rect x=fmt(x) y=fmt(y) width=fmt(w) height=fmt(h) fill=fill stroke=INK stroke-width="1" />
            <path d=format!("M {} {} l {} {} l {} {}", fmt(x), fmt(y), fmt(w / 2.0), fmt(h * 0.55), fmt(w / 2.0), fmt(-h * 0.55)) fill="none" stroke=line stroke-width="1" />
        </g>
    }
}

/// The symbol inside an event circle centred on (`cx`, `cy`).
fn event_marker(marker: EventMarker, throwing: bool, cx: f64, cy: f64) -> Option<AnyView> {
    let (fill, stroke) = if throwing { (INK, INK) } else { (PAPER, INK) };
    let view = match marker {
        EventMarker::None => return None,
        EventMarker::Message => envelope(cx - 8.0, cy - 5.5, 16.0, 11.0, throwing).into_any(),
        EventMarker::Timer => view! {
            <g class="marker">
                <circle cx=fmt(cx) cy=fmt(cy) r="10" fill=PAPER stroke=INK stroke-width="1.5" />
                <path d=format!("M {} {} v -7 M {} {} l 5 2", fmt(cx), fmt(cy), fmt(cx), fmt(cy)) stroke=INK stroke-width="1.5" />
            </g>
        }
        .into_any(),
        EventMarker::Error => view! {
            <path class="marker" d=format!("M {} {} l 4 -14 l 4 8 l 5 -9 l -3 15 l -4 -8 z", fmt(cx - 7.0), fmt(cy + 8.0)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
        EventMarker::Signal => view! {
            <path class="marker" d=format!("M {} {} l 9 16 h -18 z", fmt(cx), fmt(cy - 10.0)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
        EventMarker::Escalation => view! {
            <path class="marker" d=format!("M {} {} l 7 16 l -7 -6 l -7 6 z", fmt(cx), fmt(cy - 9.0)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
        EventMarker::Terminate => view! {
            <circle class="marker" cx=fmt(cx) cy=fmt(cy) r="10" fill=INK />
        }
        .into_any(),
        EventMarker::Cancel => view! {
            <path class="marker" d=format!("M {} {} l 12 12 M {} {} l -12 12", fmt(cx - 6.0), fmt(cy - 6.0), fmt(cx + 6.0), fmt(cy - 6.0)) stroke=INK stroke-width="3" />
        }
        .into_any(),
        EventMarker::Link => view! {
            <path class="marker" d=format!("M {} {} h 8 v -4 l 7 7 l -7 7 v -4 h -8 z", fmt(cx - 8.0), fmt(cy - 3.0)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
        EventMarker::Conditional => view! {
            <g class="marker">
                <rect x=fmt(cx - 7.0) y=fmt(cy - 9.0) width="14" height="18" fill=PAPER stroke=INK stroke-width="1" />
                <path d=format!("M {l} {a} h 10 M {l} {b} h 10 M {l} {c} h 10 M {l} {d} h 10", l = fmt(cx - 5.0), a = fmt(cy - 5.0), b = fmt(cy - 1.0), c = fmt(cy + 3.0), d = fmt(cy + 7.0)) stroke=INK stroke-width="1" />
            </g>
        }
        .into_any(),
        EventMarker::Compensate => view! {
            <path class="marker" d=format!("M {} {} l 8 -6 v 12 z m 8 0 l 8 -6 v 12 z", fmt(cx - 9.0), fmt(cy)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
        EventMarker::Multiple => view! {
            <path class="marker" d=format!("M {} {} l 9 6.5 l -3.5 10.5 h -11 l -3.5 -10.5 z", fmt(cx), fmt(cy - 9.0)) fill=fill stroke=stroke stroke-width="1" />
        }
        .into_any(),
    };
    Some(view)
}

/// The notation of one shape (without selection or overlay decoration).
pub fn shape_body(shape: &ShapeView) -> AnyView {
    let b = shape.bounds;
    let (cx, cy) = (b.x + b.width / 2.0, b.y + b.height / 2.0);
    match shape.glyph {
        Glyph::Event {
            position,
            marker,
            interrupting,
        } => {
            let r = b.width.min(b.height) / 2.0;
            let width = match position {
                EventPosition::End => "4",
                EventPosition::Start => "2",
                _ => "1.5",
            };
            let dash = (!interrupting).then_some("5 3");
            let inner = matches!(
                position,
                EventPosition::IntermediateCatch
                    | EventPosition::IntermediateThrow
                    | EventPosition::Boundary
            )
            .then(|| {
                view! { <circle cx=fmt(cx) cy=fmt(cy) r=fmt(r - 3.0) fill="none" stroke=INK stroke-width="1.5" stroke-dasharray=dash /> }
            });
            let throwing = matches!(
                position,
                EventPosition::End | EventPosition::IntermediateThrow
            );
            view! {
                <circle class="outline" cx=fmt(cx) cy=fmt(cy) r=fmt(r) fill=PAPER stroke=INK stroke-width=width stroke-dasharray=dash />
                {inner}
                {event_marker(marker, throwing, cx, cy)}
                {external_label(shape)}
            }
            .into_any()
        }
        Glyph::Task { marker, looping } => view! {
            <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) rx="10" fill=PAPER stroke=INK stroke-width="2" />
            {task_marker(marker, &b)}
            {loop_marker(looping, &b)}
            {shape.name.as_deref().map(|n| text_block(n, cx, cy, b.width - 10.0))}
        }
        .into_any(),
        Glyph::CallActivity { looping } => view! {
            <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) rx="10" fill=PAPER stroke=INK stroke-width="5" />
            {loop_marker(looping, &b)}
            {shape.name.as_deref().map(|n| text_block(n, cx, cy, b.width - 10.0))}
        }
        .into_any(),
        Glyph::SubProcess {
            expanded,
            triggered_by_event,
            looping,
        } => {
            let dash = triggered_by_event.then_some("1 3");
            let label = shape.name.as_deref().map(|n| {
                if expanded {
                    view! {
                        <text class="label" x=fmt(b.x + 10.0) y=fmt(b.y + 18.0) font-family="Arial, sans-serif" font-size="12" fill=INK>{n.to_owned()}</text>
                    }
                    .into_any()
                } else {
                    text_block(n, cx, cy, b.width - 10.0).into_any()
                }
            });
            let collapsed = (!expanded).then(|| {
                let (x, y) = (cx - 7.0, b.y + b.height - 18.0);
                view! {
                    <rect x=fmt(x) y=fmt(y) width="14" height="14" fill=PAPER stroke=INK stroke-width="1" />
                    <path d=format!("M {} {} h 8 M {} {} v 8", fmt(x + 3.0), fmt(y + 7.0), fmt(x + 7.0), fmt(y + 3.0)) stroke=INK stroke-width="1.5" />
                }
            });
            let looping = if expanded {
                loop_marker(looping, &b)
            } else {
                None
            };
            view! {
                <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) rx="10" fill=PAPER fill-opacity="0.95" stroke=INK stroke-width="2" stroke-dasharray=dash />
                {label}
                {collapsed}
                {looping}
            }
            .into_any()
        }
        Glyph::Gateway(marker) => {
            let points = format!(
                "{},{} {},{} {},{} {},{}",
                fmt(cx),
                fmt(b.y),
                fmt(b.x + b.width),
                fmt(cy),
                fmt(cx),
                fmt(b.y + b.height),
                fmt(b.x),
                fmt(cy)
            );
            let symbol = match marker {
                GatewayMarker::Exclusive { show_x: false } => None,
                GatewayMarker::Exclusive { show_x: true } => Some(view! {
                    <path class="marker" d=format!("M {} {} l 14 14 M {} {} l -14 14", fmt(cx - 7.0), fmt(cy - 7.0), fmt(cx + 7.0), fmt(cy - 7.0)) stroke=INK stroke-width="4" />
                }.into_any()),
                GatewayMarker::Parallel => Some(view! {
                    <path class="marker" d=format!("M {} {} v 22 M {} {} h 22", fmt(cx), fmt(cy - 11.0), fmt(cx - 11.0), fmt(cy)) stroke=INK stroke-width="4" />
                }.into_any()),
                GatewayMarker::Inclusive => Some(view! {
                    <circle class="marker" cx=fmt(cx) cy=fmt(cy) r="9" fill="none" stroke=INK stroke-width="2.5" />
                }.into_any()),
                GatewayMarker::EventBased => Some(view! {
                    <g class="marker">
                        <circle cx=fmt(cx) cy=fmt(cy) r="11" fill="none" stroke=INK stroke-width="1" />
                        <circle cx=fmt(cx) cy=fmt(cy) r="8.5" fill="none" stroke=INK stroke-width="1" />
                        <path d=format!("M {} {} l 6 4.4 l -2.3 7 h -7.4 l -2.3 -7 z", fmt(cx), fmt(cy - 6.0)) fill="none" stroke=INK stroke-width="1.2" />
                    </g>
                }.into_any()),
                GatewayMarker::Complex => Some(view! {
                    <path class="marker" d=format!(
                        "M {} {} v 20 M {} {} h 20 M {} {} l 14 14 M {} {} l -14 14",
                        fmt(cx), fmt(cy - 10.0), fmt(cx - 10.0), fmt(cy), fmt(cx - 7.0), fmt(cy - 7.0), fmt(cx + 7.0), fmt(cy - 7.0)
                    ) stroke=INK stroke-width="3" />
                }.into_any()),
            };
            view! {
                <polygon class="outline" points=points fill=PAPER stroke=INK stroke-width="2" />
                {symbol}
                {external_label(shape)}
            }
            .into_any()
        }
        Glyph::Participant { horizontal } | Glyph::Lane { horizontal } => {
            let band = matches!(shape.glyph, Glyph::Participant { .. }).then(|| {
                if horizontal {
                    view! { <path d=format!("M {} {} v {}", fmt(b.x + 30.0), fmt(b.y), fmt(b.height)) stroke=INK stroke-width="1.5" /> }
                } else {
                    view! { <path d=format!("M {} {} h {}", fmt(b.x), fmt(b.y + 30.0), fmt(b.width)) stroke=INK stroke-width="1.5" /> }
                }
            });
            let label = shape.name.clone().map(|n| {
                if horizontal {
                    let (x, y) = (b.x + 15.0, cy);
                    view! {
                        <text class="label" x=fmt(x) y=fmt(y) transform=format!("rotate(-90 {} {})", fmt(x), fmt(y))
                            text-anchor="middle" dominant-baseline="middle" font-family="Arial, sans-serif" font-size="12" fill=INK>{n}</text>
                    }
                    .into_any()
                } else {
                    view! {
                        <text class="label" x=fmt(cx) y=fmt(b.y + 15.0) text-anchor="middle" dominant-baseline="middle"
                            font-family="Arial, sans-serif" font-size="12" fill=INK>{n}</text>
                    }
                    .into_any()
                }
            });
            let fill = if matches!(shape.glyph, Glyph::Participant { .. }) {
                PAPER
            } else {
                "none"
            };
            view! {
                <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) fill=fill stroke=INK stroke-width="1.5" />
                {band}
                {label}
            }
            .into_any()
        }
        Glyph::DataObject => view! {
            <path class="outline" d=format!("M {} {} h {} l 10 10 v {} h {} z", fmt(b.x), fmt(b.y), fmt(b.width - 10.0), fmt(b.height - 10.0), fmt(-b.width)) fill=PAPER stroke=INK stroke-width="1.5" />
            {external_label(shape)}
        }
        .into_any(),
        Glyph::DataStore => view! {
            <path class="outline" d=format!(
                "M {x} {y} a {rx} 6 0 0 0 {w} 0 a {rx} 6 0 0 0 {nw} 0 v {h} a {rx} 6 0 0 0 {w} 0 v {nh}",
                x = fmt(b.x), y = fmt(b.y + 6.0), rx = fmt(b.width / 2.0), w = fmt(b.width), nw = fmt(-b.width), h = fmt(b.height - 12.0), nh = fmt(-(b.height - 12.0))
            ) fill=PAPER stroke=INK stroke-width="1.5" />
            {external_label(shape)}
        }
        .into_any(),
        Glyph::TextAnnotation => view! {
            <rect x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) fill="transparent" stroke="none" />
            <path class="outline" d=format!("M {} {} h -15 v {} h 15", fmt(b.x + 15.0), fmt(b.y), fmt(b.height)) fill="none" stroke=INK stroke-width="1.5" />
            {shape.name.as_deref().map(|n| text_block(n, cx, cy, b.width - 10.0))}
        }
        .into_any(),
        Glyph::Group => view! {
            <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) rx="10" fill="none" stroke=INK stroke-width="1.5" stroke-dasharray="10 5 1 5" />
        }
        .into_any(),
        Glyph::Unknown => view! {
            <rect class="outline" x=fmt(b.x) y=fmt(b.y) width=fmt(b.width) height=fmt(b.height) fill="none" stroke="#999" stroke-dasharray="4 2" />
        }
        .into_any(),
    }
}

/// The path of an edge, with its markers.
pub fn edge_body(edge: &EdgeView) -> AnyView {
    let points = edge
        .points
        .iter()
        .map(|p| format!("{},{}", fmt(p.x), fmt(p.y)))
        .collect::<Vec<_>>()
        .join(" ");
    let (start, end, dash, width) = match edge.kind {
        EdgeKind::Sequence {
            is_default,
            conditional,
        } => (
            if is_default {
                Some("url(#af-default)")
            } else if conditional {
                Some("url(#af-conditional)")
            } else {
                None
            },
            Some("url(#af-arrow)"),
            None,
            "1.5",
        ),
        EdgeKind::Message => (
            Some("url(#af-message-start)"),
            Some("url(#af-message-end)"),
            Some("10 6"),
            "1.5",
        ),
        EdgeKind::Association => (None, None, Some("1 4"), "1.5"),
        EdgeKind::DataAssociation => (None, Some("url(#af-arrow)"), Some("2 4"), "1.5"),
    };
    let label = edge
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|name| {
            let (cx, cy) = match &edge.label {
                Some(l) if l.width > 0.0 => (l.x + l.width / 2.0, l.y + l.height / 2.0),
                _ => midpoint(&edge.points),
            };
            text_block(name, cx, cy, 90.0)
        });
    view! {
        // A wide transparent twin makes thin flows easy to click.
        <polyline class="hit" points=points.clone() fill="none" stroke="transparent" stroke-width="12" />
        <polyline class="line" points=points fill="none" stroke=INK stroke-width=width stroke-dasharray=dash
            stroke-linejoin="round" marker-start=start marker-end=end />
        {label}
    }
    .into_any()
}

fn midpoint(points: &[Point]) -> (f64, f64) {
    match points {
        [] => (0.0, 0.0),
        [p] => (p.x, p.y),
        _ => {
            let i = (points.len() - 1) / 2;
            let (a, b) = (points[i], points[i + 1]);
            ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0 - 8.0)
        }
    }
}

/// The `viewBox` that shows all of `scene` with a margin.
pub fn view_box(scene: &Scene) -> String {
    let e = scene.extent;
    format!(
        "{} {} {} {}",
        fmt(e.x - MARGIN),
        fmt(e.y - MARGIN),
        fmt(e.width.max(1.0) + 2.0 * MARGIN),
        fmt(e.height.max(1.0) + 2.0 * MARGIN)
    )
}

/// A read-only diagram: every element with its overlay class, a badge where the overlay has
/// one. Elements carry `data-element-id` so pages and tests can find them.
#[expect(
    clippy::needless_pass_by_value,
    reason = "Leptos components own their props; this one only reads them"
)]
#[component]
pub fn BpmnDiagram(
    scene: Scene,
    #[prop(optional)] overlay: HashMap<String, ElementOverlay>,
) -> impl IntoView {
    let class_of = |id: &str| {
        overlay
            .get(id)
            .map(|o| format!("bpmn-el {}", o.class))
            .unwrap_or_else(|| "bpmn-el".to_owned())
    };
    let (back, front): (Vec<&ShapeView>, Vec<&ShapeView>) =
        scene.shapes.iter().partition(|s| is_backdrop(s));
    let shapes = |list: Vec<&ShapeView>| {
        list.into_iter()
            .map(|s| {
                let badge = overlay.get(&s.id).and_then(|o| o.badge.clone()).map(|text| {
                    let (x, y) = (s.bounds.x + s.bounds.width - 4.0, s.bounds.y + 4.0);
                    view! {
                        <g class="badge">
                            <circle cx=fmt(x) cy=fmt(y) r="10" />
                            <text x=fmt(x) y=fmt(y) text-anchor="middle" dominant-baseline="central">{text}</text>
                        </g>
                    }
                });
                view! {
                    <g class=class_of(&s.id) data-element-id=s.id.clone()>
                        {shape_body(s)}
                        {badge}
                    </g>
                }
            })
            .collect_view()
    };
    let back = shapes(back);
    let front = shapes(front);
    let edges = scene
        .edges
        .iter()
        .map(|e| {
            view! { <g class=class_of(&e.id) data-element-id=e.id.clone()>{edge_body(e)}</g> }
        })
        .collect_view();
    view! {
        <svg class="bpmn-diagram" viewBox=view_box(&scene) xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Process diagram">
            {svg_defs()}
            {back}
            {edges}
            {front}
        </svg>
    }
}
