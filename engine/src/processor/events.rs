//! Event subscriptions and what a triggered event does.
//!
//! An element instance *owns* the subscriptions it opens when it activates, and closes
//! them when it leaves:
//!
//! * a timer, message or signal intermediate catch event, or a receive task: its own
//!   trigger;
//! * an activity (or multi-instance body): the triggers of its boundary events;
//! * a process, sub-process or event sub-process: the triggers of the start events of
//!   the event sub-processes directly inside it;
//! * an event-based gateway: the triggers of the catch events after it.
//!
//! Each subscription names its owner and its *target* (the element the event
//! activates), exactly as the exported records do (`elementInstanceKey` and
//! `targetElementId` of a timer, `elementInstanceKey` and `elementId` of a process
//! message subscription, `catchEventInstanceKey` and `catchEventId` of a signal
//! subscription). [`Ctx::trigger_event`] decides from the owner and the target:
//!
//! | target | interrupting | non-interrupting |
//! |---|---|---|
//! | the owner itself (catch event, receive task) | the owner completes | – |
//! | a boundary event of the owner | the owner is terminated, the boundary event runs | the boundary event runs beside it |
//! | an event sub-process start in the owner | the owner's other children are terminated, the event sub-process runs | the event sub-process runs beside them |
//! | a catch event after an event-based gateway | the gateway completes into that event | – |
//!
//! Subscriptions are evaluated (timer expressions, message names and correlation keys,
//! signal names) before anything is written, so an expression that fails raises an
//! incident without leaving half the subscriptions open.

use bpmn::{EventDefinitionKind, FlowNode, FlowNodeKind};
use serde_json::{Map, Value};
use zeebe::record::{
    ElementType, EventType, Intent, MessageSubscriptionValue, ProcessMessageSubscriptionValue,
    RecordValue, SignalSubscriptionValue, TimerValue,
};

use super::{
    Ctx,
    behavior::Behavior,
    element::{Step, sequence_flow_value},
    variables,
};
use crate::{
    model,
    state::{ApplyError, DeployedProcess, Entity, Lifecycle, Owned},
};

/// A subscription evaluated and ready to be written.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    Timer {
        target: String,
        due: i64,
        repetitions: i32,
    },
    Message {
        target: String,
        name: String,
        correlation_key: String,
        interrupting: bool,
    },
    Signal {
        target: String,
        name: String,
    },
}

/// Whether the event `node` interrupts what it is attached to or starts in.
pub(crate) fn is_interrupting(node: &FlowNode) -> bool {
    match &node.kind {
        FlowNodeKind::BoundaryEvent(e) => e.cancels_activity(),
        FlowNodeKind::StartEvent(e) => e.interrupting(),
        _ => true,
    }
}

