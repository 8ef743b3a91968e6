//! The canvas's pointer gestures as an explicit state machine, without a browser. The Studio
//! tells it what the pointer was pressed on and where it moves and is released, and applies
//! the [`Effect`]s each step returns: commands on the [`Editor`], and changes of the previews
//! the canvas draws while a gesture is under way.
//!
//! A drag only previews until it ends — a moved selection is a ghost offset by the drag, a new
//! connection a line — and the model changes once, on release, so a drag step costs one
//! preview update however large the model is.

use bpmn::{Bounds, Point};

use crate::editor::{Editor, FlowEnd};
use crate::palette::PaletteItem;
use crate::scene::Scene;
use crate::viewport::Viewport;

/// How far a pressed node must travel (|dx| + |dy|, diagram units) before the press becomes a
/// drag; a shorter one is a click, which must not nudge the element.
pub const DRAG_THRESHOLD: f64 = 3.0;

/// What the pointer was pressed on.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Empty canvas, or a shape that cannot be selected (pool, lane, artifact).
    Canvas,
    /// A selectable element: a flow node (`node`) or a sequence flow.
    Element { id: String, node: bool },
    /// The connect handle of the selected node.
    ConnectHandle { node: String },
    /// The handle on one end of the selected sequence flow.
    EndHandle { flow: String, end: FlowEnd },
}

/// A press of the primary button on the canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct Press {
    /// Screen position in pixels (any fixed origin): a pan follows the pointer on screen.
    pub screen: Point,
    /// The diagram point under the pointer.
    pub at: Point,
    pub target: Target,
    /// Shift: toggle an element in the selection, or lasso adding to the selection.
    pub shift: bool,
    /// Alt: lasso replacing the selection.
    pub alt: bool,
}

/// Where the pointer is while it moves or when it is released.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pointer {
    /// Screen position in pixels, in the same frame as [`Press::screen`].
    pub screen: Point,
    /// The diagram point under the pointer; `None` while the canvas is not laid out.
    pub diagram: Option<Point>,
    /// Whether the pointer is over the canvas (a palette entry is created only there).
    pub over_canvas: bool,
}

/// What the Studio applies after a step, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    // Selection (not undoable).
    Select(Vec<String>),
    ToggleSelected(String),
    ClearSelection,
    // Editor commands (undoable; a refusal is reported to the user).
    Create {
        item: PaletteItem,
        at: Point,
    },
    Move {
        ids: Vec<String>,
        dx: f64,
        dy: f64,
    },
    Connect {
        source: String,
        target: String,
    },
    Reconnect {
        flow: String,
        end: FlowEnd,
        node: String,
    },
    // The view.
    /// Pan to this viewport.
    Viewport(Viewport),
    /// The outlines a drag moves (empty: none).
    Ghost(Vec<Bounds>),
    /// How far the outlines are dragged; (0, 0) hides them.
    GhostOffset(f64, f64),
    /// The lasso rectangle.
    Lasso(Option<Bounds>),
    /// The line from a flow's fixed end to the pointer while connecting.
    Link(Option<(Point, Point)>),
    /// The outline of a palette entry being dragged over the canvas, centred on the point.
    Placing(Option<(PaletteItem, Point)>),
    /// The palette entry the next press on the canvas creates.
    Armed(Option<PaletteItem>),
}

/// The gesture under way.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Gesture {
    #[default]
    Idle,
    /// Dragging empty canvas: the view follows the pointer.
    Pan { screen: Point, from: Viewport },
    /// A node pressed, not yet dragged past [`DRAG_THRESHOLD`]: still a click.
    Pressed { ids: Vec<String>, start: Point },
    /// Dragging the selection; the model moves on release.
    Dragging { ids: Vec<String>, start: Point },
    /// Selecting what a rectangle encloses; `rect` once the pointer has moved.
    Lasso {
        start: Point,
        add: bool,
        rect: Option<Bounds>,
    },
    /// From a node's connect handle towards the node to connect it to.
    Connect { source: String, from: Point },
    /// Moving one end of a flow; `fixed` is where its other end stays.
    Reconnect {
        flow: String,
        end: FlowEnd,
        fixed: Point,
    },
    /// A palette entry dragged towards the canvas.
    Create { item: PaletteItem },
}

