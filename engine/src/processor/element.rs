//! The BPMN element lifecycle as an explicit state machine.
//!
//! Every element instance moves through
//! `ACTIVATING → ACTIVATED → COMPLETING → COMPLETED`, or to `TERMINATING → TERMINATED`
//! from any of them. What happens in each phase depends on the element's [`Behavior`]:
//!
//! | behaviour | activating | activated waits for | completing |
//! |---|---|---|---|
//! | process, sub-process | open event sub-process triggers, activate the none start | its children | – |
//! | event sub-process | activate its (triggered) start event | its children | – |
//! | multi-instance body | evaluate the input collection, create instances | its instances | propagate the output collection |
//! | call activity | start the called process | the called process | output mappings |
//! | job (service, user, send, business-rule, script with job, message throw) | create job | job completion | output mappings |
//! | script (`zeebe:script`) | evaluate into the result variable | – | output mappings |
//! | task, manual task | – | – | output mappings |
//! | receive task, catch event | open its subscription | the event | output mappings |
//! | pass-through (start, boundary, none throw, none end, link catch) | – | – | output mappings |
//! | exclusive gateway | – | – | pick one outgoing flow |
//! | parallel gateway | join: all incoming flows taken | – | fork: all outgoing flows |
//! | inclusive gateway | join: every flow that can still be taken was taken | – | fork: every flow whose condition holds |
//! | event-based gateway | open one subscription per following event | the first event | – |
//! | terminate end event | – | – | terminate the rest of the scope |
//! | error end event | throw the error | – | – |
//! | escalation / signal throw | throw / broadcast | – | output mappings |
//! | link throw | – | – | activate the link catch event |
//!
//! Activities (and multi-instance bodies) also open the subscriptions of their boundary
//! events when they activate, and every element closes what it opened when it leaves.
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

use super::{CompletedInstance, Ctx, MAX_STEPS_PER_COMMAND, gateways, variables};
use crate::{
    model,
    state::{DeployedProcess, ElementInstance, Lifecycle, is_join},
};

/// Job type of user tasks without a task definition (job-worker user tasks).
pub const USER_TASK_JOB_TYPE: &str = "io.camunda.zeebe:userTask";

/// Element type of a multi-instance body.
pub(crate) const MULTI_INSTANCE_BODY: &str = "MULTI_INSTANCE_BODY";

/// How an element behaves in its lifecycle phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Process,
    SubProcess,
    EventSubProcess,
    MultiInstanceBody,
    CallActivity,
    Task,
    Job,
    Script,
    ReceiveTask,
    PassThrough,
    TerminateEnd,
    ErrorEnd,
    EscalationThrow,
    SignalThrow,
    LinkThrow,
    CatchEvent,
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
    EventBasedGateway,
}

impl Behavior {
    /// Activities may carry boundary events.
    pub(crate) fn is_activity(self) -> bool {
        matches!(
            self,
            Self::SubProcess
                | Self::CallActivity
                | Self::Task
                | Self::Job
                | Self::Script
                | Self::ReceiveTask
                | Self::MultiInstanceBody
        )
    }
}

/// Zeebe's name of an event definition, as `bpmnEventType`.
fn event_type_of(definition: Option<&EventDefinitionKind>) -> &'static str {
    match definition {
        None => "NONE",
        Some(EventDefinitionKind::Timer(_)) => "TIMER",
        Some(EventDefinitionKind::Message { .. }) => "MESSAGE",
        Some(EventDefinitionKind::Signal { .. }) => "SIGNAL",
        Some(EventDefinitionKind::Error { .. }) => "ERROR",
        Some(EventDefinitionKind::Escalation { .. }) => "ESCALATION",
        Some(EventDefinitionKind::Terminate) => "TERMINATE",
        Some(EventDefinitionKind::Link { .. }) => "LINK",
        Some(EventDefinitionKind::Conditional { .. }) => "CONDITIONAL",
        Some(EventDefinitionKind::Compensate { .. }) => "COMPENSATION",
        Some(EventDefinitionKind::Cancel) => "UNSPECIFIED",
    }
}

