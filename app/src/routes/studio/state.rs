//! The Studio's shared state: the editor and what is derived from it, the viewport, the
//! pointer-gesture machine with the previews it drives, and the operations the toolbar, the
//! canvas and the keyboard share. Every field is a signal or a stored value, so the struct is
//! `Copy` and each component takes it as a prop.

use std::collections::HashMap;

use bpmn::{Bounds, Diagnostic, Point, Severity};
use designer::scene::Scene;
use designer::{Clipboard, Editor, Effect, Gestures, PaletteItem, Pointer, Shortcut, Viewport};
use leptos::prelude::*;

use super::problems::{validate, worst_per_element};
use crate::components::diagram::MARGIN;

/// How far a paste lands from the copied elements.
const PASTE_OFFSET: f64 = 40.0;

/// Runs `command` on the editor and reports a refusal in `problem`.
pub(super) fn run<T>(
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

fn now_ms() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or_default()
}

/// What the canvas draws over the document while a gesture is under way (see
/// [`designer::Effect`]).
#[derive(Clone, Copy)]
pub(super) struct Preview {
    pub ghost: RwSignal<Vec<Bounds>>,
    pub ghost_offset: RwSignal<(f64, f64)>,
    pub lasso: RwSignal<Option<Bounds>>,
    pub link: RwSignal<Option<(Point, Point)>>,
    pub placing: RwSignal<Option<(PaletteItem, Point)>>,
    pub armed: RwSignal<Option<PaletteItem>>,
}

/// A label being edited in place.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LabelEdit {
    pub id: String,
    /// Where the input goes, in canvas pixels.
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub text: String,
}

#[derive(Clone, Copy)]
pub(super) struct StudioState {
    pub editor: RwSignal<Editor>,
    /// Changes with every change of the document.
    pub revision: Memo<u64>,
    pub scene: Memo<Scene>,
    pub selection: Memo<Vec<String>>,
    pub diagnostics: Memo<Vec<Diagnostic>>,
    /// The worst finding per element.
    pub findings: Memo<HashMap<String, Severity>>,
    pub viewport: RwSignal<Viewport>,
    /// Why the last command was refused, or the last error.
    pub problem: RwSignal<Option<String>>,
    pub status: RwSignal<Option<String>>,
    /// How long the last import took to draw (read by the benchmark).
    pub import_ms: RwSignal<Option<f64>>,
    pub gestures: StoredValue<Gestures>,
    pub preview: Preview,
    pub label_edit: RwSignal<Option<LabelEdit>>,
    /// The copied elements and how often they were pasted (each paste lands further away).
    clipboard: StoredValue<(Option<Clipboard>, u32)>,
    pub svg_ref: NodeRef<leptos::svg::Svg>,
    pub canvas_ref: NodeRef<leptos::html::Div>,
}

impl StudioState {
    pub fn new(editor: Editor) -> Self {
        let editor = RwSignal::new(editor);
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
        let findings = Memo::new(move |_| worst_per_element(&diagnostics.read()));
        Self {
            editor,
            revision,
            scene,
            selection,
            diagnostics,
            findings,
            viewport: RwSignal::new(Viewport::default()),
            problem: RwSignal::new(None),
            status: RwSignal::new(None),
            import_ms: RwSignal::new(None),
            gestures: StoredValue::new(Gestures::default()),
            preview: Preview {
                ghost: RwSignal::new(Vec::new()),
                ghost_offset: RwSignal::new((0.0, 0.0)),
                lasso: RwSignal::new(None),
                link: RwSignal::new(None),
                placing: RwSignal::new(None),
                armed: RwSignal::new(None),
            },
            label_edit: RwSignal::new(None),
            clipboard: StoredValue::new((None, 0)),
            svg_ref: NodeRef::new(),
            canvas_ref: NodeRef::new(),
        }
    }

    /// Runs `command` on the editor and reports a refusal.
    pub fn run<T>(
        self,
        command: impl FnOnce(&mut Editor) -> Result<T, bpmn::EditError>,
    ) -> Option<T> {
        run(self.editor, self.problem, command)
    }

    /// Applies what the gesture machine asked for, in order.
    pub fn apply(self, effects: Vec<Effect>) {
        let preview = self.preview;
        for effect in effects {
            match effect {
                Effect::Select(ids) => self.editor.update(|e| e.select(ids)),
                Effect::ToggleSelected(id) => self.editor.update(|e| e.toggle_selected(&id)),
                Effect::ClearSelection => self.editor.update(|e| e.clear_selection()),
                Effect::Create { item, at } => {
                    self.run(|e| e.create(item, at));
                }
                Effect::Move { ids, dx, dy } => {
                    self.run(|e| e.move_elements(&ids, dx, dy));
                }
                Effect::Connect { source, target } => {
                    self.run(|e| e.connect(&source, &target));
                }
                Effect::Reconnect { flow, end, node } => {
                    self.run(|e| e.reconnect(&flow, end, &node));
                }
                Effect::Viewport(v) => self.viewport.set(v),
                Effect::Ghost(outlines) => preview.ghost.set(outlines),
                Effect::GhostOffset(dx, dy) => preview.ghost_offset.set((dx, dy)),
                Effect::Lasso(rect) => preview.lasso.set(rect),
                Effect::Link(line) => preview.link.set(line),
                Effect::Placing(placing) => preview.placing.set(placing),
                Effect::Armed(item) => preview.armed.set(item),
            }
        }
    }

