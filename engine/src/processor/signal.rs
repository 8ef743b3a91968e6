//! Signals: broadcast to every subscription with the signal's name, at once and without
//! buffering.
//!
//! Signal start events of the latest version of a process are subscribed when it is
//! deployed (`catchEventInstanceKey` -1) and start a new instance per broadcast; signal
//! catch events, boundary events and event sub-process starts subscribe while their
//! owner is active (see [`super::events`]). A broadcast writes `SIGNAL BROADCASTED`,
//! then triggers the subscriptions that were open when it arrived, oldest first. Signal
//! throw and end events broadcast the same way, with the throw event's local variables
//! (its input mappings) as the signal's variables.

use serde_json::{Map, Value};
use zeebe::record::{Intent, RecordValue, SignalSubscriptionValue, SignalValue, TenantId};

use super::{Ctx, Rejection, Response, variables};
use crate::{
    key,
    state::{ApplyError, DeployedProcess},
};

pub(crate) fn broadcast_command(
    ctx: &mut Ctx<'_>,
    name: &str,
    variables: &Map<String, Value>,
    tenant_id: &TenantId,
) -> Result<Response, Rejection> {
    if name.is_empty() {
        return Err(Rejection::invalid_argument(
            "expected a signal name, but it was empty",
        ));
    }
    let key = ctx.broadcast_signal(name, variables, tenant_id);
    ctx.run_steps();
    Ok(Response::SignalBroadcast {
        key,
        tenant_id: tenant_id.clone(),
    })
}

/// The name of the signal an event node refers to (static, or FEEL against `vars`).
pub(crate) fn signal_name(
    now: i64,
    process: &DeployedProcess,
    node: &bpmn::FlowNode,
    vars: &Map<String, Value>,
) -> Result<String, String> {
    let id = node.id.as_str();
    let signal = match crate::model::event_definition(node) {
        Some(bpmn::EventDefinitionKind::Signal { signal_ref }) => signal_ref
            .as_ref()
            .and_then(|r| process.definitions.signal(r.as_str())),
        _ => None,
    }
    .ok_or_else(|| format!("'{id}' references no signal"))?;
    let attr = signal
        .name
        .clone()
        .ok_or_else(|| format!("the signal of '{id}' has no name"))?;
    match variables::eval_attribute(now, &attr, vars)? {
        Value::String(s) if !s.is_empty() => Ok(s),
        other => Err(format!(
            "expected the signal name '{attr}' of '{id}' to be a non-empty string, but was '{other}'"
        )),
    }
}

impl Ctx<'_> {
    /// Broadcasts a signal for a command; returns its key. A broken invariant met on the
    /// way is reported (see [`Ctx::broken`]) and the signal stays broadcast.
    fn broadcast_signal(
        &mut self,
        name: &str,
        variables: &Map<String, Value>,
        tenant_id: &TenantId,
    ) -> i64 {
        let key = self.next_key();
        let outcome = self.broadcast_as(key, name, variables, tenant_id);
        self.or_broken(None, outcome);
        key
    }

    /// Broadcasts a signal; returns its key.
    pub(crate) fn broadcast(
        &mut self,
        name: &str,
        variables: &Map<String, Value>,
        tenant_id: &TenantId,
    ) -> Result<i64, ApplyError> {
        let key = self.next_key();
        self.broadcast_as(key, name, variables, tenant_id)?;
        Ok(key)
    }

    fn broadcast_as(
        &mut self,
        key: i64,
        name: &str,
        variables: &Map<String, Value>,
        tenant_id: &TenantId,
    ) -> Result<(), ApplyError> {
        let value = SignalValue {
            signal_name: name.to_owned(),
            variables: variables.clone(),
            tenant_id: tenant_id.clone(),
            extra: Map::new(),
        };
        self.event(key, Intent::BROADCASTED, RecordValue::Signal(value));
        for sub_key in self.state.signal_subscriptions_for(tenant_id, name) {
            // Triggering an earlier subscription may have closed this one (it belonged
            // to an instance the trigger ended).
            let Some(sub) = self.state.signal_subscriptions.get(&sub_key) else {
                continue;
            };
            let owner = sub.owner();
            let sub = sub.value.clone();
            match owner {
                Some(owner) => {
                    self.trigger_event(owner, &sub.catch_event_id, variables)?;
                }
                None => {
                    let process = self.definition(sub.process_definition_key)?;
                    if self.state.is_live(process.key) {
                        self.start_process(
                            &process,
                            Some((&sub.catch_event_id, variables)),
                            &Map::new(),
                            None,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Subscribes the signal start events of `process` (its latest version).
    pub(crate) fn open_start_signals(&mut self, process: &DeployedProcess) {
        let Some(model) = process.process() else {
            return;
        };
        for start in model.content.start_events() {
            if !matches!(
                crate::model::event_definition(start),
                Some(bpmn::EventDefinitionKind::Signal { .. })
            ) {
                continue;
            }
            let Ok(name) = signal_name(self.now, process, start, &Map::new()) else {
                continue;
            };
            let value = SignalSubscriptionValue {
                process_definition_key: process.key,
                bpmn_process_id: process.bpmn_process_id.clone(),
                catch_event_id: start.id.as_str().to_owned(),
                catch_event_instance_key: key::NONE,
                signal_name: name,
                tenant_id: process.tenant_id.clone(),
                extra: Map::new(),
            };
            let key = self.next_key();
            self.event(key, Intent::CREATED, RecordValue::SignalSubscription(value));
        }
    }

    /// Deletes the signal start event subscriptions of a definition.
    pub(crate) fn close_start_signals(&mut self, definition_key: i64) {
        let subs: Vec<(i64, SignalSubscriptionValue)> = self
            .state
            .signal_subscriptions
            .values()
            .filter(|s| s.value.process_definition_key == definition_key && s.owner().is_none())
            .map(|s| (s.key, s.value.clone()))
            .collect();
        for (key, value) in subs {
            self.event(key, Intent::DELETED, RecordValue::SignalSubscription(value));
        }
    }

    /// Opens the start event triggers of the latest version of a process, and closes
    /// those of the version it replaces.
    pub(crate) fn replace_start_events(
        &mut self,
        previous: Option<i64>,
        latest: Option<&DeployedProcess>,
    ) {
        if let Some(previous) = previous {
            self.close_start_timers(previous);
            self.close_start_messages(previous);
            self.close_start_signals(previous);
        }
        if let Some(latest) = latest {
            self.open_start_timers(latest);
            self.open_start_messages(latest);
            self.open_start_signals(latest);
        }
    }
}
