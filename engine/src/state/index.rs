//! The lookups the state derives from its entities (due dates, subscriptions by message
//! name, what each element instance owns, …). [`State::apply`] keeps them up to date
//! with these functions, and [`State::rebuild_indexes`] builds them afresh after a
//! snapshot is loaded; they are never stored.
//!
//! [`State::apply`]: super::State::apply
//! [`State::rebuild_indexes`]: super::State::rebuild_indexes

use std::collections::{BTreeSet, HashMap};

use zeebe::record::TenantId;

use super::{
    BufferedMessage, MessageAddress, MessageStart, MessageSubscription, Owned, SignalSubscription,
    Timer,
};

/// Lookups derived from the state's entities.
#[derive(Debug, Default)]
pub(super) struct Indexes {
    pub(super) timer_due: BTreeSet<(i64, i64)>,
    pub(super) job_due: BTreeSet<(i64, i64)>,
    pub(super) message_due: BTreeSet<(i64, i64)>,
    pub(super) owned: HashMap<i64, BTreeSet<Owned>>,
    pub(super) messages_by_address: HashMap<MessageAddress, BTreeSet<i64>>,
    pub(super) subscriptions_by_address: HashMap<MessageAddress, BTreeSet<i64>>,
    pub(super) start_subscriptions_by_name: HashMap<(TenantId, String), BTreeSet<i64>>,
    pub(super) signal_subscriptions_by_name: HashMap<(TenantId, String), BTreeSet<i64>>,
    pub(super) message_start_keys: HashMap<MessageStart, i64>,
    pub(super) instances_per_definition: HashMap<i64, usize>,
}

pub(super) fn index_timer(index: &mut Indexes, timer: &Timer, add: bool) {
    let due = (timer.value.due_date, timer.key);
    if add {
        index.timer_due.insert(due);
        if let Some(owner) = timer.owner() {
            index
                .owned
                .entry(owner)
                .or_default()
                .insert(Owned::Timer(timer.key));
        }
    } else {
        index.timer_due.remove(&due);
        if let Some(owner) = timer.owner() {
            remove_owned(index, owner, Owned::Timer(timer.key));
        }
    }
}

pub(super) fn index_message(index: &mut Indexes, message: &BufferedMessage, add: bool) {
    let address = (
        message.value.tenant_id.clone(),
        message.value.name.clone(),
        message.value.correlation_key.clone(),
    );
    let due = (message.deadline, message.key);
    if add {
        index.message_due.insert(due);
        index
            .messages_by_address
            .entry(address)
            .or_default()
            .insert(message.key);
    } else {
        index.message_due.remove(&due);
        if let Some(set) = index.messages_by_address.get_mut(&address) {
            set.remove(&message.key);
            if set.is_empty() {
                index.messages_by_address.remove(&address);
            }
        }
    }
}

pub(super) fn index_message_subscription(
    index: &mut Indexes,
    sub: &MessageSubscription,
    add: bool,
) {
    let address = (
        sub.value.tenant_id.clone(),
        sub.value.message_name.clone(),
        sub.value.correlation_key.clone(),
    );
    let owner = sub.value.element_instance_key;
    if add {
        index
            .subscriptions_by_address
            .entry(address)
            .or_default()
            .insert(sub.key);
        index
            .owned
            .entry(owner)
            .or_default()
            .insert(Owned::Message(sub.key));
    } else {
        if let Some(set) = index.subscriptions_by_address.get_mut(&address) {
            set.remove(&sub.key);
            if set.is_empty() {
                index.subscriptions_by_address.remove(&address);
            }
        }
        remove_owned(index, owner, Owned::Message(sub.key));
    }
}

pub(super) fn index_signal_subscription(index: &mut Indexes, sub: &SignalSubscription, add: bool) {
    let name = (sub.value.tenant_id.clone(), sub.value.signal_name.clone());
    if add {
        index
            .signal_subscriptions_by_name
            .entry(name)
            .or_default()
            .insert(sub.key);
        if let Some(owner) = sub.owner() {
            index
                .owned
                .entry(owner)
                .or_default()
                .insert(Owned::Signal(sub.key));
        }
    } else {
        if let Some(set) = index.signal_subscriptions_by_name.get_mut(&name) {
            set.remove(&sub.key);
            if set.is_empty() {
                index.signal_subscriptions_by_name.remove(&name);
            }
        }
        if let Some(owner) = sub.owner() {
            remove_owned(index, owner, Owned::Signal(sub.key));
        }
    }
}

fn remove_owned(index: &mut Indexes, owner: i64, owned: Owned) {
    if let Some(set) = index.owned.get_mut(&owner) {
        set.remove(&owned);
        if set.is_empty() {
            index.owned.remove(&owner);
        }
    }
}
