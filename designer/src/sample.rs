//! Generated models, for load tests and for trying the Studio on something large.

use bpmn::edit::default_size;
use bpmn::model::zeebe::TaskDefinition;
use bpmn::{Bounds, Definitions, Id};

use crate::palette::PaletteItem;

/// Nodes per row before the layout wraps.
const PER_ROW: usize = 10;
/// Distance between node centres.
const STEP_X: f64 = 150.0;
const STEP_Y: f64 = 140.0;

/// A valid executable process `generated`: a start event, `(nodes - 2) / 2` service tasks of
/// job type `work`, an end event, chained by sequence flows, laid out left to right in rows
/// of ten. About `nodes` flow elements in all, counting the flows.
pub fn generated(nodes: usize) -> Definitions {
    let tasks = nodes.saturating_sub(2) / 2;
    let pid = "generated";
    let mut defs = Definitions::new_process(pid, Some("Generated process"));
    let mut ids: Vec<Id> = Vec::with_capacity(tasks + 2);
    for i in 0..tasks + 2 {
        let (item, id, name) = if i == 0 {
            (
                PaletteItem::StartEvent,
                "StartEvent_1".to_owned(),
                "Start".to_owned(),
            )
        } else if i == tasks + 1 {
            (
                PaletteItem::EndEvent,
                "EndEvent_1".to_owned(),
                "End".to_owned(),
            )
        } else {
            (
                PaletteItem::ServiceTask,
                format!("Activity_{i}"),
                format!("Task {i}"),
            )
        };
        let mut node = item.node(Id::from(id)).with_name(name);
        if item == PaletteItem::ServiceTask {
            node.base.zeebe_mut().task_definition = Some(TaskDefinition {
                job_type: Some("work".into()),
                ..TaskDefinition::default()
            });
        }
        let (w, h) = default_size(&node.kind);
        let cx = 180.0 + (i % PER_ROW) as f64 * STEP_X;
        let cy = 160.0 + (i / PER_ROW) as f64 * STEP_Y;
        ids.push(node.id.clone());
        defs.add_flow_node(pid, node, Bounds::new(cx - w / 2.0, cy - h / 2.0, w, h))
            .expect("generated ids are unique and the process exists");
    }
    for (i, pair) in ids.windows(2).enumerate() {
        defs.connect(
            pair[0].as_str(),
            pair[1].as_str(),
            Some(Id::from(format!("Flow_{}", i + 1))),
        )
        .expect("generated nodes share the process");
    }
    defs
}
