//! Timers: evaluating timer definitions, firing due timers on [`Command::Tick`], and the
//! timer start events of the latest version of each process.
//!
//! A timer record names its owner (`elementInstanceKey`, -1 for a start event) and its
//! target element. When it is due, `TIMER TRIGGERED` is written and the target is
//! triggered like any event (see [`super::events`]); a timer start event starts a new
//! instance. A cycle whose trigger does not end its owner (non-interrupting boundary
//! events and event sub-processes, start events) is scheduled again with one repetition
//! less, as a new timer. Due dates live in the state, so they survive a restart.
//!
//! [`Command::Tick`]: super::Command::Tick

use bpmn::{EventDefinitionKind, TimerDefinition};
use serde_json::{Map, Value};
use zeebe::record::{Intent, RecordValue, TimerValue};

use super::{Ctx, variables};
use crate::{
    key, model,
    schedule::{self, TimerSpec},
    state::{ApplyError, DeployedProcess, Lifecycle},
};

/// At most this many timers fire in one tick; the rest fire on the next one, which the
/// runtime schedules at once because they are still due.
const MAX_TIMERS_PER_TICK: usize = 1_000;

/// Evaluates a timer definition against `vars` (FEEL `=…` or a static ISO-8601 value).
pub(crate) fn spec_of(
    now: i64,
    timer: &TimerDefinition,
    vars: &Map<String, Value>,
    element_id: &str,
) -> Result<TimerSpec, String> {
    let (kind, text) = schedule::timer_expression(timer)
        .ok_or_else(|| format!("the timer of '{element_id}' has no date, duration or cycle"))?;
    let spec = match feel::expression_of_attribute(text) {
        Some(src) => {
            let value = variables::eval_feel(now, src, vars)?;
            schedule::spec_of_value(kind, &value)
        }
        None => schedule::parse_spec(kind, text),
    };
    spec.map_err(|why| format!("the timer of '{element_id}': {why}"))
}

/// The timer definition of an event node.
pub(crate) fn definition_of(node: &bpmn::FlowNode) -> Option<&TimerDefinition> {
    match model::event_definition(node)? {
        EventDefinitionKind::Timer(timer) => Some(timer),
        _ => None,
    }
}

/// Fires the timers that are due.
pub(crate) fn tick(ctx: &mut Ctx<'_>) {
    let due = ctx.state.due_timers(ctx.now);
    for key in due.into_iter().take(MAX_TIMERS_PER_TICK) {
        // Firing one timer may end the owner of another one due in the same tick, which
        // cancels that timer: it is no longer there when its turn comes.
        let Some(timer) = ctx.state.timers.get(&key).map(|t| t.value.clone()) else {
            continue;
        };
        let owner = key::from_wire(timer.element_instance_key);
        let outcome = ctx.fire_timer(key, &timer);
        ctx.or_broken(owner, outcome);
        ctx.run_steps();
    }
}

impl Ctx<'_> {
    fn fire_timer(&mut self, key: i64, value: &TimerValue) -> Result<(), ApplyError> {
        self.event(key, Intent::TRIGGERED, RecordValue::Timer(value.clone()));
        let process = self.definition(value.process_definition_key)?;
        let node = process.required_node(&value.target_element_id)?;
        let Some(owner) = key::from_wire(value.element_instance_key) else {
            // A timer start event.
            if self.state.is_live(process.key) {
                self.start_process(
                    &process,
                    Some((&value.target_element_id, &Map::new())),
                    &Map::new(),
                    None,
                )?;
                self.reschedule(&process, node, value, &Map::new());
            }
            return Ok(());
        };
        let interrupting = super::events::is_interrupting(node);
        if !self.trigger_event(owner, &value.target_element_id, &Map::new())? {
            return Ok(());
        }
        // A non-interrupting trigger leaves the owner waiting, unless what the trigger
        // started ended it already.
        let still_waiting = !interrupting
            && self
                .state
                .element_if_present(owner)
                .is_some_and(|e| e.lifecycle == Lifecycle::Activated);
        if still_waiting {
            let vars = self.state.visible_variables(owner);
            self.reschedule(&process, node, value, &vars);
        }
        Ok(())
    }

    /// Schedules the next due date of a cycle, if it has one left.
    fn reschedule(
        &mut self,
        process: &DeployedProcess,
        node: &bpmn::FlowNode,
        fired: &TimerValue,
        vars: &Map<String, Value>,
    ) {
        let Some(definition) = definition_of(node) else {
            return;
        };
        let Ok(spec) = spec_of(self.now, definition, vars, node.id.as_str()) else {
            return;
        };
        if let Some((due, repetitions)) = spec.next(fired.due_date, fired.repetitions, self.now) {
            let value = TimerValue {
                due_date: due,
                repetitions,
                process_definition_key: process.key,
                ..fired.clone()
            };
            let key = self.next_key();
            self.event(key, Intent::CREATED, RecordValue::Timer(value));
        }
    }

    /// Schedules the timer start events of `process` (its latest version was deployed).
    pub(crate) fn open_start_timers(&mut self, process: &DeployedProcess) {
        let Some(model) = process.process() else {
            return;
        };
        for start in model.content.start_events() {
            let Some(definition) = definition_of(start) else {
                continue;
            };
            let Ok(spec) = spec_of(self.now, definition, &Map::new(), start.id.as_str()) else {
                continue;
            };
            let Some((due, repetitions)) = spec.first(self.now) else {
                continue;
            };
            let value = TimerValue {
                element_instance_key: key::NONE,
                process_instance_key: key::NONE,
                process_definition_key: process.key,
                due_date: due,
                target_element_id: start.id.as_str().to_owned(),
                repetitions,
                tenant_id: process.tenant_id.clone(),
                extra: Map::new(),
            };
            let key = self.next_key();
            self.event(key, Intent::CREATED, RecordValue::Timer(value));
        }
    }

    /// Cancels the timer start events of a definition.
    pub(crate) fn close_start_timers(&mut self, definition_key: i64) {
        let timers: Vec<(i64, TimerValue)> = self
            .state
            .timers
            .values()
            .filter(|t| t.value.process_definition_key == definition_key && t.owner().is_none())
            .map(|t| (t.key, t.value.clone()))
            .collect();
        for (key, value) in timers {
            self.event(key, Intent::CANCELED, RecordValue::Timer(value));
        }
    }
}
