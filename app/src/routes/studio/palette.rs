//! The palette: one button per [`PaletteItem`], grouped, each showing the element as the
//! canvas draws it. Pressing one starts dragging it towards the canvas (see
//! [`designer::gesture`]); a click arms it for the next press on the canvas.

use bpmn::Point;
use designer::scene::Scene;
use designer::{Editor, Gestures, PaletteItem};
use leptos::prelude::*;

use crate::components::diagram::shape_body;

/// The palette. `armed` is the entry a click armed (highlighted until used or cancelled).
#[component]
pub(super) fn Palette(
    gestures: StoredValue<Gestures>,
    #[prop(into)] armed: Signal<Option<PaletteItem>>,
) -> impl IntoView {
    let groups = PaletteItem::ALL
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
                                        gestures.update_value(|g| g.press_palette(item));
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
    view! { <aside class="palette" aria-label="Palette" data-testid="palette">{groups}</aside> }
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
