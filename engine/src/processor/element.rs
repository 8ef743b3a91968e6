//! The BPMN element lifecycle as an explicit state machine.
//!
//! Every element instance moves through
//! `ACTIVATING → ACTIVATED → COMPLETING → COMPLETED`, or to `TERMINATING → TERMINATED`
//! from any of them. What happens in each phase depends on the element's [`Behavior`]:
//!
//! | behaviour | activating | activated waits for | completing |
//! |---|---|---|---|
//! | process | input of variables | its children | – |
//! | pass-through (none events, plain tasks) | input mappings | – | output mappings |
//! | job (service, user, send, business-rule, script with job) | create job | job completion | output mappings |
//! | script (`zeebe:script`) | evaluate into the result variable | – | output mappings |
//! | exclusive gateway | – | – | pick one outgoing flow |
//! | parallel gateway | join: all incoming flows taken | – | fork: all outgoing flows |
//! | terminate end event | – | – | terminate the rest of the scope |
//! | error boundary event | – | – | output mappings |
//!
//! A phase that fails (a FEEL error, no matching condition) raises an incident and leaves
//! the element where it was; resolving the incident runs that phase again.
//!
//! Automatic transitions are queued as [`Step`]s and run in order, rather than by
//! recursion, so long chains of automatic elements use no stack and are bounded by
//! [`MAX_STEPS_PER_COMMAND`].

use std::sync::Arc;

use bpmn::{EventDefinitionKind, FlowNode, FlowNodeKind};
use serde_json::{Map, Value};
use zeebe::record::{IncidentValue, Intent, JobValue, ProcessInstanceValue, RecordValue};

use super::{CompletedInstance, Ctx, MAX_STEPS_PER_COMMAND, variables};
use crate::state::{DeployedProcess, Lifecycle, is_join};

/// Job type of user tasks without a task definition (job-worker user tasks).
pub const USER_TASK_JOB_TYPE: &str = "io.camunda.zeebe:userTask";

/// How an element behaves in its lifecycle phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Process,
    PassThrough,
    TerminateEnd,
    Job,
    Script,
    ExclusiveGateway,
    ParallelGateway,
    ErrorBoundary,
}

