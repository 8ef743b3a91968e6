//! Scenario tests of events and structure: timers, messages, signals, errors and
//! escalations, sub-processes, event sub-processes, call activities, multi-instance,
//! inclusive and event-based gateways. Time is moved explicitly (see `support`); every
//! scenario ends by checking that a replay of its records rebuilds the same state.
//!
//! One file of scenarios over one shared harness; the test names say which event each covers.

mod support;

use engine::processor::{
    ActivateInstruction, Command, ProcessSelector, Response, VariableInstruction,
};
use serde_json::{Value, json};
use support::{Harness, NOW, bpmn, chain, flow, obj, process, task};
use zeebe::record::{ElementType, RecordValue, RejectionType, TenantId};

const MINUTE: i64 = 60_000;

fn timer_catch(id: &str, kind: &str, value: &str) -> String {
    format!(
        r#"<bpmn:intermediateCatchEvent id="{id}"><bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
    )
}

fn boundary(id: &str, attached: &str, interrupting: bool, definition: &str) -> String {
    format!(
        r#"<bpmn:boundaryEvent id="{id}" attachedToRef="{attached}" cancelActivity="{interrupting}">{definition}</bpmn:boundaryEvent>"#
    )
}

fn timer(kind: &str, value: &str) -> String {
    format!(
        r#"<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"#
    )
}

const MESSAGE_PAID: &str = r#"<bpmn:messageEventDefinition messageRef="Msg"/>"#;
const SIGNAL: &str = r#"<bpmn:signalEventDefinition signalRef="Sig"/>"#;

fn start() -> String {
    r#"<bpmn:startEvent id="start"/>"#.to_owned()
}

