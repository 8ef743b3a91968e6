//! Zeebe executability (`BPMN1xx`) at the level of the document and its processes;
//! the rules for each flow node are in `tasks`, `events` and `mappings`.

use super::{Code, Validator, is_executable};
use crate::model::*;
use crate::walk::Scope;

impl<'a> Validator<'a> {
    pub(super) fn zeebe(&mut self, all: &[Scope<'a>]) {
        let defs = self.defs;
        let processes: Vec<&Process> = defs.processes().collect();
        if !processes.is_empty() && !processes.iter().any(|p| is_executable(p)) {
            self.push(Code::NoExecutableProcess, None, "no process is marked isExecutable=\"true\"; Zeebe deploys only executable processes".into());
        }
        if defs.execution_platform.as_deref() != Some("Camunda Cloud") {
            self.push(
                Code::NotCamundaPlatform,
                Some(defs.id.as_str()),
                "modeler:executionPlatform is not \"Camunda Cloud\"".into(),
            );
        }
        for m in defs.messages() {
            if let Some(s) = &m.base.zeebe().subscription
                && s.correlation_key
                    .as_deref()
                    .is_none_or(|k| k.trim().is_empty())
            {
                self.push(
                    Code::MissingCorrelationKey,
                    Some(m.id.as_str()),
                    "zeebe:subscription has no correlationKey".into(),
                );
            }
        }
        for s in all {
            let Some(p) = defs.process(s.process.as_str()) else {
                continue;
            };
            if !is_executable(p) {
                continue;
            }
            if s.sub_process.is_none() {
                let none_starts = s
                    .container
                    .start_events()
                    .filter(|n| n.event().is_some_and(|e| e.definitions.is_empty()))
                    .count();
                if none_starts > 1 {
                    self.push(
                        Code::MultipleNoneStartEvents,
                        Some(p.id.as_str()),
                        "a process can have at most one none start event".into(),
                    );
                }
            }
            for n in s.container.flow_nodes() {
                self.zeebe_node(n, s);
            }
        }
    }

    fn zeebe_node(&mut self, n: &FlowNode, s: &Scope<'a>) {
        let job_type_ok = n
            .zeebe()
            .task_definition
            .as_ref()
            .and_then(|t| t.job_type.as_deref())
            .is_some_and(|t| !t.trim().is_empty());
        self.zeebe_task(n, job_type_ok);
        if let Some(e) = n.event() {
            self.zeebe_event(n, e, s, job_type_ok);
        }
    }
}
