//! BPMNDI to elements: diagrams, planes, shapes, edges, labels and label styles.

use super::B;
use crate::model::*;
use crate::order::Ctx;
use crate::xml::{BPMNDI_NS, DC_NS, DI_NS, XmlElement};

fn bounds(bd: &Bounds) -> XmlElement {
    B::new(DC_NS, "Bounds", Ctx::Di)
        .num("x", bd.x)
        .num("y", bd.y)
        .num("width", bd.width)
        .num("height", bd.height)
        .build()
}

fn label(l: &Label) -> XmlElement {
    let mut b = B::new(BPMNDI_NS, "BPMNLabel", Ctx::Di)
        .id(&l.id)
        .idref("labelStyle", l.label_style.as_ref());
    if let Some(bd) = &l.bounds {
        b = b.child(bounds(bd));
    }
    b.extra(&l.extra).build()
}

pub(super) fn diagram(d: &Diagram) -> XmlElement {
    let p = &d.plane;
    let mut pb = B::new(BPMNDI_NS, "BPMNPlane", Ctx::Di)
        .id(&p.id)
        .idref("bpmnElement", p.bpmn_element.as_ref());
    for el in &p.elements {
        pb = pb.child(match el {
            DiagramElement::Shape(s) => {
                let mut b = B::new(BPMNDI_NS, "BPMNShape", Ctx::Di)
                    .id(&s.id)
                    .idref("bpmnElement", s.bpmn_element.as_ref())
                    .bool("isHorizontal", s.is_horizontal)
                    .bool("isExpanded", s.is_expanded)
                    .bool("isMarkerVisible", s.is_marker_visible)
                    .bool("isMessageVisible", s.is_message_visible)
                    .text_attr("participantBandKind", &s.participant_band_kind)
                    .idref(
                        "choreographyActivityShape",
                        s.choreography_activity_shape.as_ref(),
                    )
                    .child(bounds(&s.bounds));
                if let Some(l) = &s.label {
                    b = b.child(label(l));
                }
                b.extra(&s.extra).build()
            }
            DiagramElement::Edge(e) => {
                let mut b = B::new(BPMNDI_NS, "BPMNEdge", Ctx::Di)
                    .id(&e.id)
                    .idref("bpmnElement", e.bpmn_element.as_ref())
                    .idref("sourceElement", e.source_element.as_ref())
                    .idref("targetElement", e.target_element.as_ref())
                    .text_attr("messageVisibleKind", &e.message_visible_kind);
                for w in &e.waypoints {
                    b = b.child(
                        B::new(DI_NS, "waypoint", Ctx::Di)
                            .num("x", w.x)
                            .num("y", w.y)
                            .build(),
                    );
                }
                if let Some(l) = &e.label {
                    b = b.child(label(l));
                }
                b.extra(&e.extra).build()
            }
        });
    }
    let mut b = B::new(BPMNDI_NS, "BPMNDiagram", Ctx::Di)
        .id(&d.id)
        .text_attr("name", &d.name)
        .text_attr("documentation", &d.documentation)
        .opt_num("resolution", d.resolution)
        .child(pb.extra(&p.extra).build());
    for s in &d.label_styles {
        let mut sb = B::new(BPMNDI_NS, "BPMNLabelStyle", Ctx::Di).id(&s.id);
        if let Some(f) = &s.font {
            sb = sb.child(
                B::new(DC_NS, "Font", Ctx::Di)
                    .text_attr("name", &f.name)
                    .opt_num("size", f.size)
                    .bool("isBold", f.is_bold)
                    .bool("isItalic", f.is_italic)
                    .bool("isUnderline", f.is_underline)
                    .bool("isStrikeThrough", f.is_strike_through)
                    .extra(&f.extra)
                    .build(),
            );
        }
        b = b.child(sb.extra(&s.extra).build());
    }
    b.extra(&d.extra).build()
}