impl Ctx<'_> {
    /// The subscriptions an element opens when it becomes active (see the module docs);
    /// `in_body`: the element is an instance of a multi-instance body, which holds the
    /// boundary events.
    pub(crate) fn prepare_subscriptions(
        &self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
        behavior: Behavior,
        in_body: bool,
    ) -> Result<Vec<Prepared>, String> {
        let mut out = Vec::new();
        match behavior {
            Behavior::CatchEvent | Behavior::ReceiveTask => {
                out.extend(self.prepare_target(key, process, node)?);
            }
            Behavior::EventBasedGateway => {
                for flow in process.model.outgoing(node.id.as_str()) {
                    if let Some(target) = process
                        .flow(flow)
                        .and_then(|f| process.node(f.target_ref.as_str()))
                    {
                        out.extend(self.prepare_target(key, process, target)?);
                    }
                }
            }
            Behavior::SubProcess | Behavior::EventSubProcess => {
                out.extend(self.prepare_scope_starts(key, process, Some(node.id.as_str()))?);
            }
            _ => {}
        }
        if behavior.is_activity() && !in_body {
            out.extend(self.prepare_boundaries(key, process, node.id.as_str())?);
        }
        Ok(out)
    }

    /// Triggers of the boundary events attached to `activity_id`, owned by `key`.
    pub(crate) fn prepare_boundaries(
        &self,
        key: i64,
        process: &DeployedProcess,
        activity_id: &str,
    ) -> Result<Vec<Prepared>, String> {
        let mut out = Vec::new();
        for boundary in process.model.boundary_events(activity_id) {
            if let Some(node) = process.node(boundary) {
                out.extend(self.prepare_target(key, process, node)?);
            }
        }
        Ok(out)
    }

    /// Triggers of the event sub-processes directly inside `scope` (`None`: the process
    /// body), owned by the scope instance `key`.
    pub(crate) fn prepare_scope_starts(
        &self,
        key: i64,
        process: &DeployedProcess,
        scope: Option<&str>,
    ) -> Result<Vec<Prepared>, String> {
        let Some(model) = process.process() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for esp in process.model.event_sub_processes(scope) {
            if let Some(start) = process.model.start_of(model, esp) {
                out.extend(self.prepare_target(key, process, start)?);
            }
        }
        Ok(out)
    }

    /// The trigger of one catching event, evaluated in the scope of `owner`; `None` for
    /// events caught without a subscription (errors, escalations, links).
    fn prepare_target(
        &self,
        owner: i64,
        process: &DeployedProcess,
        target: &FlowNode,
    ) -> Result<Option<Prepared>, String> {
        let vars = self.state.visible_variables(owner);
        let id = target.id.as_str().to_owned();
        let definition = match &target.kind {
            FlowNodeKind::ReceiveTask(a) => {
                let (name, correlation_key) = super::message::subscription_of(
                    self.now,
                    process,
                    a.message_ref.as_ref(),
                    &id,
                    &vars,
                )?;
                return Ok(Some(Prepared::Message {
                    target: id,
                    name,
                    correlation_key,
                    interrupting: true,
                }));
            }
            _ => model::event_definition(target),
        };
        Ok(match definition {
            Some(EventDefinitionKind::Timer(timer)) => {
                let spec = super::timer::spec_of(self.now, timer, &vars, &id)?;
                spec.first(self.now)
                    .map(|(due, repetitions)| Prepared::Timer {
                        target: id,
                        due,
                        repetitions,
                    })
            }
            Some(EventDefinitionKind::Message { message_ref }) => {
                let (name, correlation_key) = super::message::subscription_of(
                    self.now,
                    process,
                    message_ref.as_ref(),
                    &id,
                    &vars,
                )?;
                Some(Prepared::Message {
                    target: id,
                    name,
                    correlation_key,
                    interrupting: is_interrupting(target),
                })
            }
            Some(EventDefinitionKind::Signal { .. }) => Some(Prepared::Signal {
                name: super::signal::signal_name(self.now, process, target, &vars)?,
                target: id,
            }),
            _ => None,
        })
    }

    /// Writes the subscriptions `subs` owned by `owner`.
    pub(crate) fn open_subscriptions(
        &mut self,
        owner: i64,
        process: &DeployedProcess,
        subs: Vec<Prepared>,
    ) -> Result<(), ApplyError> {
        let element = self.state.element(owner)?;
        let pi = element.process_instance_key;
        let tenant = element.tenant_id.clone();
        for sub in subs {
            match sub {
                Prepared::Timer {
                    target,
                    due,
                    repetitions,
                } => {
                    let value = TimerValue {
                        element_instance_key: owner,
                        process_instance_key: pi,
                        process_definition_key: process.key,
                        due_date: due,
                        target_element_id: target,
                        repetitions,
                        tenant_id: tenant.clone(),
                        extra: Map::new(),
                    };
                    let key = self.next_key();
                    self.event(key, Intent::CREATED, RecordValue::Timer(value));
                }
                Prepared::Message {
                    target,
                    name,
                    correlation_key,
                    interrupting,
                } => {
                    let value = ProcessMessageSubscriptionValue {
                        process_instance_key: pi,
                        element_instance_key: owner,
                        bpmn_process_id: process.bpmn_process_id.clone(),
                        message_key: -1,
                        message_name: name,
                        correlation_key,
                        element_id: target,
                        interrupting,
                        variables: Map::new(),
                        tenant_id: tenant.clone(),
                        extra: Map::new(),
                    };
                    let key = self.next_key();
                    self.event(
                        key,
                        Intent::CREATING,
                        RecordValue::ProcessMessageSubscription(value.clone()),
                    );
                    self.event(
                        key,
                        Intent::CREATED,
                        RecordValue::MessageSubscription(message_side(&value)),
                    );
                    self.event(
                        key,
                        Intent::CREATED,
                        RecordValue::ProcessMessageSubscription(value),
                    );
                    self.queue.push_back(Step::CorrelateBuffered(key));
                }
                Prepared::Signal { target, name } => {
                    let value = SignalSubscriptionValue {
                        process_definition_key: process.key,
                        bpmn_process_id: process.bpmn_process_id.clone(),
                        catch_event_id: target,
                        catch_event_instance_key: owner,
                        signal_name: name,
                        tenant_id: tenant.clone(),
                        extra: Map::new(),
                    };
                    let key = self.next_key();
                    self.event(key, Intent::CREATED, RecordValue::SignalSubscription(value));
                }
            }
        }
        Ok(())
    }

    /// Closes every subscription `owner` opened.
    pub(crate) fn close_owned(&mut self, owner: i64) -> Result<(), ApplyError> {
        for owned in self.state.owned_by(owner) {
            self.close(owned)?;
        }
        Ok(())
    }

    /// Closes the subscriptions of `scope`'s event sub-processes, keeping those of the
    /// boundary events attached to the scope (an interrupting event sub-process took
    /// over the inside of the scope, not the scope itself).
    fn close_scope_starts(&mut self, scope: i64) -> Result<(), ApplyError> {
        let element = self.state.element(scope)?;
        let process = self.definition(element.process_definition_key)?;
        let boundaries = process.model.boundary_events(&element.element_id).to_vec();
        for owned in self.state.owned_by(scope) {
            if !boundaries.contains(self.target_of(owned)?) {
                self.close(owned)?;
            }
        }
        Ok(())
    }

    /// The element a subscription or timer triggers. What an element instance owns is in
    /// the state: the index of owned things follows the entities.
    fn target_of(&self, owned: Owned) -> Result<&String, ApplyError> {
        match owned {
            Owned::Timer(k) => self
                .state
                .timers
                .get(&k)
                .map(|t| &t.value.target_element_id)
                .ok_or(ApplyError::missing(Entity::Timer, k)),
            Owned::Message(k) => self
                .state
                .message_subscriptions
                .get(&k)
                .map(|s| &s.value.element_id)
                .ok_or(ApplyError::missing(Entity::MessageSubscription, k)),
            Owned::Signal(k) => self
                .state
                .signal_subscriptions
                .get(&k)
                .map(|s| &s.value.catch_event_id)
                .ok_or(ApplyError::missing(Entity::SignalSubscription, k)),
        }
    }

    fn close(&mut self, owned: Owned) -> Result<(), ApplyError> {
        match owned {
            Owned::Timer(key) => {
                let value = self
                    .state
                    .timers
                    .get(&key)
                    .ok_or(ApplyError::missing(Entity::Timer, key))?
                    .value
                    .clone();
                self.event(key, Intent::CANCELED, RecordValue::Timer(value));
            }
            Owned::Message(key) => {
                let value = self
                    .state
                    .message_subscriptions
                    .get(&key)
                    .ok_or(ApplyError::missing(Entity::MessageSubscription, key))?
                    .value
                    .clone();
                self.event(
                    key,
                    Intent::DELETING,
                    RecordValue::ProcessMessageSubscription(value.clone()),
                );
                self.event(
                    key,
                    Intent::DELETED,
                    RecordValue::MessageSubscription(message_side(&value)),
                );
                self.event(
                    key,
                    Intent::DELETED,
                    RecordValue::ProcessMessageSubscription(value),
                );
            }
            Owned::Signal(key) => {
                let value = self
                    .state
                    .signal_subscriptions
                    .get(&key)
                    .ok_or(ApplyError::missing(Entity::SignalSubscription, key))?
                    .value
                    .clone();
                self.event(key, Intent::DELETED, RecordValue::SignalSubscription(value));
            }
        }
        Ok(())
    }

    /// An event of `owner`'s subscription for `target_id` happened, with `variables`
    /// (see the module docs). Returns whether anything was triggered: nothing is when
    /// the owner is no longer waiting (it is completing or being terminated).
    pub(crate) fn trigger_event(
        &mut self,
        owner: i64,
        target_id: &str,
        variables: &Map<String, Value>,
    ) -> Result<bool, ApplyError> {
        let element = self.state.element(owner)?;
        if element.lifecycle != Lifecycle::Activated {
            return Ok(false);
        }
        let scope = element.flow_scope_key;
        let owner_id = element.element_id.clone();
        let owner_type = element.element_type.clone();
        let process = self.definition(element.process_definition_key)?;
        let target = process.required_node(target_id)?;
        // Only a process has no flow scope, and a process triggers event sub-processes.
        let flow_scope = || {
            scope.ok_or_else(|| {
                ApplyError::Inconsistent(format!(
                    "'{target_id}' triggered in process instance {owner} needs a flow scope"
                ))
            })
        };
        if owner_id == target_id && owner_type != ElementType::MultiInstanceBody {
            // A catch event or receive task: the event completes it.
            self.close_owned(owner)?;
            self.set_event_variables(owner, flow_scope()?, target, variables)?;
            self.queue.push_back(Step::Complete(owner));
            return Ok(true);
        }
        match &target.kind {
            FlowNodeKind::BoundaryEvent(_) => {
                if is_interrupting(target) {
                    self.terminate_element(owner)?;
                }
                self.activate_triggered(flow_scope()?, target_id, variables)?;
                Ok(true)
            }
            FlowNodeKind::StartEvent(_) => {
                let esp = process
                    .model
                    .scope_of(target_id)
                    .ok_or_else(|| {
                        ApplyError::Inconsistent(format!(
                            "the start event '{target_id}' is in no event sub-process"
                        ))
                    })?
                    .to_owned();
                if is_interrupting(target) {
                    self.close_scope_starts(owner)?;
                    let children: Vec<i64> = self
                        .state
                        .element(owner)?
                        .children
                        .iter()
                        .copied()
                        .collect();
                    for child in children {
                        self.terminate_element(child)?;
                    }
                }
                self.activate_event_sub_process(owner, &esp, target_id, variables)?;
                Ok(true)
            }
            _ if owner_type == ElementType::EventBasedGateway => {
                let flow = process
                    .model
                    .outgoing(&owner_id)
                    .iter()
                    .find(|f| {
                        process
                            .flow(f)
                            .is_some_and(|flow| flow.target_ref.as_str() == target_id)
                    })
                    .cloned()
                    .ok_or_else(|| {
                        ApplyError::Inconsistent(format!(
                            "no flow leads from the event-based gateway '{owner_id}' to '{target_id}'"
                        ))
                    })?;
                let scope = flow_scope()?;
                self.close_owned(owner)?;
                self.element_transition(owner, Lifecycle::Completing)?;
                self.element_transition(owner, Lifecycle::Completed)?;
                self.take_flow_only(scope, &flow)?;
                self.activate_triggered(scope, target_id, variables)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Writes `SEQUENCE_FLOW_TAKEN` for one flow without activating its target.
    fn take_flow_only(&mut self, scope: i64, flow_id: &str) -> Result<(), ApplyError> {
        let value = sequence_flow_value(self.state.element(scope)?, scope, flow_id.to_owned());
        let key = self.next_key();
        self.event(
            key,
            Intent::SEQUENCE_FLOW_TAKEN,
            RecordValue::ProcessInstance(value),
        );
        Ok(())
    }

    /// Activates an event element that its event already happened for: it completes at
    /// once, with `variables` set as the event's output.
    pub(crate) fn activate_triggered(
        &mut self,
        scope: i64,
        node_id: &str,
        variables: &Map<String, Value>,
    ) -> Result<i64, ApplyError> {
        let process = self.definition(self.state.element(scope)?.process_definition_key)?;
        let node = process.required_node(node_id)?;
        let key = self.activate_element(scope, node_id)?;
        self.triggered.insert(key);
        self.set_event_variables(key, scope, node, variables)?;
        Ok(key)
    }

    /// Event variables go to the event's own scope when it maps outputs, else they are
    /// merged into the enclosing scopes. An error's variables always stay on the catching
    /// event: only its output mappings carry them further, as in Zeebe.
    pub(crate) fn set_event_variables(
        &mut self,
        key: i64,
        scope: i64,
        node: &FlowNode,
        variables: &Map<String, Value>,
    ) -> Result<(), ApplyError> {
        if variables.is_empty() {
            return Ok(());
        }
        let catches_error = matches!(
            model::event_definition(node),
            Some(EventDefinitionKind::Error { .. })
        );
        if catches_error || variables::has_outputs(node) {
            self.set_local_variables(key, variables)
        } else {
            self.propagate_variables(scope, variables)
        }
    }

    /// Activates the event sub-process `esp` in the scope instance `scope`, and its
    /// start event `start_id` with the event's `variables`.
    pub(crate) fn activate_event_sub_process(
        &mut self,
        scope: i64,
        esp: &str,
        start_id: &str,
        variables: &Map<String, Value>,
    ) -> Result<i64, ApplyError> {
        let process = self.definition(self.state.element(scope)?.process_definition_key)?;
        let key = self.new_element(
            scope,
            esp,
            &ElementType::EventSubProcess,
            &EventType::Unspecified,
        )?;
        let subs = self
            .prepare_scope_starts(key, &process, Some(esp))
            .unwrap_or_default();
        self.element_transition(key, Lifecycle::Activated)?;
        self.open_subscriptions(key, &process, subs)?;
        self.activate_triggered(key, start_id, variables)?;
        Ok(key)
    }
}

/// The message side of a process message subscription.
pub(crate) fn message_side(value: &ProcessMessageSubscriptionValue) -> MessageSubscriptionValue {
    MessageSubscriptionValue {
        process_instance_key: value.process_instance_key,
        element_instance_key: value.element_instance_key,
        bpmn_process_id: value.bpmn_process_id.clone(),
        message_key: value.message_key,
        message_name: value.message_name.clone(),
        correlation_key: value.correlation_key.clone(),
        interrupting: value.interrupting,
        variables: value.variables.clone(),
        tenant_id: value.tenant_id.clone(),
        extra: Map::new(),
    }
}
