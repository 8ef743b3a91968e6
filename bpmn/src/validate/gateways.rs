//! Gateways: outgoing flows, conditions and default flows, and the targets of
//! event-based gateways.

use std::collections::HashMap;

use super::{Code, Validator};
use crate::model::*;

impl Validator<'_> {
    pub(super) fn gateway(
        &mut self,
        n: &FlowNode,
        outs: &[&SequenceFlow],
        nodes: &HashMap<&str, &FlowNode>,
    ) {
        let id = n.id.as_str();
        if outs.is_empty() {
            self.push(
                Code::GatewayWithoutOutgoing,
                Some(id),
                "gateway has no outgoing sequence flow".into(),
            );
            return;
        }
        match &n.kind {
            FlowNodeKind::ExclusiveGateway(g) | FlowNodeKind::InclusiveGateway(g)
                if outs.len() > 1 =>
            {
                for f in outs {
                    let is_default = g.default_flow.as_ref() == Some(&f.id);
                    if f.condition.is_none() && !is_default {
                        self.push(
                            Code::MissingConditionOrDefault,
                            Some(f.id.as_str()),
                            format!("flow leaving gateway {id} has no condition and is not the default flow"),
                        );
                    }
                }
            }
            FlowNodeKind::ParallelGateway(_) | FlowNodeKind::EventBasedGateway(_) => {
                for f in outs.iter().filter(|f| f.condition.is_some()) {
                    self.push(
                        Code::ConditionIgnored,
                        Some(f.id.as_str()),
                        format!(
                            "condition on a flow leaving {} gateway {id} is ignored",
                            n.kind.tag()
                        ),
                    );
                }
                if matches!(n.kind, FlowNodeKind::EventBasedGateway(_)) {
                    if outs.len() < 2 {
                        self.push(
                            Code::EventGatewayTargets,
                            Some(id),
                            "an event-based gateway needs at least two outgoing flows".into(),
                        );
                    }
                    for f in outs {
                        let ok = nodes
                            .get(f.target_ref.as_str())
                            .is_some_and(|t| match &t.kind {
                                FlowNodeKind::ReceiveTask(_) => true,
                                FlowNodeKind::IntermediateCatchEvent(e) => {
                                    e.definition().is_some_and(|d| {
                                        matches!(
                                            d,
                                            EventDefinitionKind::Message { .. }
                                                | EventDefinitionKind::Timer(_)
                                                | EventDefinitionKind::Signal { .. }
                                                | EventDefinitionKind::Conditional { .. }
                                        )
                                    })
                                }
                                _ => false,
                            });
                        if !ok {
                            self.push(Code::EventGatewayTargets, Some(f.id.as_str()), format!("flow from event-based gateway {id} must lead to a catch event or receive task"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
