//! An instance's diagram coloured by element state, with active-token counts.
//!
//! [`element_states`] folds an instance's element instances and incidents into one state per
//! BPMN element — what the diagram colours — and the number of tokens waiting there.

use std::collections::{BTreeMap, HashMap};

use designer::scene::scene;

use leptos::prelude::*;

use crate::api::monitor::{ElementRow, IncidentRow};
use crate::components::diagram::{BpmnDiagram, ElementOverlay};

/// What the diagram shows for one BPMN element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementState {
    /// Element instances active there now (tokens).
    pub active: u32,
    pub completed: u32,
    pub terminated: u32,
    /// For a sequence flow: how often it was taken.
    pub taken: u32,
    /// An open incident is there.
    pub incident: bool,
}

impl ElementState {
    /// The class the diagram colours the element with: `incident`, `active`, `completed`,
    /// `terminated`, or `taken` (a sequence flow).
    pub fn class(&self) -> &'static str {
        if self.incident {
            "incident"
        } else if self.active > 0 {
            "active"
        } else if self.completed > 0 {
            "completed"
        } else if self.terminated > 0 {
            "terminated"
        } else {
            "taken"
        }
    }
}

/// The state of every element of the instance that has been reached, by element id.
pub fn element_states(
    elements: &[ElementRow],
    incidents: &[IncidentRow],
) -> BTreeMap<String, ElementState> {
    let mut states: BTreeMap<String, ElementState> = BTreeMap::new();
    for element in elements {
        let entry = states.entry(element.element_id.clone()).or_default();
        match element.state.as_str() {
            "activating" | "activated" | "completing" | "terminating" => entry.active += 1,
            "completed" => entry.completed += 1,
            "terminated" => entry.terminated += 1,
            "taken" => entry.taken += 1,
            _ => {}
        }
    }
    for incident in incidents.iter().filter(|i| i.state == "active") {
        states
            .entry(incident.element_id.clone())
            .or_default()
            .incident = true;
    }
    states
}

/// The instance's diagram (the designer's renderer, read only) coloured by element state, with
/// active-token counts as badges, over a list of the same states for reading and assistive
/// technology.
#[expect(
    clippy::needless_pass_by_value,
    reason = "Leptos components own their props; this one only reads some of them"
)]
#[component]
pub fn InstanceDiagram(
    /// The process definition's BPMN, when the engine has reported it.
    bpmn_xml: Option<String>,
    /// From [`element_states`].
    states: BTreeMap<String, ElementState>,
) -> impl IntoView {
    let overlay: HashMap<String, ElementOverlay> = states
        .iter()
        .map(|(id, state)| {
            let overlay = ElementOverlay {
                class: state.class(),
                badge: (state.active > 0).then(|| state.active.to_string()),
            };
            (id.clone(), overlay)
        })
        .collect();
    let diagram = match bpmn_xml.as_deref().map(bpmn::parse) {
        None => Some(
            view! { <p class="muted">"The engine has not reported this process's definition."</p> }
                .into_any(),
        ),
        Some(Err(error)) => Some(
            view! { <p class="error">{format!("The definition cannot be drawn: {error}")}</p> }
                .into_any(),
        ),
        Some(Ok(definitions)) => {
            let scene = scene(&definitions);
            Some(if scene.shapes.is_empty() {
                view! { <p class="muted">"The definition has no diagram layout to draw."</p> }
                    .into_any()
            } else {
                view! {
                    <div data-testid="instance-diagram">
                        <BpmnDiagram scene overlay />
                    </div>
                }
                .into_any()
            })
        }
    };
    view! {
        {diagram}
        <section class="diagram-states" data-testid="element-states">
            <h2>"Elements"</h2>
            <ul class="element-states">
                {states
                    .into_iter()
                    .map(|(id, state)| {
                        let class = state.class();
                        let badge = (state.active > 0).then(|| view! {
                            <span class="tokens" title="active tokens">{state.active}</span>
                        });
                        let element = id.clone();
                        view! {
                            <li class=format!("element {class}") data-element=element data-state=class>
                                <code>{id}</code> " " {class} " " {badge}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(id: &str, state: &str) -> ElementRow {
        ElementRow {
            element_instance_key: 1,
            element_id: id.into(),
            element_type: "SERVICE_TASK".into(),
            state: state.into(),
            start_time: String::new(),
            end_time: None,
        }
    }

    #[test]
    fn states_count_tokens_and_put_incidents_first() {
        let incidents = vec![IncidentRow {
            environment: "dev".into(),
            incident_key: 9,
            process_instance_key: 1,
            bpmn_process_id: "p".into(),
            element_id: "pay".into(),
            error_type: "JOB_NO_RETRIES".into(),
            error_message: "declined".into(),
            state: "active".into(),
            created_at: String::new(),
        }];
        let states = element_states(
            &[
                element("start", "completed"),
                element("f1", "taken"),
                element("pay", "activated"),
                element("review", "activated"),
                element("review", "activated"),
                element("review", "completed"),
            ],
            &incidents,
        );
        assert_eq!(states["start"].class(), "completed");
        assert_eq!(states["f1"].class(), "taken");
        assert_eq!(states["pay"].class(), "incident");
        assert_eq!(states["review"].active, 2);
        assert_eq!(states["review"].class(), "active");
    }
}