    pub fn shortcut(self, shortcut: Shortcut) {
        match shortcut {
            Shortcut::Delete => self.delete_selection(),
            Shortcut::Cancel => self.cancel(),
            Shortcut::Undo => self.undo(),
            Shortcut::Redo => self.redo(),
            Shortcut::Copy => self.copy(),
            Shortcut::Paste => self.paste(),
            Shortcut::SelectAll => self.editor.update(|e| e.select_all()),
        }
    }

    pub fn undo(self) {
        self.editor.update(|e| {
            e.undo();
        });
    }

    pub fn redo(self) {
        self.editor.update(|e| {
            e.redo();
        });
    }

    fn delete_selection(self) {
        let ids = self.selection.get_untracked();
        if !ids.is_empty() {
            self.run(|e| e.delete(&ids));
        }
    }

    fn copy(self) {
        let ids = self.selection.get_untracked();
        if !ids.is_empty() {
            let copied = self.editor.with_untracked(|e| e.copy(&ids));
            self.clipboard.set_value((Some(copied), 0));
        }
    }

    fn paste(self) {
        let (copied, times) = self.clipboard.get_value();
        if let Some(copied) = copied.filter(|c| !c.is_empty()) {
            let offset = PASTE_OFFSET * f64::from(times + 1);
            if self.run(|e| e.paste(&copied, offset, offset)).is_some() {
                self.clipboard.set_value((Some(copied), times + 1));
            }
        }
    }

    /// Escape: drops the gesture, its previews, an armed palette entry, the label being edited
    /// and the selection.
    fn cancel(self) {
        let effects = self.gestures.write_value().cancel();
        self.label_edit.set(None);
        self.apply(effects);
    }

    pub fn canvas_rect(self) -> Option<web_sys::DomRect> {
        self.svg_ref
            .get_untracked()
            .map(|svg| svg.get_bounding_client_rect())
    }

    /// The diagram point under client position (`client_x`, `client_y`).
    pub fn to_diagram(self, client_x: f64, client_y: f64) -> Option<Point> {
        let rect = self.canvas_rect()?;
        let v = self.viewport.get_untracked();
        Some(v.to_diagram(client_x - rect.left(), client_y - rect.top()))
    }

    /// The pointer at client position (`client_x`, `client_y`), for the gesture machine.
    pub fn pointer(self, client_x: f64, client_y: f64) -> Pointer {
        let rect = self.canvas_rect();
        let v = self.viewport.get_untracked();
        Pointer {
            screen: Point::new(client_x, client_y),
            diagram: rect
                .as_ref()
                .map(|r| v.to_diagram(client_x - r.left(), client_y - r.top())),
            over_canvas: rect.is_some_and(|r| {
                client_x >= r.left()
                    && client_x <= r.right()
                    && client_y >= r.top()
                    && client_y <= r.bottom()
            }),
        }
    }

    /// Shows the whole diagram.
    pub fn fit(self) {
        let Some(rect) = self.canvas_rect() else {
            return;
        };
        let extent = self.scene.with_untracked(|s| s.extent);
        if let Some(v) = Viewport::fit(extent, MARGIN, rect.width(), rect.height()) {
            self.viewport.set(v);
        }
    }

    /// Zooms by `factor` about canvas pixel `at`, or about the canvas's centre.
    pub fn zoom_by(self, factor: f64, at: Option<(f64, f64)>) {
        let center = at.or_else(|| {
            self.canvas_rect()
                .map(|r| (r.width() / 2.0, r.height() / 2.0))
        });
        let Some(center) = center else { return };
        self.viewport.update(|v| *v = v.zoomed(factor, center));
    }

    /// Opens BPMN `xml` (from file `name`) in place of the document; undoable.
    pub fn import(self, name: String, xml: &str) {
        let started = now_ms();
        match bpmn::parse(xml) {
            Err(error) => self.problem.set(Some(format!("{name}: {error}"))),
            Ok(defs) => {
                let elements = bpmn::walk::all_flow_nodes(&defs).count()
                    + bpmn::walk::all_sequence_flows(&defs).count();
                self.editor.update(|e| {
                    e.replace(defs);
                    e.clear_selection();
                });
                self.problem.set(None);
                self.fit();
                let (import_ms, status) = (self.import_ms, self.status);
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
    }
}
