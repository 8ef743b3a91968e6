//! Messages: publishing, buffering with a time to live, and correlation.
//!
//! A published message correlates at once to:
//!
//! * the message start events of the latest version of each process with a matching
//!   name, unless an instance of that process started by a message with the same
//!   (non-empty) correlation key is still active — then the message stays buffered, and
//!   starts the next instance when that one ends;
//! * open subscriptions (catch events, receive tasks, boundary events, event
//!   sub-process starts, event-based gateways) with the same name and correlation key,
//!   oldest first.
//!
//! A message correlates at most once per process (BPMN process id): two instances of
//! the same process waiting for it do not both get it. A message with a time to live
//! stays buffered until it expires, and a subscription that opens later correlates the
//! oldest buffered message it has not already been correlated with. A message id makes
//! a publication unique while a message with that id is buffered.
//!
//! Records follow Zeebe's exporter: `MESSAGE PUBLISHED`/`EXPIRED`; for a subscription
//! `MESSAGE_SUBSCRIPTION CORRELATING`, `PROCESS_MESSAGE_SUBSCRIPTION CORRELATED`,
//! `MESSAGE_SUBSCRIPTION CORRELATED`; for a start event
//! `MESSAGE_START_EVENT_SUBSCRIPTION CORRELATED`.

use serde_json::{Map, Value};
use zeebe::record::{
    Intent, MessageStartEventSubscriptionValue, MessageValue, RecordValue, TenantId,
};

use super::{Ctx, Rejection, Response, events::message_side, variables};
use crate::state::{ApplyError, DeployedProcess, Entity, Lifecycle, MessageStart};

pub(crate) struct Publish<'a> {
    pub(crate) name: &'a str,
    pub(crate) correlation_key: &'a str,
    pub(crate) time_to_live: i64,
    pub(crate) message_id: &'a str,
    pub(crate) variables: &'a Map<String, Value>,
    pub(crate) tenant_id: &'a TenantId,
}

pub(crate) fn publish(ctx: &mut Ctx<'_>, p: &Publish<'_>) -> Result<Response, Rejection> {
    if p.name.is_empty() {
        return Err(Rejection::invalid_argument(
            "expected a message name, but it was empty",
        ));
    }
    if !p.message_id.is_empty()
        && ctx
            .state
            .messages_for(&(
                p.tenant_id.clone(),
                p.name.to_owned(),
                p.correlation_key.to_owned(),
            ))
            .iter()
            .filter_map(|k| ctx.state.messages.get(k))
            .any(|m| m.value.message_id == p.message_id)
    {
        return Err(Rejection::already_exists(format!(
            "expected to publish a new message with id '{}', but a message with that id was already published",
            p.message_id
        )));
    }
    let key = ctx.next_key();
    let value = MessageValue {
        name: p.name.to_owned(),
        correlation_key: p.correlation_key.to_owned(),
        message_id: p.message_id.to_owned(),
        time_to_live: p.time_to_live.max(0),
        deadline: ctx.now.saturating_add(p.time_to_live.max(0)),
        variables: p.variables.clone(),
        tenant_id: p.tenant_id.clone(),
        ..MessageValue::default()
    };
    ctx.event(key, Intent::PUBLISHED, RecordValue::Message(value));
    let outcome = ctx.correlate_published(key);
    ctx.or_broken(None, outcome);
    ctx.run_steps();
    if p.time_to_live <= 0
        && let Some(message) = ctx.state.messages.get(&key)
    {
        let value = message.value.clone();
        ctx.event(key, Intent::EXPIRED, RecordValue::Message(value));
    }
    Ok(Response::MessagePublished {
        key,
        tenant_id: p.tenant_id.clone(),
    })
}

/// Removes messages whose time to live is over.
pub(crate) fn expire(ctx: &mut Ctx<'_>) {
    for key in ctx.state.expired_messages(ctx.now) {
        if let Some(message) = ctx.state.messages.get(&key) {
            let value = message.value.clone();
            ctx.event(key, Intent::EXPIRED, RecordValue::Message(value));
        }
    }
}

/// The message name and correlation key of a subscription to `message_ref`, evaluated
/// against `vars`.
pub(crate) fn subscription_of(
    now: i64,
    process: &DeployedProcess,
    message_ref: Option<&bpmn::Id>,
    element_id: &str,
    vars: &Map<String, Value>,
) -> Result<(String, String), String> {
    let message = message_ref
        .and_then(|r| process.definitions.message(r.as_str()))
        .ok_or_else(|| format!("'{element_id}' references no message"))?;
    let name = message_name(now, message, element_id, vars)?;
    let attr = message
        .base
        .zeebe()
        .subscription
        .as_ref()
        .and_then(|s| s.correlation_key.clone())
        .ok_or_else(|| {
            format!("the message '{name}' of '{element_id}' has no correlation key expression")
        })?;
    let correlation_key = match variables::eval_attribute(now, &attr, vars) {
        Ok(Value::String(s)) => s,
        Ok(Value::Number(n)) => n.to_string(),
        Ok(other) => {
            return Err(format!(
                "Failed to extract the correlation key for '{attr}' of '{element_id}': The value must be either a string or a number, but was '{other}'."
            ));
        }
        Err(e) => {
            return Err(format!(
                "Failed to extract the correlation key for '{attr}' of '{element_id}': {e}"
            ));
        }
    };
    Ok((name, correlation_key))
}

