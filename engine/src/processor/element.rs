//! The BPMN element lifecycle as an explicit state machine.
//!
//! Every element instance moves through
//! `ACTIVATING → ACTIVATED → COMPLETING → COMPLETED`, or to `TERMINATING → TERMINATED`
//! from any of them (see [`Lifecycle`]; [`Ctx::element_transition`] refuses any other
//! move). What happens in each phase depends on the element's [`Behavior`]:
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
//! [`MAX_STEPS_PER_COMMAND`]. A step may find its element instance gone (an earlier step
//! of the same command completed or terminated it); it then does nothing. Anything else
//! a step needs and does not find is a broken invariant, which [`Ctx::broken`] reports.

use std::sync::Arc;

use bpmn::FlowNodeKind;
use serde_json::{Map, Value};
use zeebe::record::{
    ElementType, EventType, IncidentErrorType, IncidentValue, Intent, ProcessInstanceValue,
    RecordValue,
};

use super::{
    CompletedInstance, Ctx, MAX_STEPS_PER_COMMAND,
    behavior::{Behavior, behavior_of},
    gateways, variables,
};
use crate::{
    key, model,
    state::{ApplyError, DeployedProcess, ElementInstance, Lifecycle, is_join},
};

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

/// The record value of an element of `e`'s process instance: `e` itself, or a new
/// element or a sequence flow inside it. This is where the typed element instance meets
/// the wire.
fn value_with(
    e: &ElementInstance,
    element_id: String,
    flow_scope_key: Option<i64>,
    element_type: &ElementType,
    event_type: &EventType,
) -> ProcessInstanceValue {
    ProcessInstanceValue {
        bpmn_process_id: e.bpmn_process_id.clone(),
        version: e.version,
        process_definition_key: e.process_definition_key,
        process_instance_key: e.process_instance_key,
        element_id,
        flow_scope_key: key::to_wire(flow_scope_key),
        bpmn_element_type: element_type.as_str().to_owned(),
        bpmn_event_type: event_type.as_str().to_owned(),
        parent_process_instance_key: key::to_wire(e.parent_process_instance_key),
        parent_element_instance_key: key::to_wire(e.parent_element_instance_key),
        tenant_id: e.tenant_id.clone(),
        extra: Map::new(),
    }
}

/// The record value of the element instance `e`.
pub(crate) fn value_of(e: &ElementInstance) -> ProcessInstanceValue {
    value_with(
        e,
        e.element_id.clone(),
        e.flow_scope_key,
        &e.element_type,
        &e.event_type,
    )
}

/// The record value of the sequence flow `flow_id` taken inside the scope instance
/// `scope` (with key `scope_key`).
pub(crate) fn sequence_flow_value(
    scope: &ElementInstance,
    scope_key: i64,
    flow_id: String,
) -> ProcessInstanceValue {
    value_with(
        scope,
        flow_id,
        Some(scope_key),
        &ElementType::SequenceFlow,
        &EventType::Unspecified,
    )
}