/// The state machine: the gesture under way, and the palette entry armed by a click, which
/// waits for a press on the canvas independently of any drag.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gestures {
    gesture: Gesture,
    armed: Option<PaletteItem>,
}

impl Gestures {
    pub fn gesture(&self) -> &Gesture {
        &self.gesture
    }

    /// No gesture under way: moves and releases change nothing.
    pub fn is_idle(&self) -> bool {
        self.gesture == Gesture::Idle
    }

    pub fn armed(&self) -> Option<PaletteItem> {
        self.armed
    }

    /// A press on a palette entry starts dragging it; released over the canvas it is created
    /// there, released anywhere else (a click) it is armed.
    pub fn press_palette(&mut self, item: PaletteItem) {
        self.gesture = Gesture::Create { item };
    }

    /// A press on the canvas. `editor` and `scene` are the document as it is drawn;
    /// `viewport` is where a pan starts from.
    pub fn press(
        &mut self,
        press: Press,
        viewport: Viewport,
        editor: &Editor,
        scene: &Scene,
    ) -> Vec<Effect> {
        let Press {
            screen,
            at,
            target,
            shift,
            alt,
        } = press;
        if let Some(item) = self.armed.take() {
            return vec![Effect::Armed(None), Effect::Create { item, at }];
        }
        match target {
            Target::ConnectHandle { node } => {
                let from = scene
                    .shapes
                    .iter()
                    .find(|s| s.id == node)
                    .map_or(at, |s| s.bounds.center());
                self.gesture = Gesture::Connect { source: node, from };
                Vec::new()
            }
            Target::EndHandle { flow, end } => {
                let fixed = scene.edges.iter().find(|e| e.id == flow).and_then(|e| {
                    match end {
                        FlowEnd::Source => e.points.last(),
                        FlowEnd::Target => e.points.first(),
                    }
                    .copied()
                });
                if let Some(fixed) = fixed {
                    self.gesture = Gesture::Reconnect { flow, end, fixed };
                }
                Vec::new()
            }
            Target::Element { id, .. } if shift => vec![Effect::ToggleSelected(id)],
            Target::Element { id, node } => {
                let selected = editor.is_selected(&id);
                let ids = if selected {
                    editor.selection().to_vec()
                } else {
                    vec![id.clone()]
                };
                let mut effects = Vec::new();
                if !selected {
                    effects.push(Effect::Select(vec![id]));
                }
                if node {
                    let outlines = scene
                        .shapes
                        .iter()
                        .filter(|s| ids.contains(&s.id))
                        .map(|s| s.bounds)
                        .collect();
                    effects.push(Effect::Ghost(outlines));
                    self.gesture = Gesture::Pressed { ids, start: at };
                }
                effects
            }
            Target::Canvas if shift || alt => {
                self.gesture = Gesture::Lasso {
                    start: at,
                    add: shift,
                    rect: None,
                };
                Vec::new()
            }
            Target::Canvas => {
                self.gesture = Gesture::Pan {
                    screen,
                    from: viewport,
                };
                vec![Effect::ClearSelection]
            }
        }
    }

