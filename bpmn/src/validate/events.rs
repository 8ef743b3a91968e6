//! Zeebe rules for events: one event definition each, messages with names and
//! correlation keys, timers with valid ISO-8601 values of an allowed kind, and the
//! codes and names of errors, signals and escalations.

use super::{Code, Validator};
use crate::model::*;
use crate::timer;
use crate::walk::Scope;

impl<'a> Validator<'a> {
    pub(super) fn zeebe_event(
        &mut self,
        n: &FlowNode,
        e: &Event,
        s: &Scope<'a>,
        job_type_ok: bool,
    ) {
        let id = Some(n.id.as_str());
        if e.definitions.len() > 1 {
            self.push(
                Code::MultipleEventDefinitions,
                id,
                "Zeebe supports one event definition per event".into(),
            );
        }
        let process_start =
            s.sub_process.is_none() && matches!(n.kind, FlowNodeKind::StartEvent(_));
        for d in &e.definitions {
            match &d.kind {
                EventDefinitionKind::Message { message_ref } => {
                    let catching = !matches!(
                        n.kind,
                        FlowNodeKind::IntermediateThrowEvent(_) | FlowNodeKind::EndEvent(_)
                    );
                    if catching {
                        self.message(n, message_ref.as_ref(), !process_start);
                    } else if !job_type_ok {
                        self.push(
                            Code::MissingJobType,
                            id,
                            "a message throw event needs a zeebe:taskDefinition with a type".into(),
                        );
                    }
                }
                EventDefinitionKind::Timer(t) => self.timer(n, e, t, process_start),
                EventDefinitionKind::Error { error_ref } => {
                    if matches!(n.kind, FlowNodeKind::EndEvent(_)) {
                        let code = error_ref
                            .as_ref()
                            .and_then(|r| self.defs.error(r.as_str()))
                            .and_then(|e| e.error_code.as_deref());
                        if code.is_none_or(|c| c.trim().is_empty()) {
                            self.push(
                                Code::MissingErrorCode,
                                id,
                                "an error end event needs an error with an errorCode".into(),
                            );
                        }
                    }
                }
                EventDefinitionKind::Signal { signal_ref } => {
                    let name = signal_ref
                        .as_ref()
                        .and_then(|r| self.defs.signal(r.as_str()))
                        .and_then(|s| s.name.as_deref());
                    if name.is_none_or(|c| c.trim().is_empty()) {
                        self.push(
                            Code::MissingSignalName,
                            id,
                            "a signal event needs a signal with a name".into(),
                        );
                    }
                }
                EventDefinitionKind::Escalation { escalation_ref } => {
                    let throwing = matches!(
                        n.kind,
                        FlowNodeKind::IntermediateThrowEvent(_) | FlowNodeKind::EndEvent(_)
                    );
                    let code = escalation_ref
                        .as_ref()
                        .and_then(|r| self.defs.escalation(r.as_str()))
                        .and_then(|e| e.escalation_code.as_deref());
                    if throwing && code.is_none_or(|c| c.trim().is_empty()) {
                        self.push(
                            Code::MissingEscalationCode,
                            id,
                            "an escalation throw needs an escalation with an escalationCode".into(),
                        );
                    }
                }
                EventDefinitionKind::Cancel | EventDefinitionKind::Conditional { .. } => {
                    self.push(
                        Code::UnsupportedElement,
                        id,
                        format!("Zeebe does not execute {}", d.kind.tag()),
                    );
                }
                _ => {}
            }
        }
    }

    pub(super) fn message(&mut self, n: &FlowNode, message_ref: Option<&Id>, needs_key: bool) {
        let id = Some(n.id.as_str());
        let Some(m) = message_ref.and_then(|r| self.defs.message(r.as_str())) else {
            self.push(
                Code::MissingMessage,
                id,
                "a message catch needs a message".into(),
            );
            return;
        };
        if m.name.as_deref().is_none_or(|s| s.trim().is_empty()) {
            self.push(
                Code::MissingMessage,
                id,
                format!("message {} has no name", m.id),
            );
        }
        let key = m
            .base
            .zeebe()
            .subscription
            .as_ref()
            .and_then(|s| s.correlation_key.as_deref());
        if needs_key && key.is_none_or(|k| k.trim().is_empty()) {
            self.push(
                Code::MissingCorrelationKey,
                id,
                format!("message {} needs a zeebe:subscription correlationKey", m.id),
            );
        }
    }

    fn timer(&mut self, n: &FlowNode, e: &Event, t: &TimerDefinition, process_start: bool) {
        let id = Some(n.id.as_str());
        let set: Vec<(&str, &Expression)> = [
            ("timeDate", &t.time_date),
            ("timeDuration", &t.time_duration),
            ("timeCycle", &t.time_cycle),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let [(kind, value)] = set.as_slice() else {
            self.push(
                Code::TimerWithoutValue,
                id,
                "a timer needs exactly one of timeDate, timeDuration or timeCycle".into(),
            );
            return;
        };
        let v = value.body.trim();
        if v.is_empty() {
            self.push(Code::TimerWithoutValue, id, format!("{kind} is empty"));
            return;
        }
        if !v.starts_with('=') {
            let ok = match *kind {
                "timeDate" => timer::is_date_time(v),
                "timeDuration" => timer::is_duration(v),
                _ => timer::is_cycle(v),
            };
            if !ok {
                self.push(
                    Code::InvalidTimerValue,
                    id,
                    format!("{kind} {v:?} is not a valid ISO-8601 value"),
                );
            }
        }
        let allowed = match &n.kind {
            FlowNodeKind::StartEvent(_) if process_start => {
                matches!(*kind, "timeDate" | "timeCycle")
            }
            // Start events of event sub-processes behave like boundary events.
            FlowNodeKind::StartEvent(_) => *kind != "timeCycle" || !e.interrupting(),
            FlowNodeKind::IntermediateCatchEvent(_) => matches!(*kind, "timeDate" | "timeDuration"),
            FlowNodeKind::BoundaryEvent(_) => *kind != "timeCycle" || !e.cancels_activity(),
            _ => false,
        };
        if !allowed {
            self.push(
                Code::TimerKindNotAllowed,
                id,
                format!("{kind} is not allowed on {}", n.kind.tag()),
            );
        }
    }
}