/// The name of a message (static, or a FEEL expression evaluated against `vars`).
pub(crate) fn message_name(
    now: i64,
    message: &bpmn::Message,
    element_id: &str,
    vars: &Map<String, Value>,
) -> Result<String, String> {
    let attr = message
        .name
        .clone()
        .ok_or_else(|| format!("the message of '{element_id}' has no name"))?;
    match variables::eval_attribute(now, &attr, vars)? {
        Value::String(s) if !s.is_empty() => Ok(s),
        other => Err(format!(
            "expected the message name '{attr}' of '{element_id}' to be a non-empty string, but was '{other}'"
        )),
    }
}

/// The message of a start event, if it is a message start event.
fn start_message<'a>(
    process: &'a DeployedProcess,
    node: &bpmn::FlowNode,
) -> Option<&'a bpmn::Message> {
    match crate::model::event_definition(node)? {
        bpmn::EventDefinitionKind::Message { message_ref } => {
            process.definitions.message(message_ref.as_ref()?.as_str())
        }
        _ => None,
    }
}

impl Ctx<'_> {
    /// Correlates a just-published message to start events and subscriptions.
    fn correlate_published(&mut self, message_key: i64) -> Result<(), ApplyError> {
        let value = self.message(message_key)?.value.clone();
        for sub_key in self
            .state
            .start_subscriptions_for(&value.tenant_id, &value.name)
        {
            self.try_start(sub_key, message_key)?;
        }
        let address = (
            value.tenant_id.clone(),
            value.name.clone(),
            value.correlation_key,
        );
        for sub_key in self.state.subscriptions_for(&address) {
            // Triggering an earlier subscription may have closed this one (it belonged
            // to an instance the trigger ended).
            let Some(sub) = self.state.message_subscriptions.get(&sub_key) else {
                continue;
            };
            let already = self
                .message(message_key)?
                .correlated
                .contains(&sub.value.bpmn_process_id);
            if !already {
                self.correlate(sub_key, message_key)?;
            }
        }
        Ok(())
    }

    /// The buffered message `key`, which must be there (it was published or found
    /// buffered by the command at hand, and only expiry removes it).
    fn message(&self, key: i64) -> Result<&crate::state::BufferedMessage, ApplyError> {
        self.state
            .messages
            .get(&key)
            .ok_or(ApplyError::missing(Entity::Message, key))
    }

    /// Starts an instance through a message start event subscription, unless the
    /// message already started one of that process or an instance started with its
    /// correlation key is still active.
    fn try_start(&mut self, sub_key: i64, message_key: i64) -> Result<bool, ApplyError> {
        let sub = self
            .state
            .message_start_subscriptions
            .get(&sub_key)
            .ok_or(ApplyError::missing(
                Entity::MessageStartSubscription,
                sub_key,
            ))?
            .value
            .clone();
        let message = self.message(message_key)?.clone();
        if message.correlated.contains(&sub.bpmn_process_id) {
            return Ok(false);
        }
        let start = MessageStart {
            tenant_id: sub.tenant_id.clone(),
            bpmn_process_id: sub.bpmn_process_id.clone(),
            correlation_key: message.value.correlation_key.clone(),
        };
        if !start.correlation_key.is_empty()
            && self.state.message_started_instance(&start).is_some()
        {
            return Ok(false);
        }
        let process = self.definition(sub.process_definition_key)?;
        if !self.state.is_live(process.key) {
            return Ok(false);
        }
        let instance = self.new_process_instance(&process, None);
        let value = MessageStartEventSubscriptionValue {
            process_instance_key: instance,
            correlation_key: message.value.correlation_key.clone(),
            message_key,
            variables: message.value.variables.clone(),
            ..sub.clone()
        };
        self.event(
            sub_key,
            Intent::CORRELATED,
            RecordValue::MessageStartEventSubscription(value),
        );
        self.activate_process_body(
            instance,
            Some((&sub.start_event_id, &message.value.variables)),
        )?;
        Ok(true)
    }

    /// Correlates a buffered message to a subscription and triggers its event; not when
    /// the subscription's owner no longer waits (it is completing or being terminated).
    pub(crate) fn correlate(&mut self, sub_key: i64, message_key: i64) -> Result<(), ApplyError> {
        let sub = self
            .state
            .message_subscriptions
            .get(&sub_key)
            .ok_or(ApplyError::missing(Entity::MessageSubscription, sub_key))?;
        let message = self.message(message_key)?;
        let owner = sub.value.element_instance_key;
        if self.state.element(owner)?.lifecycle != Lifecycle::Activated {
            return Ok(());
        }
        let mut value = sub.value.clone();
        value.message_key = message_key;
        value.variables = message.value.variables.clone();
        let variables = value.variables.clone();
        let target = value.element_id.clone();
        self.event(
            sub_key,
            Intent::CORRELATING,
            RecordValue::MessageSubscription(message_side(&value)),
        );
        self.event(
            sub_key,
            Intent::CORRELATED,
            RecordValue::ProcessMessageSubscription(value.clone()),
        );
        self.event(
            sub_key,
            Intent::CORRELATED,
            RecordValue::MessageSubscription(message_side(&value)),
        );
        self.trigger_event(owner, &target, &variables)?;
        Ok(())
    }

    /// A subscription just opened: it gets the oldest buffered message for it that was
    /// not already correlated to its process.
    pub(crate) fn correlate_buffered(&mut self, sub_key: i64) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have closed the
        // subscription (its owner was completed or terminated).
        let Some(sub) = self.state.message_subscriptions.get(&sub_key) else {
            return Ok(());
        };
        let address = (
            sub.value.tenant_id.clone(),
            sub.value.message_name.clone(),
            sub.value.correlation_key.clone(),
        );
        let process_id = sub.value.bpmn_process_id.clone();
        let now = self.now;
        let candidate = self.state.messages_for(&address).into_iter().find(|k| {
            self.state
                .messages
                .get(k)
                .is_some_and(|m| m.deadline > now && !m.correlated.contains(&process_id))
        });
        match candidate {
            Some(message_key) => self.correlate(sub_key, message_key),
            None => Ok(()),
        }
    }

    /// An instance started by a keyed message ended: a buffered message with the same
    /// key may start the next one.
    pub(crate) fn correlate_after_instance_ended(
        &mut self,
        start: &MessageStart,
    ) -> Result<(), ApplyError> {
        let subs: Vec<i64> = self
            .state
            .message_start_subscriptions
            .values()
            .filter(|s| {
                s.value.tenant_id == start.tenant_id
                    && s.value.bpmn_process_id == start.bpmn_process_id
            })
            .map(|s| s.key)
            .collect();
        let now = self.now;
        for sub_key in subs {
            let name = self
                .state
                .message_start_subscriptions
                .get(&sub_key)
                .ok_or(ApplyError::missing(
                    Entity::MessageStartSubscription,
                    sub_key,
                ))?
                .value
                .message_name
                .clone();
            let address = (start.tenant_id.clone(), name, start.correlation_key.clone());
            let candidate = self.state.messages_for(&address).into_iter().find(|k| {
                self.state.messages.get(k).is_some_and(|m| {
                    m.deadline > now && !m.correlated.contains(&start.bpmn_process_id)
                })
            });
            if let Some(message_key) = candidate
                && self.try_start(sub_key, message_key)?
            {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Opens the message start event subscriptions of `process` (its latest version).
    pub(crate) fn open_start_messages(&mut self, process: &DeployedProcess) {
        let Some(model) = process.process() else {
            return;
        };
        for start in model.content.start_events() {
            let Some(message) = start_message(process, start) else {
                continue;
            };
            let Ok(name) = message_name(self.now, message, start.id.as_str(), &Map::new()) else {
                continue;
            };
            let value = MessageStartEventSubscriptionValue {
                process_definition_key: process.key,
                bpmn_process_id: process.bpmn_process_id.clone(),
                start_event_id: start.id.as_str().to_owned(),
                message_name: name,
                tenant_id: process.tenant_id.clone(),
                ..MessageStartEventSubscriptionValue::default()
            };
            let key = self.next_key();
            self.event(
                key,
                Intent::CREATED,
                RecordValue::MessageStartEventSubscription(value),
            );
        }
    }

    /// Closes the message start event subscriptions of a definition.
    pub(crate) fn close_start_messages(&mut self, definition_key: i64) {
        let subs: Vec<(i64, MessageStartEventSubscriptionValue)> = self
            .state
            .message_start_subscriptions
            .values()
            .filter(|s| s.value.process_definition_key == definition_key)
            .map(|s| (s.key, s.value.clone()))
            .collect();
        for (key, value) in subs {
            self.event(
                key,
                Intent::DELETED,
                RecordValue::MessageStartEventSubscription(value),
            );
        }
    }
}

/// Checks the message start events of a process at deployment: names must evaluate
/// without variables and be unique within the process.
pub(crate) fn check_start_messages(
    now: i64,
    defs: &bpmn::Definitions,
    process: &bpmn::Process,
) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for start in process.content.start_events() {
        let Some(bpmn::EventDefinitionKind::Message { message_ref }) =
            crate::model::event_definition(start)
        else {
            continue;
        };
        let message = message_ref
            .as_ref()
            .and_then(|r| defs.message(r.as_str()))
            .ok_or_else(|| format!("start event '{}' references no message", start.id.as_str()))?;
        let name = message_name(now, message, start.id.as_str(), &Map::new())?;
        if !names.insert(name.clone()) {
            return Err(format!(
                "process '{}' has more than one message start event for the message '{name}'",
                process.id.as_str()
            ));
        }
    }
    Ok(())
}