    /// The pointer moved (anywhere on the page: a drag may leave the canvas).
    pub fn pointer_move(&mut self, pointer: Pointer) -> Vec<Effect> {
        let Pointer {
            screen,
            diagram,
            over_canvas,
        } = pointer;
        match &mut self.gesture {
            Gesture::Idle => Vec::new(),
            Gesture::Pan {
                screen: start,
                from,
            } => vec![Effect::Viewport(Viewport {
                x: from.x + screen.x - start.x,
                y: from.y + screen.y - start.y,
                ..*from
            })],
            Gesture::Pressed { ids, start } => {
                let Some(p) = diagram else {
                    return Vec::new();
                };
                let (dx, dy) = (p.x - start.x, p.y - start.y);
                if dx.abs() + dy.abs() < DRAG_THRESHOLD {
                    return Vec::new();
                }
                self.gesture = Gesture::Dragging {
                    ids: std::mem::take(ids),
                    start: *start,
                };
                vec![Effect::GhostOffset(dx, dy)]
            }
            Gesture::Dragging { start, .. } => diagram
                .map(|p| Effect::GhostOffset(p.x - start.x, p.y - start.y))
                .into_iter()
                .collect(),
            Gesture::Lasso { start, rect, .. } => {
                let Some(p) = diagram else {
                    return Vec::new();
                };
                let r = Bounds::new(
                    start.x.min(p.x),
                    start.y.min(p.y),
                    (p.x - start.x).abs(),
                    (p.y - start.y).abs(),
                );
                *rect = Some(r);
                vec![Effect::Lasso(Some(r))]
            }
            Gesture::Connect { from, .. } | Gesture::Reconnect { fixed: from, .. } => diagram
                .map(|p| Effect::Link(Some((*from, p))))
                .into_iter()
                .collect(),
            Gesture::Create { item } => {
                let at = diagram.filter(|_| over_canvas);
                vec![Effect::Placing(at.map(|p| (*item, p)))]
            }
        }
    }

    /// The pointer was released (anywhere on the page). `editor` is the document now, for what
    /// lies under the pointer or inside the lasso.
    pub fn release(&mut self, pointer: Pointer, editor: &Editor) -> Vec<Effect> {
        let point = pointer.diagram;
        match std::mem::take(&mut self.gesture) {
            Gesture::Idle | Gesture::Pan { .. } => Vec::new(),
            Gesture::Pressed { .. } => {
                vec![Effect::Ghost(Vec::new()), Effect::GhostOffset(0.0, 0.0)]
            }
            Gesture::Dragging { ids, start } => {
                let mut effects = vec![Effect::Ghost(Vec::new()), Effect::GhostOffset(0.0, 0.0)];
                if let Some(p) = point {
                    effects.push(Effect::Move {
                        ids,
                        dx: p.x - start.x,
                        dy: p.y - start.y,
                    });
                }
                effects
            }
            Gesture::Lasso { add, rect, .. } => {
                let mut effects = Vec::new();
                if let Some(rect) = rect {
                    let mut ids = editor.elements_in(rect);
                    if add {
                        let mut all = editor.selection().to_vec();
                        all.retain(|id| !ids.contains(id));
                        all.append(&mut ids);
                        ids = all;
                    }
                    effects.push(Effect::Select(ids));
                }
                effects.push(Effect::Lasso(None));
                effects
            }
            Gesture::Connect { source, .. } => {
                let mut effects = vec![Effect::Link(None)];
                let target = point.and_then(|p| editor.node_at(p));
                if let Some(target) = target.filter(|t| *t != source) {
                    effects.push(Effect::Connect { source, target });
                }
                effects
            }
            Gesture::Reconnect { flow, end, .. } => {
                let mut effects = vec![Effect::Link(None)];
                if let Some(node) = point.and_then(|p| editor.node_at(p)) {
                    effects.push(Effect::Reconnect { flow, end, node });
                }
                effects
            }
            Gesture::Create { item } => match point.filter(|_| pointer.over_canvas) {
                Some(at) => {
                    self.armed = None;
                    vec![
                        Effect::Placing(None),
                        Effect::Armed(None),
                        Effect::Create { item, at },
                    ]
                }
                // Released without reaching the canvas: a click. The next press on the canvas
                // places the element.
                None => {
                    self.armed = Some(item);
                    vec![Effect::Placing(None), Effect::Armed(Some(item))]
                }
            },
        }
    }

    /// Escape: drops the gesture, its previews, the armed entry and the selection.
    pub fn cancel(&mut self) -> Vec<Effect> {
        *self = Self::default();
        vec![
            Effect::Ghost(Vec::new()),
            Effect::GhostOffset(0.0, 0.0),
            Effect::Lasso(None),
            Effect::Link(None),
            Effect::Placing(None),
            Effect::Armed(None),
            Effect::ClearSelection,
        ]
    }
}