/// The behaviour of `node`, Zeebe's element type and event type names, or why the engine
/// cannot run it.
pub(crate) fn behavior_of(
    node: &FlowNode,
) -> Result<(Behavior, &'static str, &'static str), String> {
    use EventDefinitionKind as D;
    let unsupported = |what: &str| {
        Err(format!(
            "element '{}' is a {what}, which this engine does not support",
            node.id.as_str()
        ))
    };
    if let Some(activity) = node.activity()
        && matches!(
            activity.loop_characteristics.as_deref(),
            Some(bpmn::LoopCharacteristics::Standard(_))
        )
    {
        return unsupported("standard loop activity (use multi-instance instead)");
    }
    let zeebe = node.zeebe();
    let definition = model::event_definition(node);
    let event = event_type_of(definition);
    let with_definition = |tag: &str| {
        format!(
            "{tag}{}",
            definition
                .map(|d| format!(" with a {}", d.tag()))
                .unwrap_or_default()
        )
    };
    let has_job = zeebe.task_definition.is_some();
    match &node.kind {
        FlowNodeKind::StartEvent(_) => match definition {
            None
            | Some(D::Timer(_) | D::Message { .. } | D::Signal { .. })
            | Some(D::Error { .. } | D::Escalation { .. }) => {
                Ok((Behavior::PassThrough, "START_EVENT", event))
            }
            _ => unsupported(&with_definition("start event")),
        },
        FlowNodeKind::IntermediateCatchEvent(_) => match definition {
            Some(D::Timer(_) | D::Message { .. } | D::Signal { .. }) => {
                Ok((Behavior::CatchEvent, "INTERMEDIATE_CATCH_EVENT", event))
            }
            Some(D::Link { .. }) => Ok((Behavior::PassThrough, "INTERMEDIATE_CATCH_EVENT", event)),
            _ => unsupported(&with_definition("intermediate catch event")),
        },
        FlowNodeKind::IntermediateThrowEvent(_) => match definition {
            None => Ok((Behavior::PassThrough, "INTERMEDIATE_THROW_EVENT", event)),
            Some(D::Message { .. }) if has_job => {
                Ok((Behavior::Job, "INTERMEDIATE_THROW_EVENT", event))
            }
            Some(D::Signal { .. }) => {
                Ok((Behavior::SignalThrow, "INTERMEDIATE_THROW_EVENT", event))
            }
            Some(D::Escalation { .. }) => {
                Ok((Behavior::EscalationThrow, "INTERMEDIATE_THROW_EVENT", event))
            }
            Some(D::Link { .. }) => Ok((Behavior::LinkThrow, "INTERMEDIATE_THROW_EVENT", event)),
            Some(D::Message { .. }) => {
                unsupported("message throw event without a zeebe:taskDefinition")
            }
            _ => unsupported(&with_definition("intermediate throw event")),
        },
        FlowNodeKind::EndEvent(_) => match definition {
            None => Ok((Behavior::PassThrough, "END_EVENT", event)),
            Some(D::Terminate) => Ok((Behavior::TerminateEnd, "END_EVENT", event)),
            Some(D::Error { .. }) => Ok((Behavior::ErrorEnd, "END_EVENT", event)),
            Some(D::Escalation { .. }) => Ok((Behavior::EscalationThrow, "END_EVENT", event)),
            Some(D::Signal { .. }) => Ok((Behavior::SignalThrow, "END_EVENT", event)),
            Some(D::Message { .. }) if has_job => Ok((Behavior::Job, "END_EVENT", event)),
            Some(D::Message { .. }) => {
                unsupported("message end event without a zeebe:taskDefinition")
            }
            _ => unsupported(&with_definition("end event")),
        },
        FlowNodeKind::BoundaryEvent(_) => match definition {
            Some(
                D::Timer(_)
                | D::Message { .. }
                | D::Signal { .. }
                | D::Error { .. }
                | D::Escalation { .. },
            ) => Ok((Behavior::PassThrough, "BOUNDARY_EVENT", event)),
            _ => unsupported(&with_definition("boundary event")),
        },
        FlowNodeKind::Task(_) => Ok((Behavior::Task, "TASK", "UNSPECIFIED")),
        FlowNodeKind::ManualTask(_) => Ok((Behavior::Task, "MANUAL_TASK", "UNSPECIFIED")),
        FlowNodeKind::UserTask(_) => Ok((Behavior::Job, "USER_TASK", "UNSPECIFIED")),
        FlowNodeKind::ReceiveTask(_) => Ok((Behavior::ReceiveTask, "RECEIVE_TASK", "UNSPECIFIED")),
        FlowNodeKind::ServiceTask(_) if has_job => {
            Ok((Behavior::Job, "SERVICE_TASK", "UNSPECIFIED"))
        }
        FlowNodeKind::SendTask(_) if has_job => Ok((Behavior::Job, "SEND_TASK", "UNSPECIFIED")),
        FlowNodeKind::BusinessRuleTask(_) if has_job => {
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
        FlowNodeKind::ScriptTask(_) if has_job => Ok((Behavior::Job, "SCRIPT_TASK", "UNSPECIFIED")),
        FlowNodeKind::CallActivity(_) => {
            Ok((Behavior::CallActivity, "CALL_ACTIVITY", "UNSPECIFIED"))
        }
        FlowNodeKind::SubProcess(a) if a.triggered_by_event == Some(true) => Ok((
            Behavior::EventSubProcess,
            "EVENT_SUB_PROCESS",
            "UNSPECIFIED",
        )),
        FlowNodeKind::SubProcess(_) => Ok((Behavior::SubProcess, "SUB_PROCESS", "UNSPECIFIED")),
        FlowNodeKind::ExclusiveGateway(_) => Ok((
            Behavior::ExclusiveGateway,
            "EXCLUSIVE_GATEWAY",
            "UNSPECIFIED",
        )),
        FlowNodeKind::ParallelGateway(_) => {
            Ok((Behavior::ParallelGateway, "PARALLEL_GATEWAY", "UNSPECIFIED"))
        }
        FlowNodeKind::InclusiveGateway(_) => Ok((
            Behavior::InclusiveGateway,
            "INCLUSIVE_GATEWAY",
            "UNSPECIFIED",
        )),
        FlowNodeKind::EventBasedGateway(_) => Ok((
            Behavior::EventBasedGateway,
            "EVENT_BASED_GATEWAY",
            "UNSPECIFIED",
        )),
        FlowNodeKind::ServiceTask(_)
        | FlowNodeKind::SendTask(_)
        | FlowNodeKind::BusinessRuleTask(_)
        | FlowNodeKind::ScriptTask(_) => {
            unsupported(&format!("{} without a task definition", node.kind.tag()))
        }
        other => unsupported(other.tag()),
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
    /// An instance of a multi-instance body completed (`complete_body`: its completion
    /// condition held).
    InnerDone { body: i64, complete_body: bool },
    /// A message subscription just opened: correlate a buffered message to it.
    CorrelateBuffered(i64),
    /// A token of the scope went away: inclusive joins waiting in it may fire now.
    CheckJoins(i64),
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
                Step::InnerDone {
                    body,
                    complete_body,
                } => self.inner_done(body, complete_body),
                Step::CorrelateBuffered(subscription) => self.correlate_buffered(subscription),
                Step::CheckJoins(scope) => self.check_joins(scope),
            }
        }
    }

    pub(crate) fn definition(&self, key: i64) -> Option<Arc<DeployedProcess>> {
        self.state.processes.get(&key).cloned()
    }

    fn value_of(e: &ElementInstance) -> ProcessInstanceValue {
        ProcessInstanceValue {
            bpmn_process_id: e.bpmn_process_id.clone(),
            version: e.version,
            process_definition_key: e.process_definition_key,
            process_instance_key: e.process_instance_key,
            element_id: e.element_id.clone(),
            flow_scope_key: e.flow_scope_key,
            bpmn_element_type: e.element_type.clone(),
            bpmn_event_type: e.event_type.clone(),
            parent_process_instance_key: e.parent_process_instance_key,
            parent_element_instance_key: e.parent_element_instance_key,
            tenant_id: e.tenant_id.clone(),
            extra: Map::new(),
        }
    }

    pub(crate) fn element_transition(&mut self, key: i64, intent: Intent) {
        let Some(e) = self.state.elements.get(&key) else {
            return;
        };
        let value = Self::value_of(e);
        self.event(key, intent, RecordValue::ProcessInstance(value));
    }

    /// Writes `ELEMENT_ACTIVATING` for a new element instance in `scope_key`; returns
    /// its key. Elements of a called process carry the keys of their caller.
    pub(crate) fn new_element(
        &mut self,
        scope_key: i64,
        node_id: &str,
        element_type: &str,
        event_type: &str,
    ) -> Option<i64> {
        let scope = self.state.elements.get(&scope_key)?;
        let mut value = Self::value_of(scope);
        value.element_id = node_id.to_owned();
        value.flow_scope_key = scope_key;
        value.bpmn_element_type = element_type.to_owned();
        value.bpmn_event_type = event_type.to_owned();
        let key = self.next_key();
        self.event(
            key,
            Intent::ELEMENT_ACTIVATING,
            RecordValue::ProcessInstance(value),
        );
        Some(key)
    }

    /// Writes `ELEMENT_ACTIVATING` for `node_id` in `scope_key` (its multi-instance body
    /// when the activity is multi-instance) and queues its activating phase.
    pub(crate) fn activate_element(&mut self, scope_key: i64, node_id: &str) -> Option<i64> {
        let scope = self.state.elements.get(&scope_key)?;
        let process = self.definition(scope.process_definition_key)?;
        let node = process.node(node_id)?;
        let inner = scope.element_type == MULTI_INSTANCE_BODY && scope.element_id == node_id;
        let (element_type, event_type) = if model::is_multi_instance(node) && !inner {
            (MULTI_INSTANCE_BODY, "UNSPECIFIED")
        } else {
            let (_, element_type, event_type) = behavior_of(node).ok()?;
            (element_type, event_type)
        };
        let key = self.new_element(scope_key, node_id, element_type, event_type)?;
        self.queue.push_back(Step::Activate(key));
        Some(key)
    }

    /// Starts a process instance of `process` and writes its `ELEMENT_ACTIVATING`;
    /// returns its key. A called process carries its caller's keys in `parent`.
    pub(crate) fn new_process_instance(
        &mut self,
        process: &DeployedProcess,
        parent: Option<(i64, i64)>,
    ) -> i64 {
        let key = self.next_key();
        let (parent_pi, parent_element) = parent.unwrap_or((-1, -1));
        let value = ProcessInstanceValue {
            bpmn_process_id: process.bpmn_process_id.clone(),
            version: process.version,
            process_definition_key: process.key,
            process_instance_key: key,
            element_id: process.bpmn_process_id.clone(),
            flow_scope_key: -1,
            bpmn_element_type: "PROCESS".into(),
            bpmn_event_type: "UNSPECIFIED".into(),
            parent_process_instance_key: parent_pi,
            parent_element_instance_key: parent_element,
            tenant_id: process.tenant_id.clone(),
            extra: Map::new(),
        };
        self.event(
            key,
            Intent::ELEMENT_ACTIVATING,
            RecordValue::ProcessInstance(value),
        );
        key
    }

    /// Starts a process instance and runs its activation at once: at `start` (an event
    /// triggered with `event_variables`), or at the none start event.
    pub(crate) fn start_process(
        &mut self,
        process: &DeployedProcess,
        start: Option<(&str, &Map<String, Value>)>,
        variables: &Map<String, Value>,
        parent: Option<(i64, i64)>,
    ) -> i64 {
        let key = self.new_process_instance(process, parent);
        self.set_local_variables(key, variables);
        self.activate_process_body(key, start);
        key
    }

    /// The activating phase of a process instance: open the triggers of its event
    /// sub-processes, then activate the start event.
    pub(crate) fn activate_process_body(
        &mut self,
        key: i64,
        start: Option<(&str, &Map<String, Value>)>,
    ) {
        let Some(process) = self
            .state
            .elements
            .get(&key)
            .and_then(|e| self.definition(e.process_definition_key))
        else {
            return;
        };
        let Some(subs) = self.or_incident(
            key,
            "EXTRACT_VALUE_ERROR",
            self.prepare_scope_starts(key, &process, None),
        ) else {
            return;
        };
        self.element_transition(key, Intent::ELEMENT_ACTIVATED);
        self.open_subscriptions(key, &process, subs);
        match start {
            Some((start_id, vars)) => {
                self.activate_triggered(key, start_id, vars);
            }
            None => match process.model.none_start(None).map(str::to_owned) {
                Some(start_id) => {
                    self.activate_element(key, &start_id);
                }
                None => self.raise_incident(
                    key,
                    "UNKNOWN",
                    "the process has no none start event".into(),
                    -1,
                ),
            },
        }
    }

    /// The model node and behaviour of an element instance.
    pub(crate) fn node_of(&self, key: i64) -> Option<(Arc<DeployedProcess>, Behavior, i64)> {
        let e = self.state.elements.get(&key)?;
        let process = self.definition(e.process_definition_key)?;
        let behavior = if e.flow_scope_key == -1 {
            Behavior::Process
        } else if e.element_type == MULTI_INSTANCE_BODY {
            Behavior::MultiInstanceBody
        } else {
            behavior_of(process.node(&e.element_id)?).ok()?.0
        };
        Some((process, behavior, e.flow_scope_key))
    }

    /// The multi-instance body an element instance is an instance of, if any.
    pub(crate) fn body_of(&self, key: i64) -> Option<i64> {
        let e = self.state.elements.get(&key)?;
        self.state
            .elements
            .get(&e.flow_scope_key)
            .filter(|scope| scope.element_type == MULTI_INSTANCE_BODY)
            .map(|scope| scope.key)
    }

    fn run_activating(&mut self, key: i64) {
        let Some((process, behavior, _)) = self.node_of(key) else {
            return;
        };
        if self.state.elements[&key].lifecycle != Lifecycle::Activating {
            return;
        }
        if behavior == Behavior::Process {
            self.activate_process_body(key, None);
            return;
        }
        let element_id = self.state.elements[&key].element_id.clone();
        let Some(node) = process.node(&element_id) else {
            return;
        };
        if self.triggered.remove(&key) {
            // Activated by its event: nothing to wait for.
            self.element_transition(key, Intent::ELEMENT_ACTIVATED);
            self.queue.push_back(Step::Complete(key));
            return;
        }
        if behavior == Behavior::MultiInstanceBody {
            self.activate_body(key, &process, node);
            return;
        }
        if let Err(message) = self.apply_input_mappings(key, node) {
            self.raise_incident(key, "IO_MAPPING_ERROR", message, -1);
            return;
        }
        let Some(subs) = self.or_incident(
            key,
            "EXTRACT_VALUE_ERROR",
            self.prepare_subscriptions(key, &process, node, behavior),
        ) else {
            return;
        };
        match behavior {
            Behavior::Job => {
                let Some(job) = self.or_incident(
                    key,
                    "EXTRACT_VALUE_ERROR",
                    self.job_for(key, &process, node),
                ) else {
                    return;
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.open_subscriptions(key, &process, subs);
                let job_key = self.next_key();
                self.event(job_key, Intent::CREATED, RecordValue::Job(job));
                self.jobs_available = true;
            }
            Behavior::Script => {
                let script = node.zeebe().script.clone().unwrap_or_default();
                let expression = script.expression.unwrap_or_default();
                let src = feel::expression_of_attribute(&expression).unwrap_or(&expression);
                let vars = self.state.visible_variables(key);
                let Some(value) = self.or_incident(
                    key,
                    "EXTRACT_VALUE_ERROR",
                    variables::eval(self.now, src, &vars),
                ) else {
                    return;
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.open_subscriptions(key, &process, subs);
                if let Some(name) = script.result_variable.filter(|n| !n.is_empty()) {
                    let mut result = Map::new();
                    result.insert(name, value);
                    if variables::has_outputs(node) {
                        self.set_local_variables(key, &result);
                    } else {
                        self.propagate_variables(key, &result);
                    }
                }
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::CallActivity => self.activate_call_activity(key, &process, node, subs),
            Behavior::SubProcess | Behavior::EventSubProcess => {
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.open_subscriptions(key, &process, subs);
                if behavior == Behavior::SubProcess {
                    match process
                        .model
                        .none_start(Some(&element_id))
                        .map(str::to_owned)
                    {
                        Some(start) => {
                            self.activate_element(key, &start);
                        }
                        None => self.raise_incident(
                            key,
                            "UNKNOWN",
                            format!("the sub-process '{element_id}' has no none start event"),
                            -1,
                        ),
                    }
                } else if let Some(start) = process
                    .process()
                    .and_then(|p| process.model.start_of(p, &element_id))
                {
                    let start = start.id.as_str().to_owned();
                    self.activate_triggered(key, &start, &Map::new());
                }
            }
            Behavior::CatchEvent | Behavior::ReceiveTask | Behavior::EventBasedGateway => {
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.open_subscriptions(key, &process, subs);
            }
            Behavior::ErrorEnd => {
                let Some(code) = self.or_incident(
                    key,
                    "EXTRACT_VALUE_ERROR",
                    self.error_code_of(key, &process, node),
                ) else {
                    return;
                };
                if !self.throw_error(key, &code, &Map::new()) {
                    let message = format!(
                        "Expected to throw an error event with the code '{code}', but it was not caught. No error events are available in the scope."
                    );
                    self.raise_incident(key, "UNHANDLED_ERROR_EVENT", message, -1);
                }
            }
            Behavior::EscalationThrow => {
                let Some(code) = self.or_incident(
                    key,
                    "EXTRACT_VALUE_ERROR",
                    self.escalation_code_of(key, &process, node),
                ) else {
                    return;
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.throw_escalation(key, &code);
                if self
                    .state
                    .elements
                    .get(&key)
                    .is_some_and(|e| e.lifecycle == Lifecycle::Activated)
                {
                    self.queue.push_back(Step::Complete(key));
                }
            }
            Behavior::SignalThrow => {
                let vars = self.state.visible_variables(key);
                let Some(name) = self.or_incident(
                    key,
                    "EXTRACT_VALUE_ERROR",
                    super::signal::signal_name(self.now, &process, node, &vars),
                ) else {
                    return;
                };
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                let local = self.local_variables(key);
                let tenant = self.state.elements[&key].tenant_id.clone();
                self.broadcast(&name, &local, &tenant);
                if self
                    .state
                    .elements
                    .get(&key)
                    .is_some_and(|e| e.lifecycle == Lifecycle::Activated)
                {
                    self.queue.push_back(Step::Complete(key));
                }
            }
            Behavior::Task
            | Behavior::PassThrough
            | Behavior::TerminateEnd
            | Behavior::LinkThrow
            | Behavior::ExclusiveGateway
            | Behavior::ParallelGateway
            | Behavior::InclusiveGateway => {
                self.element_transition(key, Intent::ELEMENT_ACTIVATED);
                self.open_subscriptions(key, &process, subs);
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::Process | Behavior::MultiInstanceBody => {}
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
        let lifecycle = self.state.elements[&key].lifecycle;
        if lifecycle == Lifecycle::Terminating
            || lifecycle == Lifecycle::Activating
            || behavior == Behavior::EventBasedGateway
        {
            return;
        }
        if lifecycle != Lifecycle::Completing {
            self.element_transition(key, Intent::ELEMENT_COMPLETING);
        }
        match behavior {
            Behavior::Process => {
                self.complete_process(key);
                return;
            }
            Behavior::MultiInstanceBody => {
                self.complete_body(key, &process);
                return;
            }
            _ => {}
        }
        let element_id = self.state.elements[&key].element_id.clone();
        let Some(node) = process.node(&element_id) else {
            return;
        };
        if let Err(message) = self.apply_output_mappings(key, flow_scope, node) {
            self.raise_incident(key, "IO_MAPPING_ERROR", message, -1);
            return;
        }
        let body = self.body_of(key);
        let mut complete_body = false;
        if let Some(body) = body {
            match self.inner_completing(key, body, node) {
                Ok(done) => complete_body = done,
                Err(message) => {
                    self.raise_incident(key, "EXTRACT_VALUE_ERROR", message, -1);
                    return;
                }
            }
        }
        let flows: Vec<String> = match behavior {
            _ if body.is_some() => Vec::new(),
            Behavior::ExclusiveGateway => {
                let vars = self.state.visible_variables(key);
                match gateways::choose_exclusive(self.now, &process, node, &vars) {
                    Ok(flow) => flow.into_iter().collect(),
                    Err(message) => {
                        self.raise_incident(key, "CONDITION_ERROR", message, -1);
                        return;
                    }
                }
            }
            Behavior::InclusiveGateway => {
                let vars = self.state.visible_variables(key);
                match gateways::choose_inclusive(self.now, &process, node, &vars) {
                    Ok(flows) => flows,
                    Err(message) => {
                        self.raise_incident(key, "CONDITION_ERROR", message, -1);
                        return;
                    }
                }
            }
            Behavior::LinkThrow => Vec::new(),
            _ => process.model.outgoing(&element_id).to_vec(),
        };
        self.close_owned(key);
        self.element_transition(key, Intent::ELEMENT_COMPLETED);
        if let Some(body) = body {
            self.queue.push_back(Step::InnerDone {
                body,
                complete_body,
            });
            return;
        }
        match behavior {
            Behavior::TerminateEnd => {
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
            Behavior::LinkThrow => {
                if let Some(target) = gateways::link_target(&process, node) {
                    self.activate_element(flow_scope, &target);
                }
                return;
            }
            _ => {}
        }
        if flows.is_empty() {
            self.queue.push_back(Step::ScopeFinished {
                scope: flow_scope,
                force: false,
            });
        } else {
            self.take_flows(&process, flow_scope, &flows);
        }
        self.queue_join_check(flow_scope);
    }

    /// Completes a process instance: closes its triggers and hands its variables to the
    /// caller, if a call activity started it.
    fn complete_process(&mut self, key: i64) {
        let variables = self.state.visible_variables(key);
        let Some(element) = self.state.elements.get(&key) else {
            return;
        };
        let parent = element.parent_element_instance_key;
        self.close_owned(key);
        let started_by = self.state.message_starts.get(&key).cloned();
        self.element_transition(key, Intent::ELEMENT_COMPLETED);
        if parent > 0 {
            self.child_completed(parent, &variables);
        }
        self.completed.push(CompletedInstance {
            process_instance_key: key,
            variables,
        });
        self.instance_ended(started_by);
    }

    /// After a process instance ended: a message waiting for its correlation key may
    /// start the next instance.
    fn instance_ended(&mut self, started_by: Option<crate::state::MessageStart>) {
        if let Some(start) = started_by {
            self.correlate_after_instance_ended(&start);
        }
    }

    /// Writes `SEQUENCE_FLOW_TAKEN` for every flow first, then activates their targets,
    /// so a joining gateway reached by several of them sees all their tokens.
    pub(crate) fn take_flows(
        &mut self,
        process: &DeployedProcess,
        scope_key: i64,
        flows: &[String],
    ) {
        let Some(scope) = self.state.elements.get(&scope_key) else {
            return;
        };
        let scope_value = Self::value_of(scope);
        for flow_id in flows {
            let mut value = scope_value.clone();
            value.element_id.clone_from(flow_id);
            value.flow_scope_key = scope_key;
            value.bpmn_element_type = "SEQUENCE_FLOW".into();
            value.bpmn_event_type = "UNSPECIFIED".into();
            let key = self.next_key();
            self.event(
                key,
                Intent::SEQUENCE_FLOW_TAKEN,
                RecordValue::ProcessInstance(value),
            );
        }
        for flow_id in flows {
            let Some(flow) = process.flow(flow_id) else {
                continue;
            };
            let Some(target) = process.node(flow.target_ref.as_str()) else {
                continue;
            };
            if is_join(process, target) {
                if self.join_ready(process, scope_key, target) {
                    self.activate_element(scope_key, target.id.as_str());
                }
                continue;
            }
            self.activate_element(scope_key, target.id.as_str());
        }
    }

    /// Queues a check of the inclusive joins of `scope` when tokens wait at one.
    pub(crate) fn queue_join_check(&mut self, scope: i64) {
        let Some(element) = self.state.elements.get(&scope) else {
            return;
        };
        if element.join_tokens.is_empty() || element.lifecycle != Lifecycle::Activated {
            return;
        }
        let Some(process) = self.definition(element.process_definition_key) else {
            return;
        };
        let waits_at_inclusive = element.join_tokens.keys().any(|flow| {
            process
                .flow(flow)
                .and_then(|f| process.node(f.target_ref.as_str()))
                .is_some_and(|n| matches!(n.kind, FlowNodeKind::InclusiveGateway(_)))
        });
        if waits_at_inclusive {
            self.queue.push_back(Step::CheckJoins(scope));
        }
    }

    fn scope_finished(&mut self, scope: i64, force: bool) {
        let Some(element) = self.state.elements.get(&scope) else {
            return;
        };
        if element.element_type == MULTI_INSTANCE_BODY {
            return;
        }
        if element.lifecycle == Lifecycle::Activated
            && element.children.is_empty()
            && (force || element.interrupted || element.join_tokens.is_empty())
        {
            self.queue.push_back(Step::Complete(scope));
        }
    }

    /// Terminates an element instance and everything inside it (a called process too),
    /// closing its subscriptions, cancelling its job and resolving its incidents.
    pub(crate) fn terminate_element(&mut self, key: i64) {
        let Some(element) = self.state.elements.get(&key) else {
            return;
        };
        let children: Vec<i64> = element.children.iter().copied().collect();
        let job_key = element.job_key;
        let is_process = element.flow_scope_key == -1;
        let flow_scope = element.flow_scope_key;
        let called = element.called_instance;
        if element.lifecycle != Lifecycle::Terminating {
            self.element_transition(key, Intent::ELEMENT_TERMINATING);
        }
        for child in children {
            self.terminate_element(child);
        }
        if let Some(called) = called {
            self.terminate_element(called);
        }
        self.close_owned(key);
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
        let started_by = self.state.message_starts.get(&key).cloned();
        self.element_transition(key, Intent::ELEMENT_TERMINATED);
        if is_process {
            self.terminated.push(key);
            self.instance_ended(started_by);
        } else {
            self.queue_join_check(flow_scope);
        }
    }

    /// The value of `result`, or, for an error, an incident of `error_type` on `key`.
    pub(crate) fn or_incident<T>(
        &mut self,
        key: i64,
        error_type: &str,
        result: Result<T, String>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.raise_incident(key, error_type, message, -1);
                None
            }
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
            // A body stuck while creating its next instance tries that again.
            Lifecycle::Activated if element.element_type == MULTI_INSTANCE_BODY => {
                Step::InnerDone {
                    body: key,
                    complete_body: false,
                }
            }
            Lifecycle::Activated | Lifecycle::Completing => Step::Complete(key),
            Lifecycle::Terminating => return,
        };
        self.queue.push_back(step);
        self.run_steps();
    }
}