/// The behaviour of `node`, Zeebe's element type and event type names, or why the engine
/// cannot run it.
pub(crate) fn behavior_of(
    node: &FlowNode,
) -> Result<(Behavior, &'static str, &'static str), String> {
    let unsupported = |what: &str| {
        Err(format!(
            "element '{}' is a {what}, which this engine does not support yet",
            node.id.as_str()
        ))
    };
    if node
        .activity()
        .is_some_and(|a| a.loop_characteristics.is_some())
    {
        return unsupported("multi-instance or loop activity");
    }
    let zeebe = node.zeebe();
    let plain_event = |e: &bpmn::Event| e.definitions.is_empty();
    match &node.kind {
        FlowNodeKind::StartEvent(e) if plain_event(e) => {
            Ok((Behavior::PassThrough, "START_EVENT", "NONE"))
        }
        FlowNodeKind::EndEvent(e) if plain_event(e) => {
            Ok((Behavior::PassThrough, "END_EVENT", "NONE"))
        }
        FlowNodeKind::EndEvent(e)
            if matches!(e.definition(), Some(EventDefinitionKind::Terminate)) =>
        {
            Ok((Behavior::TerminateEnd, "END_EVENT", "TERMINATE"))
        }
        FlowNodeKind::IntermediateThrowEvent(e) if plain_event(e) => {
            Ok((Behavior::PassThrough, "INTERMEDIATE_THROW_EVENT", "NONE"))
        }
        FlowNodeKind::BoundaryEvent(e)
            if matches!(e.definition(), Some(EventDefinitionKind::Error { .. })) =>
        {
            Ok((Behavior::ErrorBoundary, "BOUNDARY_EVENT", "ERROR"))
        }
        FlowNodeKind::Task(_) => Ok((Behavior::PassThrough, "TASK", "UNSPECIFIED")),
        FlowNodeKind::ManualTask(_) => Ok((Behavior::PassThrough, "MANUAL_TASK", "UNSPECIFIED")),
        FlowNodeKind::UserTask(_) => Ok((Behavior::Job, "USER_TASK", "UNSPECIFIED")),
        FlowNodeKind::ServiceTask(_) if zeebe.task_definition.is_some() => {
            Ok((Behavior::Job, "SERVICE_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::SendTask(_) if zeebe.task_definition.is_some() => {
            Ok((Behavior::Job, "SEND_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::BusinessRuleTask(_) if zeebe.task_definition.is_some() => {
            Ok((Behavior::Job, "BUSINESS_RULE_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::ScriptTask(_)
            if zeebe
                .script
                .as_ref()
                .is_some_and(|s| s.expression.is_some()) =>
        {
            Ok((Behavior::Script, "SCRIPT_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::ScriptTask(_) if zeebe.task_definition.is_some() => {
            Ok((Behavior::Job, "SCRIPT_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::ExclusiveGateway(_) => Ok((
            Behavior::ExclusiveGateway,
            "EXCLUSIVE_GATEWAY",
            "UNSPECIFIED",
        )),
        FlowNodeKind::ParallelGateway(_) => {
            Ok((Behavior::ParallelGateway, "PARALLEL_GATEWAY", "UNSPECIFIED"))
        }
        FlowNodeKind::ServiceTask(_)
        | FlowNodeKind::SendTask(_)
        | FlowNodeKind::BusinessRuleTask(_)
        | FlowNodeKind::ScriptTask(_) => {
            unsupported(&format!("{} without a task definition", node.kind.tag()))
        }
        other => unsupported(&format!(
            "{}{}",
            other.tag(),
            other
                .event()
                .and_then(|e| e.definition())
                .map(|d| format!(" with a {}", d.tag()))
                .unwrap_or_default()
        )),
    }
}

/// An automatic transition waiting to run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// Run the activating phase of an element instance.
    Activate(i64),
    /// Run the completing phase of an element instance.
    Complete(i64),
    /// Complete a scope whose last child finished (`force`: even with tokens waiting
    /// at joins, after a terminate end event).
    ScopeFinished { scope: i64, force: bool },
}

impl Ctx<'_> {
    /// Runs queued steps until none are left.
    pub(crate) fn run_steps(&mut self) {
        while let Some(step) = self.queue.pop_front() {
            self.steps += 1;
            let exhausted = self.steps > MAX_STEPS_PER_COMMAND;
            match step {
                Step::Activate(key) | Step::Complete(key) if exhausted => {
                    self.raise_incident(
                        key,
                        "UNKNOWN",
                        format!(
                            "more than {MAX_STEPS_PER_COMMAND} element transitions in one command; \
                             the process probably loops without a wait state. Resolve to continue."
                        ),
                        -1,
                    );
                }
                Step::Activate(key) => self.run_activating(key),
                Step::Complete(key) => self.run_completing(key),
                Step::ScopeFinished { scope, force } => self.scope_finished(scope, force),
            }
        }
    }

    fn definition(&self, key: i64) -> Option<Arc<DeployedProcess>> {
        self.state.processes.get(&key).cloned()
    }

    fn element_record(
        &self,
        process: &DeployedProcess,
        process_instance_key: i64,
        flow_scope_key: i64,
        element_id: &str,
        element_type: &str,
        event_type: &str,
    ) -> ProcessInstanceValue {
        ProcessInstanceValue {
            bpmn_process_id: process.bpmn_process_id.clone(),
            version: process.version,
            process_definition_key: process.key,
            process_instance_key,
            element_id: element_id.to_owned(),
            flow_scope_key,
            bpmn_element_type: element_type.to_owned(),
            bpmn_event_type: event_type.to_owned(),
            parent_process_instance_key: -1,
            parent_element_instance_key: -1,
            tenant_id: process.tenant_id.clone(),
            extra: Map::new(),
        }
    }

    fn element_transition(&mut self, key: i64, intent: Intent) {
        let Some(e) = self.state.elements.get(&key) else {
            return;
        };
        let value = ProcessInstanceValue {
            bpmn_process_id: e.bpmn_process_id.clone(),
            version: e.version,
            process_definition_key: e.process_definition_key,
            process_instance_key: e.process_instance_key,
            element_id: e.element_id.clone(),
            flow_scope_key: e.flow_scope_key,
            bpmn_element_type: e.element_type.clone(),
            bpmn_event_type: e.event_type.clone(),
            parent_process_instance_key: -1,
            parent_element_instance_key: -1,
            tenant_id: e.tenant_id.clone(),
            extra: Map::new(),
        };
        self.event(key, intent, RecordValue::ProcessInstance(value));
    }

    /// Starts a process instance of `process`; returns its key.
    pub(crate) fn activate_process(&mut self, process: &DeployedProcess) -> i64 {
        let key = self.next_key();
        let value = self.element_record(
            process,
            key,
            -1,
            &process.bpmn_process_id,
            "PROCESS",
            "UNSPECIFIED",
        );
        self.event(
            key,
            Intent::ELEMENT_ACTIVATING,
            RecordValue::ProcessInstance(value),
        );
        key
    }

    /// Writes `ELEMENT_ACTIVATING` for `node_id` in `scope_key` and queues its
    /// activating phase.
    pub(crate) fn activate_element(&mut self, scope_key: i64, node_id: &str) -> Option<i64> {
        let scope = self.state.elements.get(&scope_key)?;
        let pi_key = scope.process_instance_key;
        let process = self.definition(scope.process_definition_key)?;
        let node = process.process()?.content.flow_node(node_id)?;
        let (_, element_type, event_type) = behavior_of(node).ok()?;
        let key = self.next_key();
        let value = self.element_record(
            &process,
            pi_key,
            scope_key,
            node_id,
            element_type,
            event_type,
        );
        self.event(
            key,
            Intent::ELEMENT_ACTIVATING,
            RecordValue::ProcessInstance(value),
        );
        self.queue.push_back(Step::Activate(key));
        Some(key)
    }

    /// The model node and behaviour of an element instance.
    fn node_of(&self, key: i64) -> Option<(Arc<DeployedProcess>, Behavior, i64)> {
        let e = self.state.elements.get(&key)?;
        let process = self.definition(e.process_definition_key)?;
        let behavior = if e.flow_scope_key == -1 {
            Behavior::Process
        } else {
            let node = process.process()?.content.flow_node(&e.element_id)?;
            behavior_of(node).ok()?.0
        };
        Some((process, behavior, e.flow_scope_key))
    }

    fn run_activating(&mut self, key: i64) {
        let Some((process, behavior, flow_scope)) = self.node_of(key) else {
            return;
        };
        let Some(model) = process.process() else {
            return;
        };
        if behavior == Behavior::Process {
            self.element_transition(key, Intent::ELEMENT_ACTIVATED);
            let start = model
                .content
                .start_events()
                .find(|s| s.event().is_some_and(|e| e.definitions.is_empty()))
                .map(|s| s.id.as_str().to_owned());
            match start {
                Some(start) => {
                    self.activate_element(key, &start);
                }
                None => self.raise_incident(
                    key,
                    "UNKNOWN",
                    "the process has no none start event".into(),
                    -1,
                ),
            }
            return;
        }
        let element_id = self.state.elements[&key].element_id.clone();
        let Some(node) = model.content.flow_node(&element_id) else {
            return;
        };
        if let Err(message) = self.apply_input_mappings(key, node) {
            self.raise_incident(key, "IO_MAPPING_ERROR", message, -1);
            return;
        }
        match behavior {
            Behavior::Job => {
                let job = match self.job_for(key, &process, node) {
                    Ok(job) => job,
                    Err(message) => {
                        self.raise_incident(key, "EXTRACT_VALUE_ERROR", message, -1);
                        return;
                    }
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                let job_key = self.next_key();
                self.event(job_key, Intent::CREATED, RecordValue::Job(job));
                self.jobs_available = true;
            }
            Behavior::Script => {
                let script = node.zeebe().script.clone().unwrap_or_default();
                let expression = script.expression.unwrap_or_default();
                let src = feel::expression_of_attribute(&expression).unwrap_or(&expression);
                let vars = self.state.visible_variables(key);
                let value = match variables::eval(self.now, src, &vars) {
                    Ok(value) => value,
                    Err(message) => {
                        self.raise_incident(key, "EXTRACT_VALUE_ERROR", message, -1);
                        return;
                    }
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                if let Some(name) = script.result_variable.filter(|n| !n.is_empty()) {
                    let mut result = Map::new();
                    result.insert(name, value);
                    if variables::has_outputs(node) {
                        self.set_local_variables(key, &result);
                    } else {
                        self.propagate_variables(flow_scope, &result);
                    }
                }
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::PassThrough
            | Behavior::TerminateEnd
            | Behavior::ExclusiveGateway
            | Behavior::ParallelGateway
            | Behavior::ErrorBoundary => {
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::Process => {}
        }
    }

    fn job_for(
        &self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
    ) -> Result<JobValue, String> {
        let vars = self.state.visible_variables(key);
        let zeebe = node.zeebe();
        let definition = zeebe.task_definition.clone().unwrap_or_default();
        let job_type = match &definition.job_type {
            Some(attr) => match variables::eval_attribute(self.now, attr, &vars)? {
                Value::String(s) if !s.is_empty() => s,
                other => {
                    return Err(format!(
                        "expected the job type of '{}' to be a non-empty string, but was '{other}'",
                        node.id.as_str()
                    ));
                }
            },
            None => USER_TASK_JOB_TYPE.to_owned(),
        };
        let retries = match &definition.retries {
            None => 3,
            Some(attr) => {
                let value = match feel::expression_of_attribute(attr) {
                    Some(src) => variables::eval(self.now, src, &vars)?,
                    None => attr.trim().parse::<i64>().map(Value::from).map_err(|_| {
                        format!(
                            "retries of '{}' is not a number: '{attr}'",
                            node.id.as_str()
                        )
                    })?,
                };
                value
                    .as_i64()
                    .and_then(|r| i32::try_from(r).ok())
                    .ok_or_else(|| {
                        format!(
                            "expected the retries of '{}' to be a number, but was '{value}'",
                            node.id.as_str()
                        )
                    })?
            }
        };
        let custom_headers = zeebe
            .task_headers
            .iter()
            .flat_map(|h| &h.headers)
            .filter_map(|h| Some((h.key.clone()?, h.value.clone().unwrap_or_default())))
            .collect();
        Ok(JobValue {
            job_type,
            worker: String::new(),
            retries,
            deadline: -1,
            timeout: -1,
            retry_backoff: 0,
            recurring_time: -1,
            custom_headers,
            variables: Map::new(),
            error_code: String::new(),
            error_message: String::new(),
            element_id: node.id.as_str().to_owned(),
            element_instance_key: key,
            process_instance_key: self.state.elements[&key].process_instance_key,
            bpmn_process_id: process.bpmn_process_id.clone(),
            process_definition_key: process.key,
            process_definition_version: process.version,
            tenant_id: process.tenant_id.clone(),
            extra: Map::new(),
        })
    }

    fn run_completing(&mut self, key: i64) {
        let Some((process, behavior, flow_scope)) = self.node_of(key) else {
            return;
        };
        let Some(model) = process.process() else {
            return;
        };
        let lifecycle = self.state.elements[&key].lifecycle;
        if lifecycle == Lifecycle::Terminating {
            return;
        }
        if lifecycle != Lifecycle::Completing {
            self.element_transition(key, Intent::ELEMENT_COMPLETING);
        }
        if behavior == Behavior::Process {
            let variables = self.state.visible_variables(key);
            self.element_transition(key, Intent::ELEMENT_COMPLETED);
            self.completed.push(CompletedInstance {
                process_instance_key: key,
                variables,
            });
            return;
        }
        let element_id = self.state.elements[&key].element_id.clone();
        let Some(node) = model.content.flow_node(&element_id) else {
            return;
        };
        if let Err(message) = self.apply_output_mappings(key, flow_scope, node) {
            self.raise_incident(key, "IO_MAPPING_ERROR", message, -1);
            return;
        }
        let flows: Vec<String> = if behavior == Behavior::ExclusiveGateway {
            let vars = self.state.visible_variables(key);
            match choose_flow(self.now, model, node, &vars) {
                Ok(flow) => flow.into_iter().collect(),
                Err(message) => {
                    self.raise_incident(key, "CONDITION_ERROR", message, -1);
                    return;
                }
            }
        } else {
            model
                .content
                .outgoing(&element_id)
                .map(|f| f.id.as_str().to_owned())
                .collect()
        };
        self.element_transition(key, Intent::ELEMENT_COMPLETED);
        if behavior == Behavior::TerminateEnd {
            let siblings: Vec<i64> = self
                .state
                .elements
                .get(&flow_scope)
                .map(|s| s.children.iter().copied().collect())
                .unwrap_or_default();
            for sibling in siblings {
                self.terminate_element(sibling);
            }
            self.queue.push_back(Step::ScopeFinished {
                scope: flow_scope,
                force: true,
            });
            return;
        }
        if flows.is_empty() {
            self.queue.push_back(Step::ScopeFinished {
                scope: flow_scope,
                force: false,
            });
        }
        for flow in flows {
            self.take_flow(&process, flow_scope, &flow);
        }
    }

    fn take_flow(&mut self, process: &DeployedProcess, scope_key: i64, flow_id: &str) {
        let Some(model) = process.process() else {
            return;
        };
        let Some(flow) = model.content.sequence_flow(flow_id) else {
            return;
        };
        let Some(pi_key) = self
            .state
            .elements
            .get(&scope_key)
            .map(|s| s.process_instance_key)
        else {
            return;
        };
        let key = self.next_key();
        let value = self.element_record(
            process,
            pi_key,
            scope_key,
            flow_id,
            "SEQUENCE_FLOW",
            "UNSPECIFIED",
        );
        self.event(
            key,
            Intent::SEQUENCE_FLOW_TAKEN,
            RecordValue::ProcessInstance(value),
        );
        let Some(target) = model.content.flow_node(flow.target_ref.as_str()) else {
            return;
        };
        if is_join(target) {
            let ready = self.state.elements.get(&scope_key).is_some_and(|scope| {
                target
                    .incoming
                    .iter()
                    .all(|f| scope.join_tokens.get(f.as_str()).is_some_and(|&n| n > 0))
            });
            if !ready {
                return;
            }
        }
        self.activate_element(scope_key, target.id.as_str());
    }

    fn scope_finished(&mut self, scope: i64, force: bool) {
        let Some(element) = self.state.elements.get(&scope) else {
            return;
        };
        if element.lifecycle == Lifecycle::Activated
            && element.children.is_empty()
            && (force || element.join_tokens.is_empty())
        {
            self.queue.push_back(Step::Complete(scope));
        }
    }

    /// Terminates an element instance and everything inside it, cancelling its job and
    /// resolving its incidents.
    pub(crate) fn terminate_element(&mut self, key: i64) {
        let Some(element) = self.state.elements.get(&key) else {
            return;
        };
        let children: Vec<i64> = element.children.iter().copied().collect();
        let job_key = element.job_key;
        let is_process = element.flow_scope_key == -1;
        if element.lifecycle != Lifecycle::Terminating {
            self.element_transition(key, Intent::ELEMENT_TERMINATING);
        }
        for child in children {
            self.terminate_element(child);
        }
        if let Some(job) = job_key.and_then(|k| self.state.jobs.get(&k)) {
            let value = job.value.clone();
            let job_key = job.key;
            self.event(job_key, Intent::CANCELED, RecordValue::Job(value));
        }
        let incidents: Vec<(i64, IncidentValue)> = self
            .state
            .incidents
            .values()
            .filter(|i| i.value.element_instance_key == key)
            .map(|i| (i.key, i.value.clone()))
            .collect();
        for (incident_key, value) in incidents {
            self.event(incident_key, Intent::RESOLVED, RecordValue::Incident(value));
        }
        self.element_transition(key, Intent::ELEMENT_TERMINATED);
        if is_process {
            self.terminated.push(key);
        }
    }

    /// Opens an incident on an element instance.
    pub(crate) fn raise_incident(
        &mut self,
        key: i64,
        error_type: &str,
        message: String,
        job_key: i64,
    ) {
        let Some(e) = self.state.elements.get(&key) else {
            return;
        };
        let value = IncidentValue {
            error_type: error_type.to_owned(),
            error_message: message,
            bpmn_process_id: e.bpmn_process_id.clone(),
            process_definition_key: e.process_definition_key,
            process_instance_key: e.process_instance_key,
            element_id: e.element_id.clone(),
            element_instance_key: key,
            job_key,
            variable_scope_key: key,
            tenant_id: e.tenant_id.clone(),
            extra: Map::new(),
        };
        let incident_key = self.next_key();
        self.event(incident_key, Intent::CREATED, RecordValue::Incident(value));
    }

    /// Re-runs the phase an element instance was stuck in.
    pub(crate) fn retry_element(&mut self, key: i64) {
        let Some(element) = self.state.elements.get(&key) else {
            return;
        };
        let step = match element.lifecycle {
            Lifecycle::Activating => Step::Activate(key),
            Lifecycle::Activated | Lifecycle::Completing => Step::Complete(key),
            Lifecycle::Terminating => return,
        };
        self.queue.push_back(step);
        self.run_steps();
    }
}

/// The outgoing flow an exclusive gateway takes: the first whose condition is true, else
/// the default flow.
fn choose_flow(
    now: i64,
    model: &bpmn::Process,
    node: &FlowNode,
    vars: &Map<String, Value>,
) -> Result<Option<String>, String> {
    let outgoing: Vec<&bpmn::SequenceFlow> = model.content.outgoing(node.id.as_str()).collect();
    if outgoing.is_empty() {
        return Ok(None);
    }
    let default = node.default_flow();
    if outgoing.len() == 1 && outgoing[0].condition.is_none() {
        return Ok(Some(outgoing[0].id.as_str().to_owned()));
    }
    for flow in &outgoing {
        if default.is_some_and(|d| d == &flow.id) {
            continue;
        }
        let Some(condition) = &flow.condition else {
            continue;
        };
        let src = condition.feel().unwrap_or(&condition.body);
        match variables::eval(now, src, vars)? {
            Value::Bool(true) => return Ok(Some(flow.id.as_str().to_owned())),
            Value::Bool(false) => {}
            other => {
                return Err(format!(
                    "expected the condition '{src}' of '{}' to be a boolean, but was '{other}'",
                    flow.id.as_str()
                ));
            }
        }
    }
    match default {
        Some(flow) => Ok(Some(flow.as_str().to_owned())),
        None => Err(format!(
            "expected at least one condition of '{}' to evaluate to true, or to have a default flow",
            node.id.as_str()
        )),
    }
}