impl Ctx<'_> {
    /// Runs queued steps until none are left. A broken invariant found by a step is
    /// reported on the step's element instance (see [`Ctx::broken`]).
    pub(crate) fn run_steps(&mut self) {
        while let Some(step) = self.queue.pop_front() {
            self.steps += 1;
            let exhausted = self.steps > MAX_STEPS_PER_COMMAND;
            let (key, outcome) = match step {
                Step::Activate(key) | Step::Complete(key) if exhausted => {
                    // An instance an earlier step ended needs no incident.
                    if self.state.element_if_present(key).is_some() {
                        self.raise_incident(
                            key,
                            IncidentErrorType::UnknownError,
                            format!(
                                "more than {MAX_STEPS_PER_COMMAND} element transitions in one command; \
                                 the process probably loops without a wait state. Resolve to continue."
                            ),
                            None,
                        );
                    }
                    continue;
                }
                Step::Activate(key) => (Some(key), self.run_activating(key)),
                Step::Complete(key) => (Some(key), self.run_completing(key)),
                Step::ScopeFinished { scope, force } => {
                    (Some(scope), self.scope_finished(scope, force))
                }
                Step::InnerDone {
                    body,
                    complete_body,
                } => (Some(body), self.inner_done(body, complete_body)),
                Step::CorrelateBuffered(subscription) => {
                    let owner = self
                        .state
                        .message_subscriptions
                        .get(&subscription)
                        .map(|s| s.value.element_instance_key);
                    (owner, self.correlate_buffered(subscription))
                }
                Step::CheckJoins(scope) => (Some(scope), self.check_joins(scope)),
            };
            if let Err(error) = outcome {
                self.broken(key, &error);
            }
        }
    }

    /// The process definition `key`, which must be deployed (see [`State::definition`]).
    ///
    /// [`State::definition`]: crate::state::State::definition
    pub(crate) fn definition(&self, key: i64) -> Result<Arc<DeployedProcess>, ApplyError> {
        self.state.definition(key).cloned()
    }

    /// Writes the move of the element instance `key` to `to`, if its lifecycle allows it.
    pub(crate) fn element_transition(&mut self, key: i64, to: Lifecycle) -> Result<(), ApplyError> {
        let e = self.state.element(key)?;
        if !e.lifecycle.can_become(to) {
            return Err(ApplyError::Transition {
                key,
                from: e.lifecycle,
                to,
            });
        }
        let value = value_of(e);
        self.event(key, to.intent(), RecordValue::ProcessInstance(value));
        Ok(())
    }

    /// Writes `ELEMENT_ACTIVATING` for a new element instance in `scope_key`; returns
    /// its key. Elements of a called process carry the keys of their caller.
    pub(crate) fn new_element(
        &mut self,
        scope_key: i64,
        node_id: &str,
        element_type: &ElementType,
        event_type: &EventType,
    ) -> Result<i64, ApplyError> {
        let scope = self.state.element(scope_key)?;
        let value = value_with(
            scope,
            node_id.to_owned(),
            Some(scope_key),
            element_type,
            event_type,
        );
        let key = self.next_key();
        self.event(
            key,
            Lifecycle::Activating.intent(),
            RecordValue::ProcessInstance(value),
        );
        Ok(key)
    }

    /// Writes `ELEMENT_ACTIVATING` for `node_id` in `scope_key` (its multi-instance body
    /// when the activity is multi-instance) and queues its activating phase.
    pub(crate) fn activate_element(
        &mut self,
        scope_key: i64,
        node_id: &str,
    ) -> Result<i64, ApplyError> {
        let scope = self.state.element(scope_key)?;
        let process = self.definition(scope.process_definition_key)?;
        let node = process.required_node(node_id)?;
        let inner =
            scope.element_type == ElementType::MultiInstanceBody && scope.element_id == node_id;
        let (element_type, event_type) = if model::is_multi_instance(node) && !inner {
            (ElementType::MultiInstanceBody, EventType::Unspecified)
        } else {
            let (_, element_type, event_type) =
                behavior_of(node).map_err(ApplyError::Inconsistent)?;
            (element_type, event_type)
        };
        let key = self.new_element(scope_key, node_id, &element_type, &event_type)?;
        self.queue.push_back(Step::Activate(key));
        Ok(key)
    }

    /// The activating phase of a process instance: open the triggers of its event
    /// sub-processes, then activate the start event.
    pub(crate) fn activate_process_body(
        &mut self,
        key: i64,
        start: Option<(&str, &Map<String, Value>)>,
    ) -> Result<(), ApplyError> {
        let process = self.definition(self.state.element(key)?.process_definition_key)?;
        let Some(subs) = self.or_incident(
            key,
            IncidentErrorType::ExtractValueError,
            self.prepare_scope_starts(key, &process, None),
        ) else {
            return Ok(());
        };
        self.element_transition(key, Lifecycle::Activated)?;
        self.open_subscriptions(key, &process, subs)?;
        match start {
            Some((start_id, vars)) => {
                self.activate_triggered(key, start_id, vars)?;
            }
            None => match process.model.none_start(None).map(str::to_owned) {
                Some(start_id) => {
                    self.activate_element(key, &start_id)?;
                }
                None => self.raise_incident(
                    key,
                    IncidentErrorType::UnknownError,
                    "the process has no none start event".into(),
                    None,
                ),
            },
        }
        Ok(())
    }

    /// The process definition and behaviour of an element instance.
    pub(crate) fn behavior(
        &self,
        e: &ElementInstance,
    ) -> Result<(Arc<DeployedProcess>, Behavior), ApplyError> {
        let process = self.definition(e.process_definition_key)?;
        let behavior = if e.flow_scope_key.is_none() {
            Behavior::Process
        } else if e.element_type == ElementType::MultiInstanceBody {
            Behavior::MultiInstanceBody
        } else {
            behavior_of(process.required_node(&e.element_id)?)
                .map_err(ApplyError::Inconsistent)?
                .0
        };
        Ok((process, behavior))
    }

    /// The multi-instance body the element instance `key` is an instance of, if any.
    pub(crate) fn body_of(&self, key: i64) -> Result<Option<i64>, ApplyError> {
        let Some(scope_key) = self.state.element(key)?.flow_scope_key else {
            return Ok(None);
        };
        let scope = self.state.element(scope_key)?;
        Ok((scope.element_type == ElementType::MultiInstanceBody).then_some(scope_key))
    }

    fn run_activating(&mut self, key: i64) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have ended the instance.
        let Some(element) = self.state.element_if_present(key) else {
            return Ok(());
        };
        if element.lifecycle != Lifecycle::Activating {
            return Ok(());
        }
        let (process, behavior) = self.behavior(element)?;
        if behavior == Behavior::Process {
            return self.activate_process_body(key, None);
        }
        let element_id = element.element_id.clone();
        let node = process.required_node(&element_id)?;
        if self.triggered.remove(&key) {
            // Activated by its event: nothing to wait for.
            self.element_transition(key, Lifecycle::Activated)?;
            self.queue.push_back(Step::Complete(key));
            return Ok(());
        }
        if behavior == Behavior::MultiInstanceBody {
            return self.activate_body(key, &process, node);
        }
        if let Err(message) = self.apply_input_mappings(key, node)? {
            self.raise_incident(key, IncidentErrorType::IoMappingError, message, None);
            return Ok(());
        }
        let in_body = self.body_of(key)?.is_some();
        let Some(subs) = self.or_incident(
            key,
            IncidentErrorType::ExtractValueError,
            self.prepare_subscriptions(key, &process, node, behavior, in_body),
        ) else {
            return Ok(());
        };
        match behavior {
            Behavior::Job => {
                let Some(job) = self.or_incident(
                    key,
                    IncidentErrorType::ExtractValueError,
                    self.job_for(self.state.element(key)?, &process, node),
                ) else {
                    return Ok(());
                };
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
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
                    IncidentErrorType::ExtractValueError,
                    variables::eval(self.now, src, &vars),
                ) else {
                    return Ok(());
                };
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
                if let Some(name) = script.result_variable.filter(|n| !n.is_empty()) {
                    let mut result = Map::new();
                    result.insert(name, value);
                    if variables::has_outputs(node) {
                        self.set_local_variables(key, &result)?;
                    } else {
                        self.propagate_variables(key, &result)?;
                    }
                }
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::CallActivity => self.activate_call_activity(key, &process, node, subs)?,
            Behavior::SubProcess => {
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
                match process
                    .model
                    .none_start(Some(&element_id))
                    .map(str::to_owned)
                {
                    Some(start) => {
                        self.activate_element(key, &start)?;
                    }
                    None => self.raise_incident(
                        key,
                        IncidentErrorType::UnknownError,
                        format!("the sub-process '{element_id}' has no none start event"),
                        None,
                    ),
                }
            }
            Behavior::EventSubProcess => {
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
                let start = process
                    .process()
                    .and_then(|p| process.model.start_of(p, &element_id))
                    .ok_or_else(|| {
                        ApplyError::Inconsistent(format!(
                            "the event sub-process '{element_id}' has no start event"
                        ))
                    })?
                    .id
                    .as_str()
                    .to_owned();
                self.activate_triggered(key, &start, &Map::new())?;
            }
            Behavior::CatchEvent | Behavior::ReceiveTask | Behavior::EventBasedGateway => {
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
            }
            Behavior::ErrorEnd => {
                let Some(code) = self.or_incident(
                    key,
                    IncidentErrorType::ExtractValueError,
                    self.error_code_of(key, &process, node),
                ) else {
                    return Ok(());
                };
                if !self.throw_error(key, &code, &Map::new())? {
                    let message = format!(
                        "Expected to throw an error event with the code '{code}', but it was not caught. No error events are available in the scope."
                    );
                    self.raise_incident(key, IncidentErrorType::UnhandledErrorEvent, message, None);
                }
            }
            Behavior::EscalationThrow => {
                let Some(code) = self.or_incident(
                    key,
                    IncidentErrorType::ExtractValueError,
                    self.escalation_code_of(key, &process, node),
                ) else {
                    return Ok(());
                };
                self.element_transition(key, Lifecycle::Activated)?;
                self.throw_escalation(key, &code)?;
                self.complete_unless_interrupted(key);
            }
            Behavior::SignalThrow => {
                let vars = self.state.visible_variables(key);
                let Some(name) = self.or_incident(
                    key,
                    IncidentErrorType::ExtractValueError,
                    super::signal::signal_name(self.now, &process, node, &vars),
                ) else {
                    return Ok(());
                };
                self.element_transition(key, Lifecycle::Activated)?;
                let local = self.local_variables(key);
                let tenant = self.state.element(key)?.tenant_id.clone();
                self.broadcast(&name, &local, &tenant)?;
                self.complete_unless_interrupted(key);
            }
            Behavior::Task
            | Behavior::PassThrough
            | Behavior::TerminateEnd
            | Behavior::LinkThrow
            | Behavior::ExclusiveGateway
            | Behavior::ParallelGateway
            | Behavior::InclusiveGateway => {
                self.element_transition(key, Lifecycle::Activated)?;
                self.open_subscriptions(key, &process, subs)?;
                self.queue.push_back(Step::Complete(key));
            }
            Behavior::Process | Behavior::MultiInstanceBody => {}
        }
        Ok(())
    }

    /// A throw event goes on once it has thrown, unless what caught the throw ended it.
    fn complete_unless_interrupted(&mut self, key: i64) {
        if self
            .state
            .element_if_present(key)
            .is_some_and(|e| e.lifecycle == Lifecycle::Activated)
        {
            self.queue.push_back(Step::Complete(key));
        }
    }

    fn run_completing(&mut self, key: i64) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have ended the instance.
        let Some(element) = self.state.element_if_present(key) else {
            return Ok(());
        };
        let lifecycle = element.lifecycle;
        let flow_scope = element.flow_scope_key;
        let element_id = element.element_id.clone();
        let (process, behavior) = self.behavior(element)?;

        if lifecycle == Lifecycle::Terminating
            || lifecycle == Lifecycle::Activating
            || behavior == Behavior::EventBasedGateway
        {
            return Ok(());
        }
        if lifecycle != Lifecycle::Completing {
            self.element_transition(key, Lifecycle::Completing)?;
        }
        match behavior {
            Behavior::Process => return self.complete_process(key),
            Behavior::MultiInstanceBody => return self.complete_body(key, &process),
            _ => {}
        }
        // Only a process has no flow scope.
        let Some(flow_scope) = flow_scope else {
            return Err(ApplyError::Inconsistent(format!(
                "element instance {key} ('{element_id}') has no flow scope"
            )));
        };
        let node = process.required_node(&element_id)?;
        if let Err(message) = self.apply_output_mappings(key, flow_scope, node)? {
            self.raise_incident(key, IncidentErrorType::IoMappingError, message, None);
            return Ok(());
        }
        let body = self.body_of(key)?;
        let mut complete_body = false;
        if let Some(body) = body {
            match self.inner_completing(key, body, node)? {
                Ok(done) => complete_body = done,
                Err(message) => {
                    self.raise_incident(key, IncidentErrorType::ExtractValueError, message, None);
                    return Ok(());
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
                        self.raise_incident(key, IncidentErrorType::ConditionError, message, None);
                        return Ok(());
                    }
                }
            }
            Behavior::InclusiveGateway => {
                let vars = self.state.visible_variables(key);
                match gateways::choose_inclusive(self.now, &process, node, &vars) {
                    Ok(flows) => flows,
                    Err(message) => {
                        self.raise_incident(key, IncidentErrorType::ConditionError, message, None);
                        return Ok(());
                    }
                }
            }
            Behavior::LinkThrow => Vec::new(),
            _ => process.model.outgoing(&element_id).to_vec(),
        };
        self.close_owned(key)?;
        self.element_transition(key, Lifecycle::Completed)?;
        if let Some(body) = body {
            self.queue.push_back(Step::InnerDone {
                body,
                complete_body,
            });
            return Ok(());
        }
        match behavior {
            Behavior::TerminateEnd => {
                let siblings: Vec<i64> = self
                    .state
                    .element(flow_scope)?
                    .children
                    .iter()
                    .copied()
                    .collect();
                for sibling in siblings {
                    self.terminate_element(sibling)?;
                }
                self.queue.push_back(Step::ScopeFinished {
                    scope: flow_scope,
                    force: true,
                });
                return Ok(());
            }
            Behavior::LinkThrow => {
                let target = gateways::link_target(&process, node).ok_or_else(|| {
                    ApplyError::Inconsistent(format!(
                        "the link throw event '{element_id}' has no link catch event"
                    ))
                })?;
                self.activate_element(flow_scope, &target)?;
                return Ok(());
            }
            _ => {}
        }
        if flows.is_empty() {
            self.queue.push_back(Step::ScopeFinished {
                scope: flow_scope,
                force: false,
            });
        } else {
            self.take_flows(&process, flow_scope, &flows)?;
        }
        self.queue_join_check(flow_scope)
    }

    /// Completes a process instance: closes its triggers and hands its variables to the
    /// caller, if a call activity started it.
    fn complete_process(&mut self, key: i64) -> Result<(), ApplyError> {
        let variables = self.state.visible_variables(key);
        let parent = self.state.element(key)?.parent_element_instance_key;
        self.close_owned(key)?;
        let started_by = self.state.message_starts.get(&key).cloned();
        self.element_transition(key, Lifecycle::Completed)?;
        if let Some(parent) = parent {
            self.child_completed(parent, &variables)?;
        }
        self.completed.push(CompletedInstance {
            process_instance_key: key,
            variables,
        });
        self.instance_ended(started_by)
    }

    /// After a process instance ended: a message waiting for its correlation key may
    /// start the next instance.
    fn instance_ended(
        &mut self,
        started_by: Option<crate::state::MessageStart>,
    ) -> Result<(), ApplyError> {
        match started_by {
            Some(start) => self.correlate_after_instance_ended(&start),
            None => Ok(()),
        }
    }

    /// Writes `SEQUENCE_FLOW_TAKEN` for every flow first, then activates their targets,
    /// so a joining gateway reached by several of them sees all their tokens.
    pub(crate) fn take_flows(
        &mut self,
        process: &DeployedProcess,
        scope_key: i64,
        flows: &[String],
    ) -> Result<(), ApplyError> {
        let template =
            sequence_flow_value(self.state.element(scope_key)?, scope_key, String::new());
        for flow_id in flows {
            let mut value = template.clone();
            value.element_id.clone_from(flow_id);
            let key = self.next_key();
            self.event(
                key,
                Intent::SEQUENCE_FLOW_TAKEN,
                RecordValue::ProcessInstance(value),
            );
        }
        for flow_id in flows {
            let flow = process.required_flow(flow_id)?;
            let target = process.required_node(flow.target_ref.as_str())?;
            if is_join(process, target) && !self.join_ready(process, scope_key, target)? {
                continue;
            }
            self.activate_element(scope_key, target.id.as_str())?;
        }
        Ok(())
    }

    /// Queues a check of the inclusive joins of `scope` when tokens wait at one.
    pub(crate) fn queue_join_check(&mut self, scope: i64) -> Result<(), ApplyError> {
        let element = self.state.element(scope)?;
        if element.join_tokens.is_empty() || element.lifecycle != Lifecycle::Activated {
            return Ok(());
        }
        let process = self.definition(element.process_definition_key)?;
        let mut waits_at_inclusive = false;
        for flow in element.join_tokens.keys() {
            let target = process.required_node(process.required_flow(flow)?.target_ref.as_str())?;
            if matches!(target.kind, FlowNodeKind::InclusiveGateway(_)) {
                waits_at_inclusive = true;
                break;
            }
        }
        if waits_at_inclusive {
            self.queue.push_back(Step::CheckJoins(scope));
        }
        Ok(())
    }

    fn scope_finished(&mut self, scope: i64, force: bool) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have ended the scope.
        let Some(element) = self.state.element_if_present(scope) else {
            return Ok(());
        };
        if element.element_type == ElementType::MultiInstanceBody {
            return Ok(());
        }
        if element.lifecycle == Lifecycle::Activated
            && element.children.is_empty()
            && (force || element.interrupted || element.join_tokens.is_empty())
        {
            self.queue.push_back(Step::Complete(scope));
        }
        Ok(())
    }

    /// Terminates an element instance and everything inside it (a called process too),
    /// closing its subscriptions, cancelling its job and resolving its incidents.
    pub(crate) fn terminate_element(&mut self, key: i64) -> Result<(), ApplyError> {
        let element = self.state.element(key)?;
        let children: Vec<i64> = element.children.iter().copied().collect();
        let job_key = element.job_key;
        let flow_scope = element.flow_scope_key;
        let called = element.called_instance;
        if element.lifecycle != Lifecycle::Terminating {
            self.element_transition(key, Lifecycle::Terminating)?;
        }
        for child in children {
            self.terminate_element(child)?;
        }
        if let Some(called) = called {
            self.terminate_element(called)?;
        }
        self.close_owned(key)?;
        if let Some(job_key) = job_key {
            let value = self.state.job(job_key)?.value.clone();
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
        self.element_transition(key, Lifecycle::Terminated)?;
        match flow_scope {
            None => {
                self.terminated.push(key);
                self.instance_ended(started_by)
            }
            Some(scope) => self.queue_join_check(scope),
        }
    }
}
