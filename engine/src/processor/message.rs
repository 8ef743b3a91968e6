//! Messages: buffered with a time to live; a duplicate message id is rejected while the
//! first message is buffered. Correlation to subscriptions comes with message events.

use serde_json::{Map, Value};
use zeebe::record::{Intent, MessageValue, RecordValue, TenantId};

use super::{Ctx, Rejection, Response};

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
        && ctx.state.messages.values().any(|m| {
            m.value.message_id == p.message_id
                && m.value.name == p.name
                && m.value.correlation_key == p.correlation_key
                && &m.value.tenant_id == p.tenant_id
        })
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
    if p.time_to_live <= 0 {
        expire(ctx);
    }
    Ok(Response::MessagePublished {
        key,
        tenant_id: p.tenant_id.clone(),
    })
}

/// Removes messages whose time to live is over.
pub(crate) fn expire(ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let due: Vec<(i64, MessageValue)> = ctx
        .state
        .messages
        .values()
        .filter(|m| m.deadline <= now)
        .map(|m| (m.key, m.value.clone()))
        .collect();
    for (key, value) in due {
        ctx.event(key, Intent::EXPIRED, RecordValue::Message(value));
    }
}