fn end(id: &str) -> String {
    format!(r#"<bpmn:endEvent id="{id}"/>"#)
}

fn timer_due_dates(h: &Harness) -> Vec<i64> {
    h.records("TIMER", "CREATED")
        .iter()
        .filter_map(|r| match &r.value {
            RecordValue::Timer(t) => Some(t.due_date),
            _ => None,
        })
        .collect()
}

// --- timers ------------------------------------------------------------------------

#[test]
fn timer_catch_event_fires_at_its_due_date_and_not_before() {
    let xml = bpmn(&format!(
        "{}{}{}{}",
        start(),
        timer_catch("wait", "timeDuration", "PT10M"),
        end("done"),
        chain(&["start", "wait", "done"])
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    assert_eq!(timer_due_dates(&h), [NOW + 10 * MINUTE]);
    let created = &h.records("TIMER", "CREATED")[0].value;
    let RecordValue::Timer(t) = created else {
        panic!()
    };
    assert_eq!(t.target_element_id, "wait");
    assert_eq!(t.process_instance_key, pi);
    assert_eq!(t.element_instance_key, h.active("wait"));
    assert_eq!(h.state.next_due(), Some(NOW + 10 * MINUTE));
    h.advance(10 * MINUTE - 1);
    assert!(!h.instance_completed(pi));
    h.advance(1);
    assert!(h.instance_completed(pi));
    assert_eq!(h.records("TIMER", "TRIGGERED").len(), 1);
    assert_eq!(h.state.next_due(), None);
    h.assert_replays();
}

#[test]
fn timer_dates_and_feel_timer_expressions() {
    let xml = bpmn(&format!(
        "{}{}{}{}{}",
        start(),
        timer_catch("at-midnight", "timeDate", "2023-11-15T00:00:00Z"),
        timer_catch("computed", "timeDuration", "=wait"),
        end("done"),
        chain(&["start", "at-midnight", "computed", "done"])
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"wait": "PT30S"}));
    let midnight = engine::schedule::parse_date_time("2023-11-15T00:00:00Z").unwrap();
    assert_eq!(timer_due_dates(&h), [midnight]);
    h.now = midnight;
    h.advance(0);
    assert_eq!(timer_due_dates(&h), [midnight, midnight + 30_000]);
    h.advance(30_000);
    assert!(h.instance_completed(pi));

    // A FEEL timer that does not evaluate to a duration raises an incident.
    let pi = h.create("p", json!({"wait": 42}));
    h.now = midnight + 1;
    h.advance(0);
    let incident = &h.open_incidents()[0];
    assert_eq!(incident.value.error_type, "EXTRACT_VALUE_ERROR");
    assert_eq!(incident.value.element_id, "computed");
    h.run(&Command::SetVariables {
        element_instance_key: pi,
        variables: obj(json!({"wait": "PT1S"})),
        local: false,
    })
    .unwrap();
    h.run(&Command::ResolveIncident {
        incident_key: incident.key,
    })
    .unwrap();
    h.advance(1_000);
    assert!(h.instance_completed(pi));
    h.assert_replays();
}

#[test]
fn interrupting_timer_boundary_terminates_the_task_or_is_cancelled_with_it() {
    let xml = bpmn(&format!(
        "{}{}{}{}{}{}{}",
        start(),
        task("work", "work"),
        boundary("timeout", "work", true, &timer("timeDuration", "PT1H")),
        end("done"),
        end("timed-out"),
        chain(&["start", "work", "done"]),
        flow("f-timeout", "timeout", "timed-out"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let slow = h.create("p", json!({}));
    h.advance(MINUTE);
    assert_eq!(h.active_count("work"), 1);
    h.advance(59 * MINUTE);
    assert!(h.instance_completed(slow));
    assert_eq!(h.terminations("work"), 1);
    assert_eq!(h.completions("timed-out"), 1);
    assert!(h.state.jobs.is_empty(), "the job was cancelled");
    assert_eq!(h.records("JOB", "CANCELED").len(), 1);

    let fast = h.create("p", json!({}));
    assert_eq!(h.work("work", json!({})), 1);
    assert!(h.instance_completed(fast));
    assert_eq!(h.records("TIMER", "CANCELED").len(), 1);
    assert!(h.state.timers.is_empty());
    h.assert_replays();
}

#[test]
fn non_interrupting_cycle_boundary_repeats_while_the_task_waits() {
    let xml = bpmn(&format!(
        "{}{}{}{}{}{}{}",
        start(),
        task("approve", "approve"),
        boundary("remind", "approve", false, &timer("timeCycle", "R3/PT10M")),
        end("approved"),
        end("reminded"),
        chain(&["start", "approve", "approved"]),
        flow("f-remind", "remind", "reminded"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    for n in 1..=4 {
        h.advance(10 * MINUTE);
        assert_eq!(h.completions("reminded"), n.min(3), "after {n} cycles");
    }
    let repetitions: Vec<i32> = h
        .records("TIMER", "CREATED")
        .iter()
        .filter_map(|r| match &r.value {
            RecordValue::Timer(t) => Some(t.repetitions),
            _ => None,
        })
        .collect();
    assert_eq!(repetitions, [3, 2, 1]);
    assert_eq!(h.active_count("approve"), 1, "the task was not interrupted");
    h.work("approve", json!({}));
    assert!(h.instance_completed(pi));
    h.assert_replays();
}

#[test]
fn timer_start_events_start_instances_and_move_to_the_latest_version() {
    let cycle = |value: &str| {
        bpmn(&format!(
            r#"<bpmn:startEvent id="tick">{}</bpmn:startEvent>{}{}"#,
            timer("timeCycle", value),
            end("done"),
            flow("f", "tick", "done")
        ))
    };
    let mut h = Harness::new();
    let v1 = h.deploy(&cycle("R2/PT1M"));
    let RecordValue::Timer(t) = &h.records("TIMER", "CREATED")[0].value else {
        panic!()
    };
    assert_eq!((t.element_instance_key, t.process_instance_key), (-1, -1));
    assert_eq!(t.process_definition_key, v1);
    h.advance(MINUTE);
    h.advance(MINUTE);
    h.advance(MINUTE);
    assert_eq!(h.completions("done"), 2, "R2 starts two instances");
    assert!(h.state.timers.is_empty());

    let v2 = h.deploy(&cycle("R/PT1M"));
    h.advance(MINUTE);
    let v3 = h.deploy(&cycle("R/PT5M"));
    assert_eq!(
        h.records("TIMER", "CANCELED").len(),
        1,
        "v2's timer cancelled"
    );
    assert!(
        h.state
            .timers
            .values()
            .all(|t| t.value.process_definition_key == v3)
    );
    assert_ne!(v2, v3);
    h.advance(5 * MINUTE);
    assert_eq!(h.completions("done"), 4);
    // The date of a start event cannot come from process variables: it is evaluated at
    // deployment, and a timer start duration is refused like in Zeebe.
    let bad = bpmn(&format!(
        r#"<bpmn:startEvent id="tick">{}</bpmn:startEvent>{}{}"#,
        timer("timeCycle", "every minute"),
        end("done"),
        flow("f", "tick", "done")
    ));
    let err = h.deploy_as("bad.bpmn", &bad).unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidArgument);
    h.assert_replays();
}

// --- messages ----------------------------------------------------------------------

fn message_catch_process() -> String {
    bpmn(&format!(
        r#"{}<bpmn:intermediateCatchEvent id="wait-paid">{MESSAGE_PAID}</bpmn:intermediateCatchEvent>{}{}"#,
        start(),
        end("done"),
        chain(&["start", "wait-paid", "done"])
    ))
}

#[test]
fn message_catch_correlates_by_name_and_correlation_key() {
    let mut h = Harness::new();
    h.deploy(&message_catch_process());
    let pi = h.create("p", json!({"orderId": "o-1"}));
    let RecordValue::MessageSubscription(sub) =
        &h.records("MESSAGE_SUBSCRIPTION", "CREATED")[0].value
    else {
        panic!()
    };
    assert_eq!(
        (sub.message_name.as_str(), sub.correlation_key.as_str()),
        ("paid", "o-1")
    );
    assert_eq!(
        h.records("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED").len(),
        1
    );
    h.publish("paid", "o-2", 0, json!({}));
    h.publish("other", "o-1", 0, json!({}));
    assert!(!h.instance_completed(pi));
    h.publish("paid", "o-1", 0, json!({"amount": 5}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.last_variable(pi, "amount"), Some(json!(5)));
    assert_eq!(h.records("MESSAGE_SUBSCRIPTION", "CORRELATED").len(), 1);
    assert_eq!(
        h.records("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED")
            .len(),
        1
    );
    assert_eq!(
        h.records("MESSAGE", "EXPIRED").len(),
        3,
        "messages without a time to live are not buffered"
    );
    // A number is a valid correlation key; a list is not.
    let numeric = h.create("p", json!({"orderId": 17}));
    h.publish("paid", "17", 0, json!({}));
    assert!(h.instance_completed(numeric));
    h.create("p", json!({"orderId": [1]}));
    assert_eq!(
        h.open_incidents()[0].value.error_type,
        "EXTRACT_VALUE_ERROR"
    );
    h.assert_replays();
}

#[test]
fn buffered_messages_correlate_when_the_subscription_opens_until_they_expire() {
    let mut h = Harness::new();
    h.deploy(&message_catch_process());
    h.publish("paid", "o-1", MINUTE, json!({"early": true}));
    let pi = h.create("p", json!({"orderId": "o-1"}));
    assert!(h.instance_completed(pi), "the buffered message correlated");
    assert_eq!(h.last_variable(pi, "early"), Some(json!(true)));
    // The message stays buffered, but correlates once per process only.
    let second = h.create("p", json!({"orderId": "o-1"}));
    assert!(!h.instance_completed(second));
    h.advance(MINUTE);
    assert_eq!(h.records("MESSAGE", "EXPIRED").len(), 1);
    assert!(h.state.messages.is_empty());
    h.publish("paid", "o-1", 0, json!({}));
    assert!(h.instance_completed(second));
    h.assert_replays();
}

#[test]
fn one_message_correlates_to_one_instance_per_process() {
    let mut h = Harness::new();
    h.deploy(&message_catch_process());
    let a = h.create("p", json!({"orderId": "o-1"}));
    let b = h.create("p", json!({"orderId": "o-1"}));
    h.publish("paid", "o-1", MINUTE, json!({}));
    assert!(h.instance_completed(a));
    assert!(
        !h.instance_completed(b),
        "the same message does not correlate twice"
    );
    h.publish("paid", "o-1", MINUTE, json!({}));
    assert!(h.instance_completed(b));
    h.assert_replays();
}

#[test]
fn message_ids_are_unique_while_buffered() {
    let mut h = Harness::new();
    h.publish_with_id("paid", "o-1", MINUTE, "m-1", json!({}))
        .unwrap();
    let err = h
        .publish_with_id("paid", "o-1", MINUTE, "m-1", json!({}))
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::AlreadyExists);
    h.publish_with_id("paid", "o-2", MINUTE, "m-1", json!({}))
        .expect("another correlation key is another message");
    h.advance(MINUTE);
    h.publish_with_id("paid", "o-1", MINUTE, "m-1", json!({}))
        .expect("the first one expired");
    h.assert_replays();
}

#[test]
fn message_start_events_are_unique_per_correlation_key_while_an_instance_runs() {
    let xml = bpmn(&format!(
        r#"<bpmn:startEvent id="placed"><bpmn:messageEventDefinition messageRef="Start"/></bpmn:startEvent>{}{}{}"#,
        task("handle", "handle"),
        end("done"),
        chain(&["placed", "handle", "done"])
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    assert_eq!(
        h.records("MESSAGE_START_EVENT_SUBSCRIPTION", "CREATED")
            .len(),
        1
    );
    h.publish("order-placed", "c-1", MINUTE, json!({"n": 1}));
    assert_eq!(h.active_count("handle"), 1);
    let RecordValue::MessageStartEventSubscription(correlated) =
        &h.records("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED")[0].value
    else {
        panic!()
    };
    let first = correlated.process_instance_key;
    assert_eq!(h.variable(first, "n"), Some(json!(1)));
    // Same key while the first runs: buffered, no second instance.
    h.publish("order-placed", "c-1", MINUTE, json!({"n": 2}));
    assert_eq!(h.active_count("handle"), 1);
    // Another key, or none, starts at once.
    h.publish("order-placed", "c-2", 0, json!({"n": 3}));
    h.publish("order-placed", "", 0, json!({"n": 4}));
    assert_eq!(h.active_count("handle"), 3);
    // When the first ends, the buffered message starts the next instance.
    let job = h
        .activate("handle")
        .into_iter()
        .find(|j| j.job.process_instance_key == first)
        .unwrap();
    h.complete(job.key, json!({}));
    assert!(h.instance_completed(first));
    let starts = h.records("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED");
    assert_eq!(starts.len(), 4);
    let RecordValue::MessageStartEventSubscription(last) = &starts[3].value else {
        panic!()
    };
    assert_eq!(h.variable(last.process_instance_key, "n"), Some(json!(2)));
    // Creating an instance by command needs a none start event.
    let err = h.try_create("p", json!({})).unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidArgument);
    h.assert_replays();
}

#[test]
fn receive_task_and_message_boundary_events() {
    let xml = bpmn(&format!(
        r#"{}<bpmn:receiveTask id="await-payment" messageRef="Msg"/>{}{}{}{}{}"#,
        start(),
        boundary(
            "cancelled",
            "await-payment",
            true,
            r#"<bpmn:messageEventDefinition messageRef="Cancel"/>"#
        ),
        end("paid-end"),
        end("cancelled-end"),
        chain(&["start", "await-payment", "paid-end"]),
        flow("f-cancel", "cancelled", "cancelled-end"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let paid = h.create("p", json!({"orderId": "a"}));
    let cancelled = h.create("p", json!({"orderId": "b"}));
    assert_eq!(h.records("MESSAGE_SUBSCRIPTION", "CREATED").len(), 4);
    h.publish("paid", "a", 0, json!({}));
    h.publish("cancel", "b", 0, json!({"why": "customer"}));
    assert!(h.instance_completed(paid));
    assert!(h.instance_completed(cancelled));
    assert_eq!(h.completions("paid-end"), 1);
    assert_eq!(h.completions("cancelled-end"), 1);
    assert_eq!(h.last_variable(cancelled, "why"), Some(json!("customer")));
    assert!(h.state.message_subscriptions.is_empty());
    assert_eq!(h.records("MESSAGE_SUBSCRIPTION", "DELETED").len(), 2);
    h.assert_replays();
}

#[test]
fn non_interrupting_message_boundary_correlates_several_messages() {
    let xml = bpmn(&format!(
        "{}{}{}{}{}{}{}",
        start(),
        task("work", "work"),
        boundary("note", "work", false, MESSAGE_PAID),
        end("done"),
        end("noted"),
        chain(&["start", "work", "done"]),
        flow("f-note", "note", "noted"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"orderId": "x"}));
    h.publish("paid", "x", 0, json!({}));
    h.publish("paid", "x", 0, json!({}));
    assert_eq!(h.completions("noted"), 2);
    assert_eq!(h.active_count("work"), 1);
    h.work("work", json!({}));
    assert!(h.instance_completed(pi));
    h.assert_replays();
}

// --- signals -----------------------------------------------------------------------

#[test]
fn signals_start_instances_and_trigger_catch_and_boundary_events() {
    let starter = process(
        "on-alarm",
        &format!(
            r#"<bpmn:startEvent id="alarm-start">{SIGNAL}</bpmn:startEvent>{}{}"#,
            end("started"),
            flow("f", "alarm-start", "started")
        ),
    );
    let waiter = bpmn(&format!(
        r#"{}<bpmn:intermediateCatchEvent id="wait-alarm">{SIGNAL}</bpmn:intermediateCatchEvent>{}{}{}{}{}"#,
        start(),
        task("work", "work"),
        boundary("abort", "work", true, SIGNAL),
        end("done"),
        chain(&["start", "wait-alarm", "work", "done"]),
        flow("f-abort", "abort", "done"),
    ));
    let mut h = Harness::new();
    h.deploy_as("starter.bpmn", &starter).unwrap();
    h.deploy(&waiter);
    let RecordValue::SignalSubscription(start_sub) =
        &h.records("SIGNAL_SUBSCRIPTION", "CREATED")[0].value
    else {
        panic!()
    };
    assert_eq!(start_sub.catch_event_instance_key, -1);
    let pi = h.create("p", json!({}));
    h.signal("alarm", json!({"level": 3}));
    assert_eq!(h.completions("started"), 1);
    assert_eq!(h.completions("wait-alarm"), 1);
    assert_eq!(h.variable(pi, "level"), Some(json!(3)));
    assert_eq!(
        h.active_count("work"),
        1,
        "the boundary opened after the signal"
    );
    h.signal("alarm", json!({}));
    assert!(
        h.instance_completed(pi),
        "the boundary event interrupted the task"
    );
    assert_eq!(h.completions("started"), 2);
    assert_eq!(h.records("SIGNAL", "BROADCASTED").len(), 2);
    let err = h
        .run(&Command::BroadcastSignal {
            name: String::new(),
            variables: obj(json!({})),
            tenant_id: TenantId::default(),
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidArgument);
    h.assert_replays();
}

#[test]
fn signal_throw_events_broadcast_with_their_input_mappings() {
    let listener = process(
        "listener",
        &format!(
            r#"<bpmn:startEvent id="heard">{SIGNAL}</bpmn:startEvent>{}{}"#,
            end("l-end"),
            flow("f", "heard", "l-end")
        ),
    );
    let thrower = bpmn(&format!(
        r#"{}<bpmn:intermediateThrowEvent id="raise"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=severity" target="level"/></zeebe:ioMapping></bpmn:extensionElements>{SIGNAL}</bpmn:intermediateThrowEvent>{}{}"#,
        start(),
        end("done"),
        chain(&["start", "raise", "done"])
    ));
    let mut h = Harness::new();
    h.deploy_as("listener.bpmn", &listener).unwrap();
    h.deploy(&thrower);
    let pi = h.create("p", json!({"severity": "high"}));
    assert!(h.instance_completed(pi));
    let started = h.state.elements.len();
    assert_eq!(started, 0);
    assert_eq!(h.completions("l-end"), 1);
    let RecordValue::Signal(signal) = &h.records("SIGNAL", "BROADCASTED")[0].value else {
        panic!()
    };
    assert_eq!(signal.variables.get("level"), Some(&json!("high")));
    h.assert_replays();
}

// --- errors and escalations --------------------------------------------------------

fn sub_process(id: &str, body: &str) -> String {
    format!(r#"<bpmn:subProcess id="{id}">{body}</bpmn:subProcess>"#)
}

#[test]
fn error_end_event_is_caught_by_a_boundary_event_of_its_sub_process() {
    let inner = format!(
        r#"<bpmn:startEvent id="s-start"/>{}<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent>{}"#,
        task("try", "try"),
        chain(&["s-start", "try", "fail"])
    );
    let xml = bpmn(&format!(
        r#"{}{}{}{}{}{}{}"#,
        start(),
        sub_process("attempt", &inner),
        boundary(
            "on-error",
            "attempt",
            true,
            r#"<bpmn:errorEventDefinition errorRef="Err"/>"#
        ),
        end("ok"),
        end("recovered"),
        chain(&["start", "attempt", "ok"]),
        flow("f-err", "on-error", "recovered"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    h.work("try", json!({}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.terminations("attempt"), 1);
    assert_eq!(h.completions("recovered"), 1);
    assert_eq!(h.completions("ok"), 0);
    h.assert_replays();
}

#[test]
fn errors_are_caught_by_event_sub_processes_by_code_or_catch_all_else_incident() {
    let esp = |error_ref: &str| {
        format!(
            r#"<bpmn:subProcess id="handler" triggeredByEvent="true"><bpmn:startEvent id="h-start"><bpmn:errorEventDefinition {error_ref}/></bpmn:startEvent>{}{}</bpmn:subProcess>"#,
            end("handled"),
            flow("fh", "h-start", "handled")
        )
    };
    let with = |error_ref: &str| {
        bpmn(&format!(
            "{}{}{}{}{}",
            start(),
            task("risky", "risky"),
            end("done"),
            chain(&["start", "risky", "done"]),
            esp(error_ref)
        ))
    };
    let mut h = Harness::new();
    h.deploy(&with(r#"errorRef="Err""#));
    let pi = h.create("p", json!({}));
    let job = h.activate("risky")[0].key;
    h.run(&Command::ThrowError {
        job_key: job,
        error_code: "boom".into(),
        error_message: "it broke".into(),
        variables: obj(json!({"reason": "disk"})),
    })
    .unwrap();
    assert!(h.instance_completed(pi));
    assert_eq!(h.completions("handled"), 1);
    // The error's variables stay on the catching event (output mappings would map them).
    let catch = h
        .log
        .iter()
        .find(|r| matches!(&r.value, RecordValue::ProcessInstance(v) if v.element_id == "h-start"))
        .unwrap()
        .key;
    assert_eq!(h.last_variable(catch, "reason"), Some(json!("disk")));
    assert_eq!(h.last_variable(pi, "reason"), None);
    let RecordValue::ProcessInstance(v) = &h
        .records("PROCESS_INSTANCE", "ELEMENT_ACTIVATING")
        .into_iter()
        .find(|r| matches!(&r.value, RecordValue::ProcessInstance(v) if v.element_id == "handler"))
        .unwrap()
        .value
    else {
        panic!()
    };
    assert_eq!(v.bpmn_element_type, "EVENT_SUB_PROCESS");

    // Another code is not caught by the specific handler: incident.
    let uncaught = h.create("p", json!({}));
    let job = h.activate("risky")[0].key;
    h.run(&Command::ThrowError {
        job_key: job,
        error_code: "other".into(),
        error_message: String::new(),
        variables: obj(json!({})),
    })
    .unwrap();
    assert!(!h.instance_completed(uncaught));
    assert_eq!(
        h.open_incidents()[0].value.error_type,
        "UNHANDLED_ERROR_EVENT"
    );
    h.run(&Command::CancelInstance {
        process_instance_key: uncaught,
    })
    .unwrap();

    // A catch-all handler (an error without code) catches any code.
    h.deploy(&with(r#"errorRef="AnyErr""#));
    let pi = h.create("p", json!({}));
    let job = h.activate("risky")[0].key;
    h.run(&Command::ThrowError {
        job_key: job,
        error_code: "anything".into(),
        error_message: String::new(),
        variables: obj(json!({})),
    })
    .unwrap();
    assert!(h.instance_completed(pi));

    // An error end event nobody catches raises an incident on the end event.
    let xml = bpmn(&format!(
        r#"{}<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent>{}"#,
        start(),
        flow("f", "start", "fail")
    ));
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    let incident = h.open_incidents()[0].clone();
    assert_eq!(incident.value.error_type, "UNHANDLED_ERROR_EVENT");
    assert_eq!(incident.value.element_id, "fail");
    assert!(!h.instance_completed(pi));
    h.assert_replays();
}

#[test]
fn escalations_non_interrupting_by_boundary_interrupting_by_event_sub_process_or_not_caught() {
    let inner = format!(
        r#"<bpmn:startEvent id="s-start"/><bpmn:intermediateThrowEvent id="escalate"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:intermediateThrowEvent>{}{}"#,
        task("carry-on", "carry-on"),
        chain(&["s-start", "escalate", "carry-on"])
    );
    let xml = bpmn(&format!(
        "{}{}{}{}{}{}{}",
        start(),
        sub_process("work", &inner),
        boundary(
            "notify",
            "work",
            false,
            r#"<bpmn:escalationEventDefinition escalationRef="Esc"/>"#
        ),
        end("done"),
        task("manager", "manager"),
        chain(&["start", "work", "done"]),
        flow("f-notify", "notify", "manager"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    assert_eq!(h.records("ESCALATION", "ESCALATED").len(), 1);
    let RecordValue::Escalation(e) = &h.records("ESCALATION", "ESCALATED")[0].value else {
        panic!()
    };
    assert_eq!(
        (
            e.escalation_code.as_str(),
            e.throw_element_id.as_str(),
            e.catch_element_id.as_str()
        ),
        ("late", "escalate", "notify")
    );
    assert_eq!(h.active_count("carry-on"), 1, "the thrower continued");
    assert_eq!(
        h.active_count("manager"),
        1,
        "the boundary path runs beside it"
    );
    h.work("carry-on", json!({}));
    h.work("manager", json!({}));
    assert!(h.instance_completed(pi));

    // Without a catch event the escalation is NOT_ESCALATED and the process goes on.
    let uncaught = bpmn(&format!(
        r#"{}<bpmn:intermediateThrowEvent id="escalate"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:intermediateThrowEvent>{}{}"#,
        start(),
        end("done"),
        chain(&["start", "escalate", "done"])
    ));
    h.deploy(&uncaught);
    let pi = h.create("p", json!({}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.records("ESCALATION", "NOT_ESCALATED").len(), 1);

    // An interrupting escalation event sub-process terminates the rest of the scope.
    let interrupting = bpmn(&format!(
        r#"{}<bpmn:parallelGateway id="fork"/>{}<bpmn:endEvent id="raise"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:endEvent>{}{}{}<bpmn:subProcess id="esc-handler" triggeredByEvent="true"><bpmn:startEvent id="e-start"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:startEvent>{}{}</bpmn:subProcess>"#,
        start(),
        task("long", "long"),
        end("done"),
        chain(&["start", "fork", "long", "done"]),
        flow("f-raise", "fork", "raise"),
        end("escalated"),
        flow("fe", "e-start", "escalated"),
    ));
    h.deploy(&interrupting);
    let pi = h.create("p", json!({}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.completions("escalated"), 1);
    assert!(h.state.jobs.is_empty(), "the long task was terminated");
    h.assert_replays();
}

// --- sub-processes and event sub-processes -----------------------------------------

#[test]
fn embedded_sub_process_scopes_variables_and_maps_outputs() {
    let inner = format!(
        "<bpmn:startEvent id=\"s-start\"/>{}{}",
        task("inner", "inner"),
        chain(&["s-start", "inner"])
    );
    let xml = bpmn(&format!(
        r#"{}<bpmn:subProcess id="sub"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=base * 2" target="local"/><zeebe:output source="=local + result" target="total"/></zeebe:ioMapping></bpmn:extensionElements>{inner}</bpmn:subProcess>{}{}"#,
        start(),
        end("done"),
        chain(&["start", "sub", "done"])
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"base": 10}));
    let sub = h.active("sub");
    let jobs = h.activate("inner");
    assert_eq!(jobs[0].job.variables.get("local"), Some(&json!(20)));
    assert_eq!(jobs[0].job.element_instance_key, h.active("inner"));
    assert_eq!(
        h.state.elements[&h.active("inner")].flow_scope_key,
        Some(sub)
    );
    h.complete(jobs[0].key, json!({"result": 1}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.last_variable(pi, "total"), Some(json!(21)));
    h.assert_replays();
}

#[test]
fn event_sub_processes_interrupt_or_run_beside_the_scope() {
    let xml = bpmn(&format!(
        r#"{}{}{}{}
        <bpmn:subProcess id="reminder" triggeredByEvent="true"><bpmn:startEvent id="r-start" isInterrupting="false">{}</bpmn:startEvent>{}{}</bpmn:subProcess>
        <bpmn:subProcess id="cancellation" triggeredByEvent="true"><bpmn:startEvent id="c-start">{}</bpmn:startEvent>{}{}</bpmn:subProcess>"#,
        start(),
        task("work", "work"),
        end("done"),
        chain(&["start", "work", "done"]),
        timer("timeCycle", "R/PT1H"),
        end("reminded"),
        flow("fr", "r-start", "reminded"),
        r#"<bpmn:messageEventDefinition messageRef="Cancel"/>"#,
        end("cancelled"),
        flow("fc", "c-start", "cancelled"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"orderId": "o-9"}));
    h.advance(60 * MINUTE);
    h.advance(60 * MINUTE);
    assert_eq!(h.completions("reminded"), 2);
    assert_eq!(h.active_count("work"), 1);
    h.publish("cancel", "o-9", 0, json!({}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.terminations("work"), 1);
    assert_eq!(h.completions("cancelled"), 1);
    assert!(h.state.timers.is_empty(), "the reminder cycle was closed");
    assert!(h.state.message_subscriptions.is_empty());
    h.assert_replays();
}

// --- call activities ---------------------------------------------------------------

fn parent_process() -> String {
    process(
        "parent",
        &format!(
            r#"{}<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>{}{}"#,
            start(),
            end("done"),
            chain(&["start", "call", "done"])
        ),
    )
}

fn child_process(job_type: &str) -> String {
    process(
        "child",
        &format!(
            "{}{}{}{}",
            start(),
            task("child-work", job_type),
            end("child-done"),
            chain(&["start", "child-work", "child-done"])
        ),
    )
}

#[test]
fn call_activity_runs_the_latest_child_and_propagates_variables() {
    let mut h = Harness::new();
    h.deploy_as("child.bpmn", &child_process("old")).unwrap();
    h.deploy_as("child.bpmn", &child_process("child-work"))
        .unwrap();
    h.deploy_as("parent.bpmn", &parent_process()).unwrap();
    let parent = h.create("parent", json!({"order": 7}));
    let call = h.active("call");
    let jobs = h.activate("child-work");
    assert_eq!(jobs.len(), 1, "the latest version of the child runs");
    let child = jobs[0].job.process_instance_key;
    assert_eq!(jobs[0].job.variables.get("order"), Some(&json!(7)));
    let child_records: Vec<&zeebe::record::ProcessInstanceValue> = h
        .log
        .iter()
        .filter_map(|r| match &r.value {
            RecordValue::ProcessInstance(v) if v.process_instance_key == child => Some(v),
            _ => None,
        })
        .collect();
    assert!(
        child_records
            .iter()
            .all(|v| v.parent_process_instance_key == parent
                && v.parent_element_instance_key == call)
    );
    let err = h
        .run(&Command::CancelInstance {
            process_instance_key: child,
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidState);
    h.complete(jobs[0].key, json!({"shipped": true}));
    assert!(h.instance_completed(child));
    assert!(h.instance_completed(parent));
    assert_eq!(h.last_variable(parent, "shipped"), Some(json!(true)));
    h.assert_replays();
}

#[test]
fn cancelling_the_parent_terminates_the_child_and_a_missing_child_is_an_incident() {
    let mut h = Harness::new();
    h.deploy_as("parent.bpmn", &parent_process()).unwrap();
    let parent = h.create("parent", json!({}));
    let incident = h.open_incidents()[0].clone();
    assert_eq!(incident.value.error_type, "CALLED_ELEMENT_ERROR");
    h.deploy_as("child.bpmn", &child_process("child-work"))
        .unwrap();
    h.run(&Command::ResolveIncident {
        incident_key: incident.key,
    })
    .unwrap();
    let child = h.activate("child-work")[0].job.process_instance_key;
    h.run(&Command::CancelInstance {
        process_instance_key: parent,
    })
    .unwrap();
    assert!(h.instance_terminated(child));
    assert!(h.instance_terminated(parent));
    assert!(h.state.elements.is_empty() && h.state.jobs.is_empty());
    h.assert_replays();
}

#[test]
fn errors_from_a_called_process_are_caught_at_the_call_activity() {
    let parent = process(
        "parent",
        &format!(
            r#"{}<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>{}{}{}{}{}"#,
            start(),
            boundary(
                "failed",
                "call",
                true,
                r#"<bpmn:errorEventDefinition errorRef="Err"/>"#
            ),
            end("done"),
            end("compensated"),
            chain(&["start", "call", "done"]),
            flow("ff", "failed", "compensated")
        ),
    );
    let mut h = Harness::new();
    h.deploy_as("child.bpmn", &child_process("child-work"))
        .unwrap();
    h.deploy_as("parent.bpmn", &parent).unwrap();
    let pi = h.create("parent", json!({}));
    let job = h.activate("child-work")[0].clone();
    h.run(&Command::ThrowError {
        job_key: job.key,
        error_code: "boom".into(),
        error_message: String::new(),
        variables: obj(json!({})),
    })
    .unwrap();
    assert!(h.instance_terminated(job.job.process_instance_key));
    assert!(h.instance_completed(pi));
    assert_eq!(h.completions("compensated"), 1);
    h.assert_replays();
}

// --- multi-instance ----------------------------------------------------------------

fn multi_instance(sequential: bool, completion: &str) -> String {
    bpmn(&format!(
        r#"{}<bpmn:serviceTask id="review"><bpmn:extensionElements><zeebe:taskDefinition type="review"/></bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=reviewers" inputElement="reviewer" outputCollection="verdicts" outputElement="=verdict"/></bpmn:extensionElements>{completion}</bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>{}{}"#,
        start(),
        end("done"),
        chain(&["start", "review", "done"])
    ))
}

#[test]
fn parallel_multi_instance_collects_outputs_in_input_order() {
    let mut h = Harness::new();
    h.deploy(&multi_instance(false, ""));
    let pi = h.create("p", json!({"reviewers": ["ann", "bob", "cy"]}));
    let body = h
        .state
        .elements
        .values()
        .find(|e| e.element_type == ElementType::MultiInstanceBody)
        .unwrap()
        .key;
    let mut jobs = h.activate("review");
    assert_eq!(jobs.len(), 3);
    jobs.sort_by_key(|j| j.job.variables["loopCounter"].as_i64());
    let reviewers: Vec<&Value> = jobs.iter().map(|j| &j.job.variables["reviewer"]).collect();
    assert_eq!(reviewers, [&json!("ann"), &json!("bob"), &json!("cy")]);
    assert!(
        jobs.iter()
            .all(|j| h.state.elements[&j.job.element_instance_key].flow_scope_key == Some(body))
    );
    // Complete out of order; the output keeps the input order.
    for job in jobs.iter().rev() {
        let verdict = format!("ok-{}", job.job.variables["reviewer"].as_str().unwrap());
        h.complete(job.key, json!({"verdict": verdict}));
    }
    assert!(h.instance_completed(pi));
    assert_eq!(
        h.last_variable(pi, "verdicts"),
        Some(json!(["ok-ann", "ok-bob", "ok-cy"]))
    );
    assert_eq!(
        h.variable(pi, "verdict"),
        None,
        "each instance wrote its own local"
    );
    // An empty collection skips the activity with an empty output.
    let empty = h.create("p", json!({"reviewers": []}));
    assert!(h.instance_completed(empty));
    assert_eq!(h.last_variable(empty, "verdicts"), Some(json!([])));
    // Not a list: an incident on the body.
    h.create("p", json!({"reviewers": "ann"}));
    let incident = &h.open_incidents()[0];
    assert_eq!(incident.value.error_type, "EXTRACT_VALUE_ERROR");
    assert!(
        incident.value.error_message.contains("ARRAY"),
        "{}",
        incident.value.error_message
    );
    h.assert_replays();
}

#[test]
fn sequential_multi_instance_with_a_completion_condition() {
    let condition = r#"<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">=numberOfCompletedInstances &gt;= 2</bpmn:completionCondition>"#;
    let mut h = Harness::new();
    h.deploy(&multi_instance(true, condition));
    let pi = h.create("p", json!({"reviewers": ["ann", "bob", "cy"]}));
    for expected in ["ann", "bob"] {
        let jobs = h.activate("review");
        assert_eq!(jobs.len(), 1, "one instance at a time");
        assert_eq!(jobs[0].job.variables["reviewer"], json!(expected));
        h.complete(jobs[0].key, json!({"verdict": expected}));
    }
    assert!(h.instance_completed(pi), "two of three were enough");
    assert_eq!(
        h.last_variable(pi, "verdicts"),
        Some(json!(["ann", "bob", null]))
    );
    h.assert_replays();
}

#[test]
fn parallel_multi_instance_completion_condition_terminates_the_rest() {
    let condition = r#"<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">=verdict = "reject"</bpmn:completionCondition>"#;
    let mut h = Harness::new();
    h.deploy(&multi_instance(false, condition));
    let pi = h.create("p", json!({"reviewers": ["ann", "bob", "cy"]}));
    let jobs = h.activate("review");
    h.complete(jobs[0].key, json!({"verdict": "ok"}));
    assert!(!h.instance_completed(pi));
    h.complete(jobs[1].key, json!({"verdict": "reject"}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.terminations("review"), 1);
    assert!(h.state.jobs.is_empty());
    h.assert_replays();
}

// --- gateways ----------------------------------------------------------------------

fn conditional(id: &str, from: &str, to: &str, condition: &str) -> String {
    format!(
        r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"#
    )
}

#[test]
fn inclusive_gateway_forks_by_conditions_and_joins_only_the_taken_paths() {
    let xml = bpmn(&format!(
        r#"{}<bpmn:inclusiveGateway id="fork" default="f-salad"/>{}{}{}<bpmn:inclusiveGateway id="join"/>{}{}{}{}{}{}{}{}{}"#,
        start(),
        task("pasta", "pasta"),
        task("steak", "steak"),
        task("salad", "salad"),
        end("served"),
        flow("f0", "start", "fork"),
        conditional(
            "f-pasta",
            "fork",
            "pasta",
            "=list contains(courses, \"pasta\")"
        ),
        conditional(
            "f-steak",
            "fork",
            "steak",
            "=list contains(courses, \"steak\")"
        ),
        flow("f-salad", "fork", "salad"),
        chain(&["pasta", "join"]),
        chain(&["steak", "join"]),
        chain(&["salad", "join"]),
        flow("f-end", "join", "served"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let both = h.create("p", json!({"courses": ["pasta", "steak"]}));
    assert_eq!(
        (
            h.active_count("pasta"),
            h.active_count("steak"),
            h.active_count("salad")
        ),
        (1, 1, 0)
    );
    h.work("pasta", json!({}));
    assert!(
        h.element_intents("join").is_empty(),
        "steak can still reach the join"
    );
    h.work("steak", json!({}));
    assert!(h.instance_completed(both));
    assert_eq!(h.completions("join"), 1);

    let none = h.create("p", json!({"courses": []}));
    assert_eq!(h.active_count("salad"), 1, "the default flow");
    h.work("salad", json!({}));
    assert!(h.instance_completed(none));

    // No default and nothing true: an incident.
    let strict = xml.replace(r#" default="f-salad""#, "").replace(
        &flow("f-salad", "fork", "salad"),
        &conditional("f-salad", "fork", "salad", "=false"),
    );
    h.deploy(&strict);
    h.create("p", json!({"courses": []}));
    assert_eq!(h.open_incidents()[0].value.error_type, "CONDITION_ERROR");
    h.assert_replays();
}

#[test]
fn inclusive_join_stops_waiting_for_a_path_that_went_elsewhere() {
    // fork → a → join; fork → b → xor → (join | away-end)
    let xml = bpmn(&format!(
        r#"{}<bpmn:parallelGateway id="fork"/>{}{}<bpmn:exclusiveGateway id="xor" default="f-away"/><bpmn:inclusiveGateway id="join"/>{}{}{}{}{}{}{}{}"#,
        start(),
        task("a", "a"),
        task("b", "b"),
        end("away-end"),
        end("joined"),
        chain(&["start", "fork", "a", "join", "joined"]),
        chain(&["fork", "b", "xor"]),
        conditional("f-back", "xor", "join", "=back"),
        flow("f-away", "xor", "away-end"),
        String::new(),
        String::new(),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"back": false}));
    h.work("a", json!({}));
    assert!(
        h.element_intents("join").is_empty(),
        "b may still come back"
    );
    h.work("b", json!({}));
    assert_eq!(h.completions("join"), 1, "b went away, so the join fired");
    assert!(h.instance_completed(pi));
    h.assert_replays();
}

#[test]
fn event_based_gateway_races_a_timer_against_a_message() {
    let xml = bpmn(&format!(
        r#"{}<bpmn:eventBasedGateway id="race"/><bpmn:intermediateCatchEvent id="got-paid">{MESSAGE_PAID}</bpmn:intermediateCatchEvent>{}{}{}{}{}{}"#,
        start(),
        timer_catch("too-late", "timeDuration", "PT1H"),
        end("paid-end"),
        end("late-end"),
        chain(&["start", "race", "got-paid", "paid-end"]),
        chain(&["race", "too-late", "late-end"]),
        String::new(),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let paid = h.create("p", json!({"orderId": "a"}));
    let late = h.create("p", json!({"orderId": "b"}));
    assert_eq!(h.records("TIMER", "CREATED").len(), 2);
    h.publish("paid", "a", 0, json!({"amount": 3}));
    assert!(h.instance_completed(paid));
    assert_eq!(h.completions("paid-end"), 1);
    assert_eq!(
        h.records("TIMER", "CANCELED").len(),
        1,
        "the timer lost the race"
    );
    assert_eq!(h.last_variable(paid, "amount"), Some(json!(3)));
    h.advance(60 * MINUTE);
    assert!(h.instance_completed(late));
    assert_eq!(h.completions("late-end"), 1);
    assert_eq!(h.records("MESSAGE_SUBSCRIPTION", "DELETED").len(), 1);
    assert_eq!(h.completions("race"), 2);
    h.assert_replays();
}

// --- modification and deletion -----------------------------------------------------

#[test]
fn modification_moves_a_token_and_activates_nested_elements() {
    let inner = format!(
        "<bpmn:startEvent id=\"s-start\"/>{}{}",
        task("inner", "inner"),
        chain(&["s-start", "inner"])
    );
    let xml = bpmn(&format!(
        r#"{}<bpmn:intermediateCatchEvent id="wait-paid">{MESSAGE_PAID}</bpmn:intermediateCatchEvent>{}{}{}{}"#,
        start(),
        task("ship", "ship"),
        sub_process("sub", &inner),
        end("done"),
        chain(&["start", "wait-paid", "ship", "done"]),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"orderId": "stuck"}));
    let waiting = h.active("wait-paid");
    h.run(&Command::ModifyProcessInstance {
        process_instance_key: pi,
        activate: vec![
            ActivateInstruction {
                element_id: "ship".into(),
                ancestor_element_instance_key: -1,
                variables: vec![VariableInstruction {
                    scope_id: String::new(),
                    variables: obj(json!({"amount": 9})),
                }],
            },
            ActivateInstruction {
                element_id: "inner".into(),
                ancestor_element_instance_key: -1,
                variables: vec![VariableInstruction {
                    scope_id: "sub".into(),
                    variables: obj(json!({"note": "manual"})),
                }],
            },
        ],
        terminate: vec![waiting],
    })
    .unwrap();
    assert_eq!(
        h.records("PROCESS_INSTANCE_MODIFICATION", "MODIFIED").len(),
        1
    );
    assert_eq!(h.terminations("wait-paid"), 1);
    assert!(h.state.message_subscriptions.is_empty());
    assert_eq!(h.variable(pi, "amount"), Some(json!(9)));
    let sub = h.active("sub");
    let jobs = h.activate("inner");
    assert_eq!(jobs[0].job.variables.get("note"), Some(&json!("manual")));
    assert!(h.state.variables[&sub].contains_key("note"));
    assert_eq!(
        h.element_intents("s-start").len(),
        0,
        "the start event is not entered"
    );
    h.complete(jobs[0].key, json!({}));
    h.work("ship", json!({}));
    assert!(h.instance_completed(pi));

    // Invalid instructions reject the whole command and change nothing.
    let other = h.create("p", json!({"orderId": "x"}));
    let before = h.log.len();
    for (activate, terminate, kind) in [
        ("nope", vec![], RejectionType::InvalidArgument),
        ("start", vec![], RejectionType::InvalidArgument),
        ("ship", vec![123], RejectionType::InvalidArgument),
    ] {
        let err = h
            .run(&Command::ModifyProcessInstance {
                process_instance_key: other,
                activate: vec![ActivateInstruction {
                    element_id: activate.into(),
                    ancestor_element_instance_key: -1,
                    variables: vec![],
                }],
                terminate,
            })
            .unwrap_err();
        assert_eq!(err.kind, kind, "{}", err.reason);
    }
    assert_eq!(
        h.log.len(),
        before + 3,
        "only the three rejections were written"
    );
    // Terminating the last element terminates the process instance.
    let waiting = h.active("wait-paid");
    h.run(&Command::ModifyProcessInstance {
        process_instance_key: other,
        activate: vec![],
        terminate: vec![waiting],
    })
    .unwrap();
    assert!(h.instance_terminated(other));
    h.assert_replays();
}

#[test]
fn deleting_a_process_definition_restores_the_previous_version_and_is_refused_while_instances_run()
{
    let version = |job_type: &str| {
        bpmn(&format!(
            "{}{}{}{}",
            start(),
            task("work", job_type),
            end("done"),
            chain(&["start", "work", "done"])
        ))
    };
    let mut h = Harness::new();
    let v1 = h.deploy(&version("v1"));
    let v2 = h.deploy(&version("v2"));
    let running = h.create("p", json!({}));
    let err = h
        .run(&Command::DeleteResource { resource_key: v2 })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidState, "{}", err.reason);
    assert!(err.reason.contains("running instances"), "{}", err.reason);
    h.work("v2", json!({}));
    assert!(h.instance_completed(running));
    h.run(&Command::DeleteResource { resource_key: v2 })
        .unwrap();
    for (value_type, intent) in [
        ("RESOURCE_DELETION", "DELETING"),
        ("PROCESS", "DELETING"),
        ("PROCESS", "DELETED"),
        ("RESOURCE_DELETION", "DELETED"),
    ] {
        assert_eq!(
            h.records(value_type, intent).len(),
            1,
            "{value_type} {intent}"
        );
    }
    assert!(!h.state.processes.contains_key(&v2));
    let err = h
        .run(&Command::CreateInstance {
            process: ProcessSelector::Key(v2),
            tenant_id: TenantId::default(),
            variables: obj(json!({})),
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::NotFound);
    let fresh = h.create("p", json!({}));
    assert_eq!(
        h.state.elements[&fresh].process_definition_key, v1,
        "v1 is the latest again"
    );
    let err = h
        .run(&Command::DeleteResource { resource_key: v2 })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::NotFound);
    // Versions are never reused.
    let Ok(Response::Deployed { processes, .. }) = h.deploy_as("p.bpmn", &version("v3")) else {
        panic!()
    };
    assert_eq!(processes[0].version, 3);
    h.assert_replays();
}

#[test]
fn deleting_the_latest_version_moves_its_start_events_back_to_the_previous_one() {
    let timed = |cycle: &str| {
        bpmn(&format!(
            r#"<bpmn:startEvent id="tick">{}</bpmn:startEvent>{}{}"#,
            timer("timeCycle", cycle),
            end("done"),
            flow("f", "tick", "done")
        ))
    };
    let mut h = Harness::new();
    let v1 = h.deploy(&timed("R/PT1M"));
    let v2 = h.deploy(&timed("R/PT2M"));
    assert!(
        h.state
            .timers
            .values()
            .all(|t| t.value.process_definition_key == v2)
    );
    h.run(&Command::DeleteResource { resource_key: v2 })
        .unwrap();
    let owners: Vec<i64> = h
        .state
        .timers
        .values()
        .map(|t| t.value.process_definition_key)
        .collect();
    assert_eq!(owners, [v1], "v1's timer start event is scheduled again");
    h.advance(MINUTE);
    assert_eq!(h.completions("done"), 1);
    h.assert_replays();
}

// --- links and refusals ------------------------------------------------------------

#[test]
fn link_throw_events_continue_at_the_link_catch_event_of_their_scope() {
    let xml = bpmn(&format!(
        r#"{}<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="later"/></bpmn:intermediateThrowEvent><bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="later"/></bpmn:intermediateCatchEvent>{}{}{}"#,
        start(),
        end("done"),
        flow("f1", "start", "jump"),
        flow("f2", "land", "done"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.completions("land"), 1);
    h.assert_replays();
}

#[test]
fn elements_and_settings_the_engine_cannot_run_are_refused_at_deployment() {
    let mut h = Harness::new();
    for (name, body, expected) in [
        (
            "conditional",
            format!(
                r#"{}<bpmn:intermediateCatchEvent id="when"><bpmn:conditionalEventDefinition><bpmn:condition>=x</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>{}"#,
                start(),
                flow("f", "start", "when")
            ),
            "when",
        ),
        (
            "binding",
            format!(
                r#"{}<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child" bindingType="deployment"/></bpmn:extensionElements></bpmn:callActivity>{}"#,
                start(),
                flow("f", "start", "call")
            ),
            "bindingType",
        ),
        (
            "cron",
            format!(
                r#"<bpmn:startEvent id="tick">{}</bpmn:startEvent>{}{}"#,
                timer("timeCycle", "0 0 12 L * ?"),
                end("done"),
                flow("f", "tick", "done")
            ),
            "tick",
        ),
        (
            "sub-process-start",
            format!(
                r#"{}<bpmn:subProcess id="sub"><bpmn:startEvent id="s1">{}</bpmn:startEvent></bpmn:subProcess>{}"#,
                start(),
                timer("timeDuration", "PT1M"),
                flow("f", "start", "sub")
            ),
            "sub",
        ),
    ] {
        let err = h
            .deploy_as(&format!("{name}.bpmn"), &bpmn(&body))
            .unwrap_err();
        assert_eq!(err.kind, RejectionType::InvalidArgument, "{name}");
        assert!(err.reason.contains(expected), "{name}: {}", err.reason);
    }
    assert!(h.state.processes.is_empty(), "nothing was deployed");
}

#[test]
fn a_sequential_body_whose_collection_breaks_raises_an_incident_and_resumes_after_resolution() {
    let mut h = Harness::new();
    h.deploy(&multi_instance(true, ""));
    let pi = h.create("p", json!({"reviewers": ["ann", "bob"]}));
    let first = h.activate("review")[0].key;
    h.run(&Command::SetVariables {
        element_instance_key: pi,
        variables: obj(json!({"reviewers": "oops"})),
        local: false,
    })
    .unwrap();
    h.complete(first, json!({"verdict": "ok"}));
    let incident = h.open_incidents()[0].clone();
    assert_eq!(incident.value.error_type, "EXTRACT_VALUE_ERROR");
    assert_eq!(incident.value.element_id, "review");
    h.run(&Command::SetVariables {
        element_instance_key: pi,
        variables: obj(json!({"reviewers": ["ann", "bob"]})),
        local: false,
    })
    .unwrap();
    h.run(&Command::ResolveIncident {
        incident_key: incident.key,
    })
    .unwrap();
    let second = h.activate("review");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].job.variables["reviewer"], json!("bob"));
    h.complete(second[0].key, json!({"verdict": "fine"}));
    assert!(h.instance_completed(pi));
    assert_eq!(h.last_variable(pi, "verdicts"), Some(json!(["ok", "fine"])));
    h.assert_replays();
}

#[test]
fn modification_needs_an_ancestor_when_a_scope_runs_twice() {
    let inner = format!(
        "<bpmn:startEvent id=\"s-start\"/>{}{}{}",
        task("inner", "inner"),
        task("extra", "extra"),
        chain(&["s-start", "inner"])
    );
    let xml = bpmn(&format!(
        r#"{}<bpmn:parallelGateway id="fork"/>{}{}{}{}"#,
        start(),
        sub_process("sub", &inner),
        end("done"),
        chain(&["start", "fork", "sub", "done"]),
        flow("f-again", "fork", "sub"),
    ));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    assert_eq!(h.active_count("sub"), 2);
    let extra = |ancestor: i64| Command::ModifyProcessInstance {
        process_instance_key: pi,
        activate: vec![ActivateInstruction {
            element_id: "extra".into(),
            ancestor_element_instance_key: ancestor,
            variables: vec![],
        }],
        terminate: vec![],
    };
    let err = h.run(&extra(-1)).unwrap_err();
    assert!(
        err.reason.contains("more than one active instance"),
        "{}",
        err.reason
    );
    let chosen = *h
        .state
        .elements
        .values()
        .filter(|e| e.element_id == "sub")
        .map(|e| &e.key)
        .min()
        .unwrap();
    h.run(&extra(chosen)).unwrap();
    let job = h.activate("extra");
    assert_eq!(job.len(), 1);
    assert_eq!(
        h.state.elements[&job[0].job.element_instance_key].flow_scope_key,
        Some(chosen)
    );
    let err = h.run(&extra(12_345)).unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidArgument);
    h.assert_replays();
}
