//! Pan and zoom of the canvas, and where things drawn in diagram coordinates land on it. Pure
//! arithmetic, so the Studio's zoom buttons, wheel, fit and in-place label editor agree with
//! what the unit tests check.

use bpmn::{Bounds, Point};

use crate::scene::{Glyph, ShapeView};

/// Zoom limits of the canvas.
pub const MIN_ZOOM: f64 = 0.1;
pub const MAX_ZOOM: f64 = 4.0;
/// Fitting a diagram never magnifies it more than this: a small diagram stays readable
/// without filling the screen.
const MAX_FIT_ZOOM: f64 = 1.5;

/// A diagram point `p` is drawn at `p * zoom + (x, y)` in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Default for Viewport {
    /// Unzoomed, with the diagram's origin at the canvas's top left corner.
    fn default() -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            zoom: 1.0,
        }
    }
}

impl Viewport {
    /// The diagram point under canvas pixel (`left`, `top`).
    pub fn to_diagram(self, left: f64, top: f64) -> Point {
        Point::new((left - self.x) / self.zoom, (top - self.y) / self.zoom)
    }

    /// The canvas pixel where diagram point `p` is drawn.
    pub fn to_canvas(self, p: Point) -> Point {
        Point::new(p.x * self.zoom + self.x, p.y * self.zoom + self.y)
    }

    /// Zoomed by `factor` (within the limits), keeping canvas pixel `at` over the same
    /// diagram point.
    pub fn zoomed(self, factor: f64, at: (f64, f64)) -> Self {
        let (cx, cy) = at;
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let f = zoom / self.zoom;
        Self {
            x: cx - (cx - self.x) * f,
            y: cy - (cy - self.y) * f,
            zoom,
        }
    }

    /// The viewport that shows all of `extent`, with `margin` around it, centred on a canvas of
    /// `width` × `height` pixels; `None` when there is nothing to fit or no canvas to fit into.
    pub fn fit(extent: Bounds, margin: f64, width: f64, height: f64) -> Option<Self> {
        if extent.width <= 0.0 || width <= 0.0 {
            return None;
        }
        let zoom = (width / (extent.width + 2.0 * margin))
            .min(height / (extent.height + 2.0 * margin))
            .clamp(MIN_ZOOM, MAX_FIT_ZOOM);
        Some(Self {
            x: (width - extent.width * zoom) / 2.0 - extent.x * zoom,
            y: (height - extent.height * zoom) / 2.0 - extent.y * zoom,
            zoom,
        })
    }
}

/// The zoom factor of one wheel event: pixel and line deltas alike, so one notch of a mouse
/// wheel (100 pixels, or 3 lines) is about 10 % zoom; scrolling down zooms out.
pub fn wheel_zoom(delta_y: f64, in_lines: bool) -> f64 {
    let delta = delta_y * if in_lines { 33.0 } else { 1.0 };
    (-delta * 0.001).exp()
}

/// Where the in-place label editor of a shape goes, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
}

/// The label editor of `shape`: below events and gateways (where their names are drawn),
/// centred over the middle of anything else, at least wide enough to type in.
pub fn label_box(shape: &ShapeView, viewport: Viewport) -> LabelBox {
    let v = viewport;
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
    LabelBox {
        left: cx * v.zoom + v.x - width / 2.0,
        top: y * v.zoom + v.y,
        width,
    }
}
