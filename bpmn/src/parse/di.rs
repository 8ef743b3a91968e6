//! BPMNDI: diagrams, planes, shapes and edges with their bounds, waypoints and labels.

use super::{Conv, extra};
use crate::error::ParseError;
use crate::model::*;
use crate::order::Ctx;
use crate::raw::{RawElement, RawNode, parse_f64};
use crate::xml::{BPMNDI_NS, DC_NS, DI_NS};

impl Conv<'_> {
    pub(super) fn diagram(&self, mut el: RawElement) -> Result<Diagram, ParseError> {
        let Some(plane) = el.take_child(BPMNDI_NS, "BPMNPlane") else {
            return Err(self.model(&el, "bpmndi:BPMNDiagram has no bpmndi:BPMNPlane".into()));
        };
        let plane = self.plane(plane)?;
        let label_styles = el
            .take_children(BPMNDI_NS, "BPMNLabelStyle")
            .into_iter()
            .map(|mut s| LabelStyle {
                id: s.take_id("id").unwrap_or_default(),
                font: s.take_child(DC_NS, "Font").map(|mut f| Font {
                    name: f.take_attr("name"),
                    size: f.take_f64("size"),
                    is_bold: f.take_bool("isBold"),
                    is_italic: f.take_bool("isItalic"),
                    is_underline: f.take_bool("isUnderline"),
                    is_strike_through: f.take_bool("isStrikeThrough"),
                    extra: extra(f, Ctx::Di),
                }),
                extra: extra(s, Ctx::Di),
            })
            .collect();
        Ok(Diagram {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            documentation: el.take_attr("documentation"),
            resolution: el.take_f64("resolution"),
            plane,
            label_styles,
            extra: extra(el, Ctx::Di),
        })
    }

    fn plane(&self, mut el: RawElement) -> Result<Plane, ParseError> {
        let mut elements = Vec::new();
        let mut keep = Vec::new();
        for child in std::mem::take(&mut el.children) {
            match child {
                RawNode::Element(e) if e.is(BPMNDI_NS, "BPMNShape") => {
                    elements.push(DiagramElement::Shape(self.shape(e)?));
                }
                RawNode::Element(e) if e.is(BPMNDI_NS, "BPMNEdge") => {
                    elements.push(DiagramElement::Edge(self.edge(e)?));
                }
                other => keep.push(other),
            }
        }
        el.children = keep;
        Ok(Plane {
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            elements,
            extra: extra(el, Ctx::Di),
        })
    }

    fn shape(&self, mut el: RawElement) -> Result<Shape, ParseError> {
        let Some(bounds) = el.take_child(DC_NS, "Bounds") else {
            return Err(self.model(&el, "bpmndi:BPMNShape has no dc:Bounds".into()));
        };
        Ok(Shape {
            bounds: self.bounds(&bounds)?,
            label: el
                .take_child(BPMNDI_NS, "BPMNLabel")
                .map(|l| self.label(l))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            is_horizontal: el.take_bool("isHorizontal"),
            is_expanded: el.take_bool("isExpanded"),
            is_marker_visible: el.take_bool("isMarkerVisible"),
            is_message_visible: el.take_bool("isMessageVisible"),
            participant_band_kind: el.take_attr("participantBandKind"),
            choreography_activity_shape: el.take_id("choreographyActivityShape"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn edge(&self, mut el: RawElement) -> Result<Edge, ParseError> {
        let waypoints = el
            .take_children(DI_NS, "waypoint")
            .iter()
            .map(|w| Ok(Point::new(self.number(w, "x")?, self.number(w, "y")?)))
            .collect::<Result<_, ParseError>>()?;
        Ok(Edge {
            waypoints,
            label: el
                .take_child(BPMNDI_NS, "BPMNLabel")
                .map(|l| self.label(l))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            source_element: el.take_id("sourceElement"),
            target_element: el.take_id("targetElement"),
            message_visible_kind: el.take_attr("messageVisibleKind"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn label(&self, mut el: RawElement) -> Result<Label, ParseError> {
        Ok(Label {
            bounds: el
                .take_child(DC_NS, "Bounds")
                .map(|b| self.bounds(&b))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            label_style: el.take_id("labelStyle"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn bounds(&self, el: &RawElement) -> Result<Bounds, ParseError> {
        Ok(Bounds {
            x: self.number(el, "x")?,
            y: self.number(el, "y")?,
            width: self.number(el, "width")?,
            height: self.number(el, "height")?,
        })
    }

    fn number(&self, el: &RawElement, name: &str) -> Result<f64, ParseError> {
        let raw = el.attrs.iter().find(|a| a.ns.is_none() && a.name == name);
        match raw {
            None => Err(self.model(el, format!("{}:{} has no {name} attribute", "dc", el.name))),
            Some(a) => parse_f64(&a.value).ok_or_else(|| {
                self.model(
                    el,
                    format!("{} {name}={:?} is not a finite number", el.name, a.value),
                )
            }),
        }
    }
}
