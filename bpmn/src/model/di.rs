//! BPMN diagram interchange (BPMNDI): where each element is drawn.

use serde::{Deserialize, Serialize};

use super::{Extra, Id};

/// `bpmndi:BPMNDiagram`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Diagram {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `documentation` attribute.
    pub documentation: Option<String>,
    /// `resolution` in dots per inch.
    pub resolution: Option<f64>,
    /// The plane holding the shapes and edges.
    pub plane: Plane,
    /// `bpmndi:BPMNLabelStyle` entries.
    pub label_styles: Vec<LabelStyle>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// `bpmndi:BPMNPlane`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plane {
    /// `id`.
    pub id: Id,
    /// `bpmnElement`: the process, collaboration or sub-process drawn.
    pub bpmn_element: Option<Id>,
    /// Shapes and edges in drawing order.
    pub elements: Vec<DiagramElement>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// A shape or an edge on a plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DiagramElement {
    /// `bpmndi:BPMNShape`.
    Shape(Shape),
    /// `bpmndi:BPMNEdge`.
    Edge(Edge),
}

impl DiagramElement {
    /// The id of the BPMN element drawn.
    pub fn bpmn_element(&self) -> Option<&Id> {
        match self {
            Self::Shape(s) => s.bpmn_element.as_ref(),
            Self::Edge(e) => e.bpmn_element.as_ref(),
        }
    }

    /// The id of the DI element itself.
    pub fn id(&self) -> &Id {
        match self {
            Self::Shape(s) => &s.id,
            Self::Edge(e) => &e.id,
        }
    }
}

/// `bpmndi:BPMNShape`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shape {
    /// `id`.
    pub id: Id,
    /// `bpmnElement`.
    pub bpmn_element: Option<Id>,
    /// `isHorizontal` (pools and lanes).
    pub is_horizontal: Option<bool>,
    /// `isExpanded` (sub-processes, pools).
    pub is_expanded: Option<bool>,
    /// `isMarkerVisible` (exclusive gateways).
    pub is_marker_visible: Option<bool>,
    /// `isMessageVisible` (choreography participant bands).
    pub is_message_visible: Option<bool>,
    /// `participantBandKind`.
    pub participant_band_kind: Option<String>,
    /// `choreographyActivityShape`.
    pub choreography_activity_shape: Option<Id>,
    /// `dc:Bounds`.
    pub bounds: Bounds,
    /// `bpmndi:BPMNLabel`.
    pub label: Option<Label>,
    /// Unknown attributes (for example colours) and children.
    pub extra: Extra,
}

/// `bpmndi:BPMNEdge`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Edge {
    /// `id`.
    pub id: Id,
    /// `bpmnElement`.
    pub bpmn_element: Option<Id>,
    /// `sourceElement` (a DI element id).
    pub source_element: Option<Id>,
    /// `targetElement` (a DI element id).
    pub target_element: Option<Id>,
    /// `messageVisibleKind`.
    pub message_visible_kind: Option<String>,
    /// `di:waypoint` list.
    pub waypoints: Vec<Point>,
    /// `bpmndi:BPMNLabel`.
    pub label: Option<Label>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// `bpmndi:BPMNLabel`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Label {
    /// `id`.
    pub id: Id,
    /// `labelStyle`: reference to a [`LabelStyle`].
    pub label_style: Option<Id>,
    /// `dc:Bounds` of the label text.
    pub bounds: Option<Bounds>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// `bpmndi:BPMNLabelStyle`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelStyle {
    /// `id`.
    pub id: Id,
    /// `dc:Font`.
    pub font: Option<Font>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// `dc:Font`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Font {
    /// `name`.
    pub name: Option<String>,
    /// `size` in points.
    pub size: Option<f64>,
    /// `isBold`.
    pub is_bold: Option<bool>,
    /// `isItalic`.
    pub is_italic: Option<bool>,
    /// `isUnderline`.
    pub is_underline: Option<bool>,
    /// `isStrikeThrough`.
    pub is_strike_through: Option<bool>,
    /// Unknown attributes and children.
    pub extra: Extra,
}

/// `dc:Bounds`: a rectangle in diagram coordinates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Bounds {
    /// A rectangle.
    pub fn new(x: f64, y: f64, width: f64, height: f64) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// The centre point.
    pub fn center(&self) -> Point {
        Point::new(self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    /// True if `other` lies entirely inside this rectangle.
    pub fn contains(&self, other: &Bounds) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.width <= self.x + self.width
            && other.y + other.height <= self.y + self.height
    }
}

/// `di:waypoint`: a point in diagram coordinates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

impl Point {
    /// A point.
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}
