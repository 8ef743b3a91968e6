//! [`State::apply`]: how each event changes the state.
//!
//! Records are read here, so this is where their wire form becomes the typed state:
//! element and event type names become enums, `-1` keys become `None`, and the
//! `ELEMENT_*` intents become [`Lifecycle`] transitions, checked against
//! [`Lifecycle::can_become`].
//!
//! A record that refers to something the state does not hold is a broken invariant
//! (see [`super::error`]): `apply` stops applying that record and returns the error for
//! its caller to report. A disallowed lifecycle transition is applied all the same (the
//! log is the source of truth) and then returned.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use base64::Engine as _;
use serde_json::Value;
use zeebe::record::{
    ElementType, EventType, Intent, JobValue, MessageStartEventSubscriptionValue,
    ProcessInstanceValue, ProcessMessageSubscriptionValue, Record, RecordType, RecordValue,
    ValueType,
};

use super::{
    ApplyError, BufferedMessage, DeployedProcess, ElementInstance, Entity, Incident, Job, JobState,
    Lifecycle, MessageStart, MessageStartSubscription, MessageSubscription, SignalSubscription,
    State, Timer, Variable,
    index::{index_message, index_message_subscription, index_signal_subscription, index_timer},
    is_join,
};
use crate::key;

impl State {
    /// Applies one record. Commands and rejections change nothing but the position.
    ///
    /// # Errors
    /// When an event cannot be applied: a record that cannot be used (e.g. a deployed
    /// resource that no longer parses; the engine must then refuse to start rather than
    /// run on a wrong state), or a broken invariant
    /// ([`ApplyError::is_broken_invariant`]), which the caller reports.
    pub fn apply(&mut self, record: &Record) -> Result<(), ApplyError> {
        self.last_position = self.last_position.max(record.position);
        self.keys.observe(record.key);
        if record.record_type != RecordType::Event {
            return Ok(());
        }
        let intent = &record.intent;
        let key = record.key;
        match (&record.value_type, &record.value) {
            (ValueType::Process, RecordValue::Process(p)) => {
                if *intent == Intent::CREATED {
                    self.apply_process_created(p)?;
                } else if *intent == Intent::DELETING {
                    self.apply_process_deleting(p.process_definition_key)?;
                } else if *intent == Intent::DELETED {
                    // DELETING took it out of the version list already; again is harmless.
                    self.apply_process_deleting(p.process_definition_key)?;
                    self.processes.remove(&p.process_definition_key);
                }
            }
            (ValueType::ProcessInstance, RecordValue::ProcessInstance(v)) => {
                self.apply_element(key, intent, v)?;
            }
            (ValueType::Variable, RecordValue::Variable(v)) => {
                self.element(v.scope_key)?;
                let value = serde_json::from_str(&v.value).unwrap_or(Value::Null);
                self.variables
                    .entry(v.scope_key)
                    .or_default()
                    .insert(v.name.clone(), Variable { key, value });
            }
            (ValueType::Job, RecordValue::Job(v)) => self.apply_job(key, intent, v)?,
            (ValueType::JobBatch, RecordValue::Other(v)) if intent.as_str() == "ACTIVATED" => {
                self.apply_job_batch(v)?;
            }
            (ValueType::Incident, RecordValue::Incident(v)) => {
                self.apply_incident(key, intent, v)?;
            }
            (ValueType::Message, RecordValue::Message(v)) => {
                if *intent == Intent::PUBLISHED {
                    let message = BufferedMessage {
                        key,
                        value: v.clone(),
                        deadline: v.deadline,
                        correlated: BTreeSet::new(),
                    };
                    index_message(&mut self.index, &message, true);
                    self.messages.insert(key, message);
                } else if *intent == Intent::EXPIRED {
                    let message = self
                        .messages
                        .remove(&key)
                        .ok_or(ApplyError::missing(Entity::Message, key))?;
                    index_message(&mut self.index, &message, false);
                }
            }
            (ValueType::Timer, RecordValue::Timer(v)) => {
                if *intent == Intent::CREATED {
                    let timer = Timer {
                        key,
                        value: v.clone(),
                    };
                    index_timer(&mut self.index, &timer, true);
                    self.timers.insert(key, timer);
                } else if *intent == Intent::TRIGGERED || *intent == Intent::CANCELED {
                    let timer = self
                        .timers
                        .remove(&key)
                        .ok_or(ApplyError::missing(Entity::Timer, key))?;
                    index_timer(&mut self.index, &timer, false);
                }
            }
            (ValueType::ProcessMessageSubscription, RecordValue::ProcessMessageSubscription(v)) => {
                self.apply_process_message_subscription(key, intent, v)?;
            }
            (ValueType::MessageSubscription, RecordValue::MessageSubscription(v))
                if *intent == Intent::CORRELATED =>
            {
                self.messages
                    .get_mut(&v.message_key)
                    .ok_or(ApplyError::missing(Entity::Message, v.message_key))?
                    .correlated
                    .insert(v.bpmn_process_id.clone());
            }
            (
                ValueType::MessageStartEventSubscription,
                RecordValue::MessageStartEventSubscription(v),
            ) => self.apply_message_start_subscription(key, intent, v)?,
            (ValueType::SignalSubscription, RecordValue::SignalSubscription(v)) => {
                if *intent == Intent::CREATED {
                    let sub = SignalSubscription {
                        key,
                        value: v.clone(),
                    };
                    index_signal_subscription(&mut self.index, &sub, true);
                    self.signal_subscriptions.insert(key, sub);
                } else if *intent == Intent::DELETED {
                    let sub = self
                        .signal_subscriptions
                        .remove(&key)
                        .ok_or(ApplyError::missing(Entity::SignalSubscription, key))?;
                    index_signal_subscription(&mut self.index, &sub, false);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn apply_process_created(&mut self, p: &zeebe::record::ProcessValue) -> Result<(), ApplyError> {
        let invalid = |e: &dyn std::fmt::Display| {
            ApplyError::Invalid(format!("process {} resource: {e}", p.bpmn_process_id))
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&p.resource)
            .map_err(|e| invalid(&e))?;
        let xml = String::from_utf8(bytes).map_err(|e| invalid(&e))?;
        let process = DeployedProcess::new(
            p.process_definition_key,
            p.bpmn_process_id.clone(),
            p.version,
            p.tenant_id.clone(),
            p.resource_name.clone(),
            p.checksum.clone(),
            xml,
        )?;
        let id = (p.tenant_id.clone(), p.bpmn_process_id.clone());
        let max = self.max_versions.entry(id.clone()).or_default();
        *max = (*max).max(p.version);
        let keys = self.versions.entry(id).or_default();
        keys.push(p.process_definition_key);
        keys.sort_by_key(|k| {
            if *k == p.process_definition_key {
                p.version
            } else {
                self.processes.get(k).map_or(0, |p| p.version)
            }
        });
        self.processes
            .insert(p.process_definition_key, Arc::new(process));
        Ok(())
    }

    /// A deleted definition starts no more instances: it leaves the version list, so the
    /// previous version becomes the latest.
    fn apply_process_deleting(&mut self, definition_key: i64) -> Result<(), ApplyError> {
        let process = self.definition(definition_key)?;
        let id = (process.tenant_id.clone(), process.bpmn_process_id.clone());
        if let Some(keys) = self.versions.get_mut(&id) {
            keys.retain(|k| *k != definition_key);
            if keys.is_empty() {
                self.versions.remove(&id);
            }
        }
        Ok(())
    }

    fn apply_incident(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &zeebe::record::IncidentValue,
    ) -> Result<(), ApplyError> {
        let job_key = key::from_wire(v.job_key);
        if *intent == Intent::CREATED {
            self.incidents.insert(
                key,
                Incident {
                    key,
                    value: v.clone(),
                },
            );
            if let Some(job_key) = job_key {
                self.set_job_state(job_key, JobState::Failed)?;
            }
        } else if *intent == Intent::RESOLVED {
            self.incidents
                .remove(&key)
                .ok_or(ApplyError::Inconsistent(format!(
                    "incident {key} is resolved but was not open"
                )))?;
            // The job is gone when its element instance was terminated: terminating
            // cancels the job before it resolves the incidents.
            if let Some(job) = job_key.and_then(|k| self.jobs.get(&k))
                && job.value.retries > 0
            {
                self.set_job_state(job.key, JobState::Activatable)?;
            }
        }
        Ok(())
    }

    fn apply_process_message_subscription(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &ProcessMessageSubscriptionValue,
    ) -> Result<(), ApplyError> {
        if *intent == Intent::CREATED {
            let sub = MessageSubscription {
                key,
                value: v.clone(),
            };
            index_message_subscription(&mut self.index, &sub, true);
            self.message_subscriptions.insert(key, sub);
        } else if *intent == Intent::DELETED || (*intent == Intent::CORRELATED && v.interrupting) {
            let sub = self
                .message_subscriptions
                .remove(&key)
                .ok_or(ApplyError::missing(Entity::MessageSubscription, key))?;
            index_message_subscription(&mut self.index, &sub, false);
        }
        Ok(())
    }

    fn apply_message_start_subscription(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &MessageStartEventSubscriptionValue,
    ) -> Result<(), ApplyError> {
        if *intent == Intent::CREATED {
            self.index
                .start_subscriptions_by_name
                .entry((v.tenant_id.clone(), v.message_name.clone()))
                .or_default()
                .insert(key);
            self.message_start_subscriptions.insert(
                key,
                MessageStartSubscription {
                    key,
                    value: v.clone(),
                },
            );
        } else if *intent == Intent::DELETED {
            if let Some(set) = self
                .index
                .start_subscriptions_by_name
                .get_mut(&(v.tenant_id.clone(), v.message_name.clone()))
            {
                set.remove(&key);
            }
            self.message_start_subscriptions
                .remove(&key)
                .ok_or(ApplyError::missing(Entity::MessageStartSubscription, key))?;
        } else if *intent == Intent::CORRELATED {
            if !v.correlation_key.is_empty() {
                let start = MessageStart {
                    tenant_id: v.tenant_id.clone(),
                    bpmn_process_id: v.bpmn_process_id.clone(),
                    correlation_key: v.correlation_key.clone(),
                };
                self.index
                    .message_start_keys
                    .insert(start.clone(), v.process_instance_key);
                self.message_starts.insert(v.process_instance_key, start);
            }
            self.messages
                .get_mut(&v.message_key)
                .ok_or(ApplyError::missing(Entity::Message, v.message_key))?
                .correlated
                .insert(v.bpmn_process_id.clone());
        }
        Ok(())
    }

    fn apply_element(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &ProcessInstanceValue,
    ) -> Result<(), ApplyError> {
        if *intent == Intent::SEQUENCE_FLOW_TAKEN {
            if self.leads_into_join(v)? {
                let scope = self.element_mut(v.flow_scope_key)?;
                *scope.join_tokens.entry(v.element_id.clone()).or_default() += 1;
            }
            return Ok(());
        }
        match Lifecycle::of_intent(intent) {
            Some(Lifecycle::Activating) => self.element_activating(key, v),
            Some(left @ (Lifecycle::Completed | Lifecycle::Terminated)) => {
                self.element_left(key, left)
            }
            Some(next) => {
                let element = self.element_mut(key)?;
                let from = element.lifecycle;
                element.lifecycle = next;
                check_transition(key, from, next)
            }
            None => Ok(()),
        }
    }

    /// A new element instance: it joins its scope (or, for a process, its caller).
    fn element_activating(&mut self, key: i64, v: &ProcessInstanceValue) -> Result<(), ApplyError> {
        let element_type = ElementType::from(v.bpmn_element_type.as_str());
        let flow_scope_key = key::from_wire(v.flow_scope_key);
        let parent_element_instance_key = key::from_wire(v.parent_element_instance_key);
        let interrupts =
            element_type == ElementType::EventSubProcess && self.starts_interrupting(v)?;
        let joins = matches!(
            element_type,
            ElementType::ParallelGateway | ElementType::InclusiveGateway
        );
        self.elements.insert(
            key,
            ElementInstance {
                key,
                element_id: v.element_id.clone(),
                element_type,
                event_type: EventType::from(v.bpmn_event_type.as_str()),
                lifecycle: Lifecycle::Activating,
                flow_scope_key,
                process_instance_key: v.process_instance_key,
                process_definition_key: v.process_definition_key,
                bpmn_process_id: v.bpmn_process_id.clone(),
                version: v.version,
                tenant_id: v.tenant_id.clone(),
                parent_process_instance_key: key::from_wire(v.parent_process_instance_key),
                parent_element_instance_key,
                children: BTreeSet::new(),
                completed_children: 0,
                terminated_children: 0,
                join_tokens: BTreeMap::new(),
                job_key: None,
                called_instance: None,
                interrupted: false,
            },
        );
        match flow_scope_key {
            Some(scope_key) => {
                let scope = self.element_mut(scope_key)?;
                scope.children.insert(key);
                if interrupts {
                    scope.interrupted = true;
                }
                if joins {
                    self.consume_join_tokens(scope_key, v)?;
                }
            }
            None => {
                *self
                    .index
                    .instances_per_definition
                    .entry(v.process_definition_key)
                    .or_default() += 1;
                if let Some(caller) = parent_element_instance_key {
                    self.element_mut(caller)?.called_instance = Some(key);
                }
            }
        }
        Ok(())
    }

    /// An element instance completed or was terminated: it leaves the state and its
    /// scope (or, for a process, its caller).
    fn element_left(&mut self, key: i64, to: Lifecycle) -> Result<(), ApplyError> {
        self.variables.remove(&key);
        let element = self
            .elements
            .remove(&key)
            .ok_or(ApplyError::missing(Entity::ElementInstance, key))?;
        // Its job was completed or cancelled before it left; this only keeps the job
        // index tidy should a log say otherwise.
        if let Some(job_key) = element.job_key
            && let Some(job) = self.jobs.remove(&job_key)
            && let Some(due) = job.due()
        {
            self.index.job_due.remove(&(due, job_key));
        }
        match element.flow_scope_key {
            Some(scope_key) => {
                let scope = self.element_mut(scope_key)?;
                scope.children.remove(&key);
                if to == Lifecycle::Completed {
                    scope.completed_children += 1;
                } else {
                    scope.terminated_children += 1;
                }
            }
            None => {
                if let Some(n) = self
                    .index
                    .instances_per_definition
                    .get_mut(&element.process_definition_key)
                {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.index
                            .instances_per_definition
                            .remove(&element.process_definition_key);
                    }
                }
                // Only instances started by a message with a correlation key are here.
                if let Some(start) = self.message_starts.remove(&key) {
                    self.index.message_start_keys.remove(&start);
                }
                if let Some(caller_key) = element.parent_element_instance_key {
                    let caller = self.element_mut(caller_key)?;
                    if caller.called_instance == Some(key) {
                        caller.called_instance = None;
                    }
                }
            }
        }
        check_transition(key, element.lifecycle, to)
    }

    fn starts_interrupting(&self, v: &ProcessInstanceValue) -> Result<bool, ApplyError> {
        let process = self.definition(v.process_definition_key)?;
        Ok(process
            .process()
            .and_then(|p| process.model.start_of(p, &v.element_id))
            .and_then(|start| start.event())
            .is_some_and(bpmn::Event::interrupting))
    }

    /// Whether a taken sequence flow leads into a gateway that joins several flows.
    fn leads_into_join(&self, v: &ProcessInstanceValue) -> Result<bool, ApplyError> {
        let process = self.definition(v.process_definition_key)?;
        let flow = process.required_flow(&v.element_id)?;
        let target = process.required_node(flow.target_ref.as_str())?;
        Ok(is_join(process, target))
    }

    /// A joining gateway consumes one token of every incoming flow that has one.
    fn consume_join_tokens(
        &mut self,
        scope_key: i64,
        v: &ProcessInstanceValue,
    ) -> Result<(), ApplyError> {
        let process = self.definition(v.process_definition_key)?;
        let node = process.required_node(&v.element_id)?;
        if !is_join(process, node) {
            return Ok(());
        }
        let incoming: Vec<String> = process.model.incoming(&v.element_id).to_vec();
        let scope = self.element_mut(scope_key)?;
        for flow in incoming {
            if let Some(count) = scope.join_tokens.get_mut(&flow) {
                *count -= 1;
                if *count == 0 {
                    scope.join_tokens.remove(&flow);
                }
            }
        }
        Ok(())
    }

    fn set_job_state(&mut self, key: i64, state: JobState) -> Result<(), ApplyError> {
        let job = self
            .jobs
            .get_mut(&key)
            .ok_or(ApplyError::missing(Entity::Job, key))?;
        if let Some(due) = job.due() {
            self.index.job_due.remove(&(due, key));
        }
        job.state = state;
        if let Some(due) = job.due() {
            self.index.job_due.insert((due, key));
        }
        Ok(())
    }

    fn apply_job(&mut self, key: i64, intent: &Intent, v: &JobValue) -> Result<(), ApplyError> {
        if *intent == Intent::CREATED {
            self.jobs.insert(
                key,
                Job {
                    key,
                    state: JobState::Activatable,
                    value: v.clone(),
                },
            );
            self.element_mut(v.element_instance_key)?.job_key = Some(key);
            return Ok(());
        }
        let job = self
            .jobs
            .get_mut(&key)
            .ok_or(ApplyError::missing(Entity::Job, key))?;
        if let Some(due) = job.due() {
            self.index.job_due.remove(&(due, key));
        }
        if *intent == Intent::COMPLETED || *intent == Intent::CANCELED {
            self.jobs.remove(&key);
            self.element_mut(v.element_instance_key)?.job_key = None;
            return Ok(());
        }
        if *intent == Intent::FAILED {
            job.value.retries = v.retries;
            job.value.retry_backoff = v.retry_backoff;
            job.value.recurring_time = v.recurring_time;
            job.value.error_message.clone_from(&v.error_message);
            job.value.deadline = -1;
            job.value.worker.clear();
            job.state = if v.retries <= 0 {
                JobState::Failed
            } else if v.retry_backoff > 0 {
                JobState::BackingOff
            } else {
                JobState::Activatable
            };
        } else if *intent == Intent::TIMED_OUT || intent.as_str() == "RECURRED_AFTER_BACKOFF" {
            job.value.deadline = -1;
            job.value.worker.clear();
            job.state = JobState::Activatable;
        } else if *intent == Intent::RETRIES_UPDATED {
            job.value.retries = v.retries;
        } else if *intent == Intent::TIMEOUT_UPDATED {
            job.value.deadline = v.deadline;
        } else if *intent == Intent::ERROR_THROWN {
            job.value.error_code.clone_from(&v.error_code);
            job.value.error_message.clone_from(&v.error_message);
            job.state = JobState::ErrorThrown;
        }
        if let Some(due) = job.due() {
            self.index.job_due.insert((due, key));
        }
        Ok(())
    }

    fn apply_job_batch(&mut self, v: &Value) -> Result<(), ApplyError> {
        let malformed =
            |what: &str| ApplyError::Inconsistent(format!("a job batch without {what}"));
        let jobs = v
            .get("jobs")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("jobs"))?;
        let keys = v
            .get("jobKeys")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("job keys"))?;
        for (i, job) in jobs.iter().enumerate() {
            let key = keys
                .get(i)
                .and_then(Value::as_i64)
                .ok_or_else(|| malformed("a key for each job"))?;
            let state = self
                .jobs
                .get_mut(&key)
                .ok_or(ApplyError::missing(Entity::Job, key))?;
            if let Some(due) = state.due() {
                self.index.job_due.remove(&(due, key));
            }
            state.state = JobState::Activated;
            state.value.deadline = job.get("deadline").and_then(Value::as_i64).unwrap_or(-1);
            state.value.timeout = job.get("timeout").and_then(Value::as_i64).unwrap_or(-1);
            state.value.worker = job
                .get("worker")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(due) = state.due() {
                self.index.job_due.insert((due, key));
            }
        }
        Ok(())
    }
}

/// A transition the lifecycle does not allow is reported; the state follows the record
/// all the same, as the log is the source of truth.
fn check_transition(key: i64, from: Lifecycle, to: Lifecycle) -> Result<(), ApplyError> {
    if from.can_become(to) {
        Ok(())
    } else {
        Err(ApplyError::Transition { key, from, to })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;
    use zeebe::record::{
        ElementType, Intent, ProcessInstanceValue, Record, RecordType, RecordValue, RejectionType,
        ValueType,
    };

    use crate::state::{ApplyError, Entity, Lifecycle, State};

    const PI: i64 = 2_251_799_813_685_249;

    fn element_record(position: i64, intent: Intent) -> Record {
        Record {
            partition_id: 1,
            position,
            source_record_position: -1,
            key: PI,
            timestamp: 0,
            record_type: RecordType::Event,
            value_type: ValueType::ProcessInstance,
            intent,
            rejection_type: RejectionType::NullVal,
            rejection_reason: String::new(),
            broker_version: String::new(),
            record_version: 1,
            operation_reference: -1,
            authorizations: None,
            value: RecordValue::ProcessInstance(ProcessInstanceValue {
                bpmn_process_id: "p".into(),
                version: 1,
                process_definition_key: PI - 1,
                process_instance_key: PI,
                element_id: "p".into(),
                flow_scope_key: -1,
                bpmn_element_type: "PROCESS".into(),
                bpmn_event_type: "UNSPECIFIED".into(),
                parent_process_instance_key: -1,
                parent_element_instance_key: -1,
                extra: Map::new(),
                ..ProcessInstanceValue::default()
            }),
            extra: Map::new(),
        }
    }

    #[test]
    fn records_are_read_into_the_typed_state() {
        let mut state = State::new(1);
        state
            .apply(&element_record(1, Intent::ELEMENT_ACTIVATING))
            .unwrap();
        let element = &state.elements[&PI];
        assert_eq!(element.element_type, ElementType::Process);
        assert_eq!(element.flow_scope_key, None);
        assert_eq!(element.parent_element_instance_key, None);
        assert_eq!(element.lifecycle, Lifecycle::Activating);
        assert_eq!(state.running_instances(PI - 1), 1);
    }

    #[test]
    fn a_record_about_an_instance_that_is_not_there_is_a_broken_invariant() {
        let mut state = State::new(1);
        let error = state
            .apply(&element_record(1, Intent::ELEMENT_ACTIVATED))
            .unwrap_err();
        assert_eq!(error, ApplyError::missing(Entity::ElementInstance, PI));
        assert!(error.is_broken_invariant());
        assert_eq!(state.last_position, 1, "the position moves on all the same");
    }

    #[test]
    fn a_transition_the_lifecycle_does_not_allow_is_applied_and_reported() {
        let mut state = State::new(1);
        state
            .apply(&element_record(1, Intent::ELEMENT_ACTIVATING))
            .unwrap();
        let error = state
            .apply(&element_record(2, Intent::ELEMENT_COMPLETING))
            .unwrap_err();
        assert_eq!(
            error,
            ApplyError::Transition {
                key: PI,
                from: Lifecycle::Activating,
                to: Lifecycle::Completing,
            }
        );
        assert_eq!(state.elements[&PI].lifecycle, Lifecycle::Completing);
    }
}
