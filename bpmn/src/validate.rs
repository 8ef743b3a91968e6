//! Validation: structural rules of BPMN and the rules Zeebe applies before it
//! deploys a process. Every finding carries a stable code documented in
//! `DIAGNOSTICS.md`; codes are never reused or renumbered.
//!
//! FEEL syntax is not checked here: pass a [`FeelCheck`] in
//! [`ValidateOptions::feel`] to have every FEEL expression of the model
//! (see [`feel_expressions`]) checked and reported as `BPMN119`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::timer;
use crate::walk::{Scope, for_each_element, scopes};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The model cannot be deployed (or is not valid BPMN).
    Error,
    /// Probably a mistake; deployment still works.
    Warning,
    /// A hint.
    Info,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $sev:ident, $doc:literal;)*) => {
        /// Stable diagnostic codes (see `DIAGNOSTICS.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Code {
            $(
                #[doc = $doc]
                #[serde(rename = $code)]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as written in diagnostics (`BPMN001`).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            /// The usual severity of the code.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }

            /// One-line description of the rule.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $doc),* }
            }
        }
    };
}

codes! {
    DuplicateId = "BPMN001", Error, "Two elements share an id.";
    MissingId = "BPMN002", Error, "An element that must be referable has no id.";
    InvalidId = "BPMN003", Warning, "An id is not an XML NCName.";
    DanglingFlowReference = "BPMN004", Error, "A sequence flow's sourceRef or targetRef names no flow node.";
    FlowCrossesScope = "BPMN005", Error, "A sequence flow connects nodes of different (sub-)processes.";
    IncomingOutgoingMismatch = "BPMN006", Warning, "A node's incoming/outgoing list disagrees with the sequence flows.";
    NoStartEvent = "BPMN007", Error, "A process or embedded sub-process has no start event.";
    Unreachable = "BPMN008", Warning, "A flow node cannot be reached from any start or boundary event.";
    GatewayWithoutOutgoing = "BPMN009", Error, "A gateway has no outgoing sequence flow.";
    MissingConditionOrDefault = "BPMN010", Error, "An exclusive/inclusive gateway has an outgoing flow with neither a condition nor the default mark.";
    InvalidDefaultFlow = "BPMN011", Error, "A default flow is not an outgoing flow of its element.";
    ConditionOnDefaultFlow = "BPMN012", Warning, "The default flow has a condition, which is ignored.";
    BoundaryNotAttached = "BPMN013", Error, "A boundary event is not attached to an activity of the same scope.";
    BoundaryWithIncoming = "BPMN014", Error, "A boundary event has incoming sequence flows.";
    StartWithIncoming = "BPMN015", Error, "A start event has incoming sequence flows.";
    EndWithOutgoing = "BPMN016", Error, "An end event has outgoing sequence flows.";
    EventSubProcessShape = "BPMN017", Error, "An event sub-process has sequence flows or not exactly one start event with a trigger.";
    DanglingReference = "BPMN018", Error, "A reference (message flow, pool, lane, association, data) names no element of the right kind.";
    UndefinedEventReference = "BPMN019", Error, "A messageRef/errorRef/signalRef/escalationRef names no such root element.";
    EventGatewayTargets = "BPMN020", Error, "An event-based gateway needs two or more outgoing flows, each to a catch event or receive task.";
    ConditionIgnored = "BPMN021", Warning, "A condition on a flow leaving a parallel or event-based gateway is ignored.";
    MissingDi = "BPMN022", Warning, "A flow node or sequence flow has no diagram shape or edge.";
    DiUnknownElement = "BPMN023", Warning, "A diagram shape or edge references no element.";
    LinkMismatch = "BPMN024", Error, "A link throw event has no catch event of the same name in its scope, or link names are ambiguous.";
    NoExecutableProcess = "BPMN100", Error, "No process is marked isExecutable=\"true\".";
    MissingJobType = "BPMN101", Error, "A job-based task has no zeebe:taskDefinition type.";
    InvalidRetries = "BPMN102", Error, "zeebe:taskDefinition retries is neither a number nor a FEEL expression.";
    MissingMessage = "BPMN103", Error, "A message event or receive task has no message, or the message has no name.";
    MissingCorrelationKey = "BPMN104", Error, "A message catch (other than a process start) has no zeebe:subscription correlationKey.";
    TimerWithoutValue = "BPMN105", Error, "A timer has not exactly one non-empty timeDate, timeDuration or timeCycle.";
    InvalidTimerValue = "BPMN106", Error, "A timer value is not a valid ISO-8601 date-time, duration or cycle.";
    TimerKindNotAllowed = "BPMN107", Error, "This kind of timer is not allowed on this event.";
    MissingCalledProcess = "BPMN108", Error, "A call activity has no zeebe:calledElement processId.";
    MissingInputCollection = "BPMN109", Error, "A multi-instance activity has no zeebe:loopCharacteristics inputCollection.";
    UnsupportedElement = "BPMN110", Error, "Zeebe does not execute this element.";
    MissingErrorCode = "BPMN111", Error, "An error throw has no error, or the error has no errorCode.";
    MultipleEventDefinitions = "BPMN112", Error, "An event has more than one event definition.";
    MissingSignalName = "BPMN113", Error, "A signal event has no signal, or the signal has no name.";
    MissingEscalationCode = "BPMN114", Error, "An escalation throw has no escalation, or it has no escalationCode.";
    InvalidMapping = "BPMN115", Error, "A zeebe input/output, header or property lacks its target, key or name.";
    InvalidScript = "BPMN116", Error, "A zeebe:script lacks its expression or resultVariable.";
    MultipleNoneStartEvents = "BPMN117", Error, "A process has more than one none start event.";
    NotCamundaPlatform = "BPMN118", Info, "modeler:executionPlatform is not \"Camunda Cloud\".";
    FeelSyntax = "BPMN119", Error, "A FEEL expression has a syntax error (reported by the FeelCheck hook).";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Severity (usually [`Code::severity`]).
    pub severity: Severity,
    /// Human-readable explanation.
    pub message: String,
    /// Id of the element concerned, when there is one.
    pub element_id: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        match &self.element_id {
            Some(id) => write!(f, "{sev} {} [{id}]: {}", self.code, self.message),
            None => write!(f, "{sev} {}: {}", self.code, self.message),
        }
    }
}

/// A FEEL syntax checker supplied by the caller (the `feel` crate).
pub trait FeelCheck {
    /// Checks one expression (without its leading `=`); returns the error message if invalid.
    fn check(&self, expression: &str) -> Result<(), String>;
}

impl<F: Fn(&str) -> Result<(), String>> FeelCheck for F {
    fn check(&self, expression: &str) -> Result<(), String> {
        self(expression)
    }
}

/// What to check.
#[derive(Default, Clone, Copy)]
pub struct ValidateOptions<'a> {
    /// FEEL syntax checker; without it no FEEL checks run.
    pub feel: Option<&'a dyn FeelCheck>,
    /// Skip the Zeebe executability rules (`BPMN1xx`).
    pub skip_zeebe: bool,
    /// Skip the diagram rules (`BPMN022`, `BPMN023`).
    pub skip_di: bool,
}

/// Validates with default options (structural + Zeebe + DI rules, no FEEL).
pub fn validate(defs: &Definitions) -> Vec<Diagnostic> {
    validate_with(defs, &ValidateOptions::default())
}

/// Validates with explicit options. Diagnostics come in a stable order.
pub fn validate_with(defs: &Definitions, options: &ValidateOptions<'_>) -> Vec<Diagnostic> {
    let mut v = Validator {
        defs,
        out: Vec::new(),
    };
    v.ids();
    let all_scopes = scopes(defs);
    for s in &all_scopes {
        v.scope(s);
    }
    v.references();
    if !options.skip_di {
        v.diagram(&all_scopes);
    }
    if !options.skip_zeebe {
        v.zeebe(&all_scopes);
    }
    if let Some(feel) = options.feel {
        for site in feel_expressions(defs) {
            if let Err(msg) = feel.check(site.expression) {
                v.push(
                    Code::FeelSyntax,
                    Some(site.element_id),
                    format!("{}: {msg}", site.field),
                );
            }
        }
    }
    v.out
}

/// A FEEL expression found in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeelSite<'a> {
    /// Element carrying the expression.
    pub element_id: &'a str,
    /// Which attribute or element holds it (`conditionExpression`, `zeebe:input source`, …).
    pub field: &'static str,
    /// The expression without its leading `=`.
    pub expression: &'a str,
}

/// Every FEEL expression (values starting with `=`) in the model, in model order.
pub fn feel_expressions<'d>(defs: &'d Definitions) -> Vec<FeelSite<'d>> {
    let mut out = Vec::new();
    let mut push = |id: &'d Id, field: &'static str, v: Option<&'d str>| {
        if let Some(e) = v.and_then(|v| v.trim_start().strip_prefix('=')) {
            out.push(FeelSite {
                element_id: id.as_str(),
                field,
                expression: e,
            });
        }
    };
    for m in defs.messages() {
        push(&m.id, "name", m.name.as_deref());
        if let Some(s) = &m.base.zeebe().subscription {
            push(
                &m.id,
                "zeebe:subscription correlationKey",
                s.correlation_key.as_deref(),
            );
        }
    }
    for s in scopes(defs) {
        for f in s.container.sequence_flows() {
            push(
                &f.id,
                "conditionExpression",
                f.condition.as_ref().map(|c| c.body.as_str()),
            );
        }
        for n in s.container.flow_nodes() {
            let z = n.zeebe();
            if let Some(t) = &z.task_definition {
                push(&n.id, "zeebe:taskDefinition type", t.job_type.as_deref());
                push(&n.id, "zeebe:taskDefinition retries", t.retries.as_deref());
            }
            if let Some(io) = &z.io_mapping {
                for m in &io.inputs {
                    push(&n.id, "zeebe:input source", m.source.as_deref());
                }
                for m in &io.outputs {
                    push(&n.id, "zeebe:output source", m.source.as_deref());
                }
            }
            if let Some(c) = &z.called_element {
                push(
                    &n.id,
                    "zeebe:calledElement processId",
                    c.process_id.as_deref(),
                );
            }
            if let Some(sc) = &z.script {
                push(&n.id, "zeebe:script expression", sc.expression.as_deref());
            }
            if let Some(a) = &z.assignment_definition {
                push(
                    &n.id,
                    "zeebe:assignmentDefinition assignee",
                    a.assignee.as_deref(),
                );
                push(
                    &n.id,
                    "zeebe:assignmentDefinition candidateGroups",
                    a.candidate_groups.as_deref(),
                );
                push(
                    &n.id,
                    "zeebe:assignmentDefinition candidateUsers",
                    a.candidate_users.as_deref(),
                );
            }
            if let Some(a) = n.activity() {
                if let Some(LoopCharacteristics::MultiInstance(mi)) =
                    a.loop_characteristics.as_deref()
                {
                    if let Some(l) = &mi.base.zeebe().loop_characteristics {
                        push(
                            &n.id,
                            "zeebe:loopCharacteristics inputCollection",
                            l.input_collection.as_deref(),
                        );
                        push(
                            &n.id,
                            "zeebe:loopCharacteristics outputElement",
                            l.output_element.as_deref(),
                        );
                    }
                    push(
                        &n.id,
                        "completionCondition",
                        mi.completion_condition.as_ref().map(|c| c.body.as_str()),
                    );
                }
                push(
                    &n.id,
                    "completionCondition",
                    a.completion_condition.as_ref().map(|c| c.body.as_str()),
                );
            }
            if let Some(e) = n.event() {
                for d in &e.definitions {
                    if let EventDefinitionKind::Timer(t) = &d.kind {
                        for x in [&t.time_date, &t.time_duration, &t.time_cycle]
                            .into_iter()
                            .flatten()
                        {
                            push(&n.id, "timer", Some(x.body.as_str()));
                        }
                    }
                }
            }
        }
    }
    out
}

struct Validator<'a> {
    defs: &'a Definitions,
    out: Vec<Diagnostic>,
}

fn is_executable(p: &Process) -> bool {
    p.is_executable == Some(true)
}

impl<'a> Validator<'a> {
    fn push(&mut self, code: Code, id: Option<&str>, message: String) {
        self.push_sev(code, code.severity(), id, message);
    }

    fn push_sev(&mut self, code: Code, severity: Severity, id: Option<&str>, message: String) {
        self.out.push(Diagnostic {
            code,
            severity,
            message,
            element_id: id.filter(|s| !s.is_empty()).map(str::to_owned),
        });
    }

    fn ids(&mut self) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut dups = Vec::new();
        let mut bad = Vec::new();
        for_each_element(self.defs, |id, _| {
            if !seen.insert(id) {
                dups.push(id);
            }
            if !Id::is_valid_ncname(id) {
                bad.push(id);
            }
        });
        for id in dups {
            self.push(
                Code::DuplicateId,
                Some(id),
                format!("id {id:?} is used by more than one element"),
            );
        }
        for id in bad {
            self.push(
                Code::InvalidId,
                Some(id),
                format!("id {id:?} is not a valid XML name"),
            );
        }
        let mut missing = Vec::new();
        for p in self.defs.processes() {
            if p.id.is_empty() {
                missing.push("a process".to_owned());
            }
        }
        for s in scopes(self.defs) {
            for fe in &s.container.flow_elements {
                let id = fe.id().unwrap_or("");
                if id.is_empty() && !matches!(fe, FlowElement::Other(_)) {
                    missing.push(format!("a flow element in {}", s.owner));
                }
            }
        }
        for what in missing {
            self.push(Code::MissingId, None, format!("{what} has no id"));
        }
    }

    fn scope(&mut self, s: &Scope<'a>) {
        let c = s.container;
        let nodes: HashMap<&str, &FlowNode> = c.flow_nodes().map(|n| (n.id.as_str(), n)).collect();
        let mut out_flows: HashMap<&str, Vec<&SequenceFlow>> = HashMap::new();
        let mut in_flows: HashMap<&str, Vec<&SequenceFlow>> = HashMap::new();
        for f in c.sequence_flows() {
            for (end, r) in [("sourceRef", &f.source_ref), ("targetRef", &f.target_ref)] {
                if nodes.contains_key(r.as_str()) {
                    continue;
                }
                if self.defs.flow_node(r.as_str()).is_some() {
                    self.push(
                        Code::FlowCrossesScope,
                        Some(f.id.as_str()),
                        format!("{end} {r:?} is in another process or sub-process than the flow"),
                    );
                } else {
                    self.push(
                        Code::DanglingFlowReference,
                        Some(f.id.as_str()),
                        format!("{end} {r:?} names no flow node"),
                    );
                }
            }
            out_flows.entry(f.source_ref.as_str()).or_default().push(f);
            in_flows.entry(f.target_ref.as_str()).or_default().push(f);
        }
        let process_executable = self
            .defs
            .process(s.process.as_str())
            .is_some_and(is_executable);
        let is_event_sub = s
            .sub_process
            .and_then(|n| n.activity())
            .is_some_and(|a| a.triggered_by_event == Some(true));
        let is_ad_hoc = s
            .sub_process
            .is_some_and(|n| matches!(n.kind, FlowNodeKind::AdHocSubProcess(_)));

        // Start events.
        let starts: Vec<&FlowNode> = c.start_events().collect();
        if starts.is_empty() && !is_ad_hoc {
            let sev = if process_executable {
                Severity::Error
            } else {
                Severity::Warning
            };
            let what = if s.sub_process.is_some() {
                "sub-process"
            } else {
                "process"
            };
            self.push_sev(
                Code::NoStartEvent,
                sev,
                Some(s.owner.as_str()),
                format!("{what} {} has no start event", s.owner),
            );
        }
        if let Some(sp) = s.sub_process
            && is_event_sub
        {
            {
                let ok = starts.len() == 1
                    && starts[0].event().is_some_and(|e| !e.definitions.is_empty());
                if !ok {
                    self.push(Code::EventSubProcessShape, Some(sp.id.as_str()), "an event sub-process needs exactly one start event with an event definition".into());
                }
                if !sp.incoming.is_empty() || !sp.outgoing.is_empty() {
                    self.push(
                        Code::EventSubProcessShape,
                        Some(sp.id.as_str()),
                        "an event sub-process must not have sequence flows".into(),
                    );
                }
            }
        }

        for n in c.flow_nodes() {
            let id = n.id.as_str();
            let outs = out_flows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let ins = in_flows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            self.incoming_outgoing(n, ins, outs);
            match &n.kind {
                FlowNodeKind::StartEvent(_) if !ins.is_empty() => {
                    self.push(
                        Code::StartWithIncoming,
                        Some(id),
                        "a start event cannot have incoming sequence flows".into(),
                    );
                }
                FlowNodeKind::EndEvent(_) if !outs.is_empty() => {
                    self.push(
                        Code::EndWithOutgoing,
                        Some(id),
                        "an end event cannot have outgoing sequence flows".into(),
                    );
                }
                FlowNodeKind::BoundaryEvent(e) => {
                    if !ins.is_empty() {
                        self.push(
                            Code::BoundaryWithIncoming,
                            Some(id),
                            "a boundary event cannot have incoming sequence flows".into(),
                        );
                    }
                    let host = e
                        .attached_to_ref
                        .as_ref()
                        .and_then(|h| nodes.get(h.as_str()));
                    if host.is_none_or(|h| h.activity().is_none()) {
                        let msg = match &e.attached_to_ref {
                            None => "boundary event has no attachedToRef".to_owned(),
                            Some(h) => {
                                format!("attachedToRef {h:?} is not an activity in the same scope")
                            }
                        };
                        self.push(Code::BoundaryNotAttached, Some(id), msg);
                    }
                }
                _ => {}
            }
            if let Some(d) = n.default_flow() {
                if !outs.iter().any(|f| f.id == *d) {
                    self.push(
                        Code::InvalidDefaultFlow,
                        Some(id),
                        format!("default flow {d:?} is not an outgoing flow of {id}"),
                    );
                } else if outs.iter().any(|f| f.id == *d && f.condition.is_some()) {
                    self.push(
                        Code::ConditionOnDefaultFlow,
                        Some(d.as_str()),
                        "the default flow's condition is ignored".into(),
                    );
                }
            }
            if n.gateway().is_some() {
                self.gateway(n, outs, &nodes);
            }
        }
        if !is_ad_hoc {
            self.reachability(c, &nodes, &out_flows);
        }
        self.links(c);
    }

    fn incoming_outgoing(&mut self, n: &FlowNode, ins: &[&SequenceFlow], outs: &[&SequenceFlow]) {
        let listed_in: BTreeSet<&str> = n.incoming.iter().map(Id::as_str).collect();
        let listed_out: BTreeSet<&str> = n.outgoing.iter().map(Id::as_str).collect();
        let real_in: BTreeSet<&str> = ins.iter().map(|f| f.id.as_str()).collect();
        let real_out: BTreeSet<&str> = outs.iter().map(|f| f.id.as_str()).collect();
        // Lists are optional in BPMN; only a list that is present and wrong is reported.
        if (!listed_in.is_empty() && listed_in != real_in)
            || (!listed_out.is_empty() && listed_out != real_out)
        {
            self.push(
                Code::IncomingOutgoingMismatch,
                Some(n.id.as_str()),
                "bpmn:incoming/bpmn:outgoing do not match the sequence flows".into(),
            );
        }
    }

    fn gateway(&mut self, n: &FlowNode, outs: &[&SequenceFlow], nodes: &HashMap<&str, &FlowNode>) {
        let id = n.id.as_str();
        if outs.is_empty() {
            self.push(
                Code::GatewayWithoutOutgoing,
                Some(id),
                "gateway has no outgoing sequence flow".into(),
            );
            return;
        }
        match &n.kind {
            FlowNodeKind::ExclusiveGateway(g) | FlowNodeKind::InclusiveGateway(g)
                if outs.len() > 1 =>
            {
                for f in outs {
                    let is_default = g.default_flow.as_ref() == Some(&f.id);
                    if f.condition.is_none() && !is_default {
                        self.push(
                            Code::MissingConditionOrDefault,
                            Some(f.id.as_str()),
                            format!("flow leaving gateway {id} has no condition and is not the default flow"),
                        );
                    }
                }
            }
            FlowNodeKind::ParallelGateway(_) | FlowNodeKind::EventBasedGateway(_) => {
                for f in outs.iter().filter(|f| f.condition.is_some()) {
                    self.push(
                        Code::ConditionIgnored,
                        Some(f.id.as_str()),
                        format!(
                            "condition on a flow leaving {} gateway {id} is ignored",
                            n.kind.tag()
                        ),
                    );
                }
                if matches!(n.kind, FlowNodeKind::EventBasedGateway(_)) {
                    if outs.len() < 2 {
                        self.push(
                            Code::EventGatewayTargets,
                            Some(id),
                            "an event-based gateway needs at least two outgoing flows".into(),
                        );
                    }
                    for f in outs {
                        let ok = nodes
                            .get(f.target_ref.as_str())
                            .is_some_and(|t| match &t.kind {
                                FlowNodeKind::ReceiveTask(_) => true,
                                FlowNodeKind::IntermediateCatchEvent(e) => {
                                    e.definition().is_some_and(|d| {
                                        matches!(
                                            d,
                                            EventDefinitionKind::Message { .. }
                                                | EventDefinitionKind::Timer(_)
                                                | EventDefinitionKind::Signal { .. }
                                                | EventDefinitionKind::Conditional { .. }
                                        )
                                    })
                                }
                                _ => false,
                            });
                        if !ok {
                            self.push(Code::EventGatewayTargets, Some(f.id.as_str()), format!("flow from event-based gateway {id} must lead to a catch event or receive task"));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn reachability(
        &mut self,
        c: &Container,
        nodes: &HashMap<&str, &FlowNode>,
        out_flows: &HashMap<&str, Vec<&SequenceFlow>>,
    ) {
        let mut link_catch: HashMap<&str, &str> = HashMap::new();
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name: Some(name) }) = e.definition()
            {
                link_catch.insert(name.as_str(), n.id.as_str());
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        for n in c.flow_nodes() {
            let root = match &n.kind {
                FlowNodeKind::StartEvent(_) | FlowNodeKind::BoundaryEvent(_) => true,
                k => k.activity().is_some_and(|a| {
                    a.triggered_by_event == Some(true) || a.is_for_compensation == Some(true)
                }),
            };
            if root {
                queue.push_back(n.id.as_str());
            }
        }
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            for f in out_flows.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                queue.push_back(f.target_ref.as_str());
            }
            if let Some(n) = nodes.get(id)
                && let FlowNodeKind::IntermediateThrowEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name: Some(name) }) = e.definition()
                && let Some(target) = link_catch.get(name.as_str())
            {
                queue.push_back(target);
            }
        }
        for n in c.flow_nodes() {
            if !seen.contains(n.id.as_str()) {
                self.push(
                    Code::Unreachable,
                    Some(n.id.as_str()),
                    format!("{} cannot be reached from a start or boundary event", n.id),
                );
            }
        }
    }

    fn links(&mut self, c: &Container) {
        let mut catches: BTreeMap<&str, usize> = BTreeMap::new();
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
            {
                *catches.entry(name.as_deref().unwrap_or("")).or_default() += 1;
            }
        }
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
                && catches
                    .get(name.as_deref().unwrap_or(""))
                    .copied()
                    .unwrap_or(0)
                    > 1
            {
                self.push(
                    Code::LinkMismatch,
                    Some(n.id.as_str()),
                    format!(
                        "more than one link catch event is named {:?}",
                        name.as_deref().unwrap_or("")
                    ),
                );
            }
            if let FlowNodeKind::IntermediateThrowEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
                && !catches.contains_key(name.as_deref().unwrap_or(""))
            {
                self.push(
                    Code::LinkMismatch,
                    Some(n.id.as_str()),
                    format!(
                        "no link catch event named {:?} in this scope",
                        name.as_deref().unwrap_or("")
                    ),
                );
            }
        }
    }

    fn references(&mut self) {
        let defs = self.defs;
        let mut kinds: HashMap<&str, &'static str> = HashMap::new();
        for_each_element(defs, |id, e| {
            use crate::walk::ElementRef as E;
            let k = match e {
                E::Process(_) => "process",
                E::FlowNode(_) => "flowNode",
                E::Participant(_) => "participant",
                E::Data(d) => match d.kind {
                    DataKind::DataObject { .. } => "dataObject",
                    _ => "data",
                },
                E::DataStore(_) => "dataStore",
                _ => "other",
            };
            kinds.entry(id).or_insert(k);
        });
        let exists = |id: &Id| kinds.contains_key(id.as_str());
        let mut found = Vec::new();
        for c in defs.collaborations() {
            for p in &c.participants {
                if let Some(r) = &p.process_ref
                    && kinds.get(r.as_str()) != Some(&"process")
                {
                    found.push((p.id.as_str(), format!("processRef {r:?} names no process")));
                }
            }
            for m in &c.message_flows {
                for (end, r) in [("sourceRef", &m.source_ref), ("targetRef", &m.target_ref)] {
                    if !matches!(kinds.get(r.as_str()), Some(&"flowNode" | &"participant")) {
                        found.push((
                            m.id.as_str(),
                            format!("{end} {r:?} names no flow node or pool"),
                        ));
                    }
                }
                if let Some(r) = &m.message_ref
                    && defs.message(r.as_str()).is_none()
                {
                    found.push((m.id.as_str(), format!("messageRef {r:?} names no message")));
                }
            }
        }
        for s in scopes(defs) {
            for ls in &s.container.lane_sets {
                let mut stack = vec![ls];
                while let Some(ls) = stack.pop() {
                    for l in &ls.lanes {
                        for r in &l.flow_node_refs {
                            if kinds.get(r.as_str()) != Some(&"flowNode") {
                                found.push((
                                    l.id.as_str(),
                                    format!("flowNodeRef {r:?} names no flow node"),
                                ));
                            }
                        }
                        if let Some(c) = &l.child_lane_set {
                            stack.push(c);
                        }
                    }
                }
            }
            for a in &s.container.artifacts {
                if let ArtifactKind::Association {
                    source_ref,
                    target_ref,
                    ..
                } = &a.kind
                {
                    for r in [source_ref, target_ref].into_iter().flatten() {
                        if !exists(r) {
                            found.push((
                                a.id.as_str(),
                                format!("association end {r:?} names no element"),
                            ));
                        }
                    }
                }
            }
            for fe in &s.container.flow_elements {
                if let FlowElement::Data(d) = fe {
                    let bad = match &d.kind {
                        DataKind::DataObjectReference {
                            data_object_ref: Some(r),
                        } => kinds.get(r.as_str()) != Some(&"dataObject"),
                        DataKind::DataStoreReference {
                            data_store_ref: Some(r),
                        } => kinds.get(r.as_str()) != Some(&"dataStore"),
                        _ => false,
                    };
                    if bad {
                        found.push((
                            d.id.as_str(),
                            "data reference names no data object or data store".to_owned(),
                        ));
                    }
                }
            }
            for n in s.container.flow_nodes() {
                self.event_refs(n);
            }
        }
        for (id, msg) in found {
            self.push(Code::DanglingReference, Some(id), msg);
        }
    }

    fn event_refs(&mut self, n: &FlowNode) {
        let defs = self.defs;
        let mut bad = Vec::new();
        if let Some(a) = n.activity()
            && let Some(r) = &a.message_ref
            && defs.message(r.as_str()).is_none()
        {
            bad.push(format!("messageRef {r:?} names no message"));
        }
        for d in n.event().map(|e| e.definitions.as_slice()).unwrap_or(&[]) {
            match &d.kind {
                EventDefinitionKind::Message {
                    message_ref: Some(r),
                } if defs.message(r.as_str()).is_none() => {
                    bad.push(format!("messageRef {r:?} names no message"))
                }
                EventDefinitionKind::Error { error_ref: Some(r) }
                    if defs.error(r.as_str()).is_none() =>
                {
                    bad.push(format!("errorRef {r:?} names no error"))
                }
                EventDefinitionKind::Signal {
                    signal_ref: Some(r),
                } if defs.signal(r.as_str()).is_none() => {
                    bad.push(format!("signalRef {r:?} names no signal"))
                }
                EventDefinitionKind::Escalation {
                    escalation_ref: Some(r),
                } if defs.escalation(r.as_str()).is_none() => {
                    bad.push(format!("escalationRef {r:?} names no escalation"))
                }
                _ => {}
            }
        }
        for msg in bad {
            self.push(Code::UndefinedEventReference, Some(n.id.as_str()), msg);
        }
    }

    fn diagram(&mut self, all: &[Scope<'a>]) {
        let defs = self.defs;
        let mut drawn: HashSet<&str> = HashSet::new();
        let mut unknown = Vec::new();
        for d in &defs.diagrams {
            if let Some(p) = &d.plane.bpmn_element {
                drawn.insert(p.as_str());
            }
        }
        let mut known: HashSet<&str> = HashSet::new();
        for_each_element(defs, |id, _| {
            known.insert(id);
        });
        preserved_ids(defs, &mut known);
        for e in defs.diagram_elements() {
            if let Some(b) = e.bpmn_element() {
                drawn.insert(b.as_str());
                if !known.contains(b.as_str()) {
                    unknown.push((e.id().as_str(), b.as_str()));
                }
            }
        }
        for (di, b) in unknown {
            self.push(
                Code::DiUnknownElement,
                Some(di),
                format!("diagram element draws {b:?}, which does not exist"),
            );
        }
        if defs.diagrams.is_empty() {
            return;
        }
        for s in all {
            // Content of a collapsed sub-process is drawn on its own plane, if at all.
            if let Some(sp) = s.sub_process
                && defs
                    .shape(sp.id.as_str())
                    .is_some_and(|sh| sh.is_expanded == Some(false))
                && !drawn.contains(sp.id.as_str())
            {
                continue;
            }
            let mut missing = Vec::new();
            for fe in &s.container.flow_elements {
                match fe {
                    FlowElement::Node(n) if !drawn.contains(n.id.as_str()) => {
                        missing.push(n.id.as_str())
                    }
                    FlowElement::SequenceFlow(f) if !drawn.contains(f.id.as_str()) => {
                        missing.push(f.id.as_str())
                    }
                    _ => {}
                }
            }
            for id in missing {
                self.push(
                    Code::MissingDi,
                    Some(id),
                    format!("{id} has no diagram shape or edge"),
                );
            }
        }
    }

    fn zeebe(&mut self, all: &[Scope<'a>]) {
        let defs = self.defs;
        let processes: Vec<&Process> = defs.processes().collect();
        if !processes.is_empty() && !processes.iter().any(|p| is_executable(p)) {
            self.push(Code::NoExecutableProcess, None, "no process is marked isExecutable=\"true\"; Zeebe deploys only executable processes".into());
        }
        if defs.execution_platform.as_deref() != Some("Camunda Cloud") {
            self.push(
                Code::NotCamundaPlatform,
                Some(defs.id.as_str()),
                "modeler:executionPlatform is not \"Camunda Cloud\"".into(),
            );
        }
        for m in defs.messages() {
            if let Some(s) = &m.base.zeebe().subscription
                && s.correlation_key
                    .as_deref()
                    .is_none_or(|k| k.trim().is_empty())
            {
                self.push(
                    Code::MissingCorrelationKey,
                    Some(m.id.as_str()),
                    "zeebe:subscription has no correlationKey".into(),
                );
            }
        }
        for s in all {
            let Some(p) = defs.process(s.process.as_str()) else {
                continue;
            };
            if !is_executable(p) {
                continue;
            }
            if s.sub_process.is_none() {
                let none_starts = s
                    .container
                    .start_events()
                    .filter(|n| n.event().is_some_and(|e| e.definitions.is_empty()))
                    .count();
                if none_starts > 1 {
                    self.push(
                        Code::MultipleNoneStartEvents,
                        Some(p.id.as_str()),
                        "a process can have at most one none start event".into(),
                    );
                }
            }
            for n in s.container.flow_nodes() {
                self.zeebe_node(n, s);
            }
        }
    }

    fn zeebe_node(&mut self, n: &FlowNode, s: &Scope<'a>) {
        let id = Some(n.id.as_str());
        let z = n.zeebe();
        let job_type_ok = z
            .task_definition
            .as_ref()
            .and_then(|t| t.job_type.as_deref())
            .is_some_and(|t| !t.trim().is_empty());
        let has_other = |name: &str| {
            n.base
                .extension_elements
                .other
                .iter()
                .any(|e| e.is(crate::xml::ZEEBE_NS, name))
        };
        match &n.kind {
            FlowNodeKind::ServiceTask(_) | FlowNodeKind::SendTask(_) if !job_type_ok => {
                self.push(
                    Code::MissingJobType,
                    id,
                    format!("{} needs a zeebe:taskDefinition with a type", n.kind.tag()),
                );
            }
            FlowNodeKind::BusinessRuleTask(_) if !job_type_ok && !has_other("calledDecision") => {
                self.push(Code::MissingJobType, id, "businessRuleTask needs a zeebe:calledDecision or a zeebe:taskDefinition with a type".into());
            }
            FlowNodeKind::ScriptTask(_) if !job_type_ok && z.script.is_none() => {
                self.push(
                    Code::MissingJobType,
                    id,
                    "scriptTask needs a zeebe:script or a zeebe:taskDefinition with a type".into(),
                );
            }
            FlowNodeKind::CallActivity(_)
                if z.called_element
                    .as_ref()
                    .and_then(|c| c.process_id.as_deref())
                    .is_none_or(|p| p.trim().is_empty()) =>
            {
                self.push(
                    Code::MissingCalledProcess,
                    id,
                    "callActivity needs a zeebe:calledElement with a processId".into(),
                );
            }
            FlowNodeKind::ComplexGateway(_) | FlowNodeKind::Transaction(_) => {
                self.push(
                    Code::UnsupportedElement,
                    id,
                    format!("Zeebe does not execute {}", n.kind.tag()),
                );
            }
            _ => {}
        }
        if let Some(t) = &z.task_definition
            && let Some(r) = t.retries.as_deref()
            && !r.trim_start().starts_with('=')
            && r.trim().parse::<u32>().is_err()
        {
            self.push(
                Code::InvalidRetries,
                id,
                format!("retries {r:?} is not a number or a FEEL expression"),
            );
        }
        if let Some(sc) = &z.script
            && (sc.expression.as_deref().is_none_or(str::is_empty)
                || sc.result_variable.as_deref().is_none_or(str::is_empty))
        {
            self.push(
                Code::InvalidScript,
                id,
                "zeebe:script needs an expression and a resultVariable".into(),
            );
        }
        self.mappings(n);
        if let Some(a) = n.activity() {
            match a.loop_characteristics.as_deref() {
                Some(LoopCharacteristics::MultiInstance(mi)) => {
                    let ok = mi
                        .base
                        .zeebe()
                        .loop_characteristics
                        .as_ref()
                        .and_then(|l| l.input_collection.as_deref())
                        .is_some_and(|c| !c.trim().is_empty());
                    if !ok {
                        self.push(Code::MissingInputCollection, id, "multi-instance needs zeebe:loopCharacteristics with an inputCollection".into());
                    }
                }
                Some(LoopCharacteristics::Standard(_)) => {
                    self.push(
                        Code::UnsupportedElement,
                        id,
                        "Zeebe does not execute standard loops; use multi-instance".into(),
                    );
                }
                None => {}
            }
            if matches!(n.kind, FlowNodeKind::ReceiveTask(_)) {
                self.message(n, a.message_ref.as_ref(), true);
            }
        }
        if let Some(e) = n.event() {
            if e.definitions.len() > 1 {
                self.push(
                    Code::MultipleEventDefinitions,
                    id,
                    "Zeebe supports one event definition per event".into(),
                );
            }
            let process_start =
                s.sub_process.is_none() && matches!(n.kind, FlowNodeKind::StartEvent(_));
            for d in &e.definitions {
                match &d.kind {
                    EventDefinitionKind::Message { message_ref } => {
                        let catching = !matches!(
                            n.kind,
                            FlowNodeKind::IntermediateThrowEvent(_) | FlowNodeKind::EndEvent(_)
                        );
                        if catching {
                            self.message(n, message_ref.as_ref(), !process_start);
                        } else if !job_type_ok {
                            self.push(
                                Code::MissingJobType,
                                id,
                                "a message throw event needs a zeebe:taskDefinition with a type"
                                    .into(),
                            );
                        }
                    }
                    EventDefinitionKind::Timer(t) => self.timer(n, e, t, process_start),
                    EventDefinitionKind::Error { error_ref } => {
                        if matches!(n.kind, FlowNodeKind::EndEvent(_)) {
                            let code = error_ref
                                .as_ref()
                                .and_then(|r| self.defs.error(r.as_str()))
                                .and_then(|e| e.error_code.as_deref());
                            if code.is_none_or(|c| c.trim().is_empty()) {
                                self.push(
                                    Code::MissingErrorCode,
                                    id,
                                    "an error end event needs an error with an errorCode".into(),
                                );
                            }
                        }
                    }
                    EventDefinitionKind::Signal { signal_ref } => {
                        let name = signal_ref
                            .as_ref()
                            .and_then(|r| self.defs.signal(r.as_str()))
                            .and_then(|s| s.name.as_deref());
                        if name.is_none_or(|c| c.trim().is_empty()) {
                            self.push(
                                Code::MissingSignalName,
                                id,
                                "a signal event needs a signal with a name".into(),
                            );
                        }
                    }
                    EventDefinitionKind::Escalation { escalation_ref } => {
                        let throwing = matches!(
                            n.kind,
                            FlowNodeKind::IntermediateThrowEvent(_) | FlowNodeKind::EndEvent(_)
                        );
                        let code = escalation_ref
                            .as_ref()
                            .and_then(|r| self.defs.escalation(r.as_str()))
                            .and_then(|e| e.escalation_code.as_deref());
                        if throwing && code.is_none_or(|c| c.trim().is_empty()) {
                            self.push(
                                Code::MissingEscalationCode,
                                id,
                                "an escalation throw needs an escalation with an escalationCode"
                                    .into(),
                            );
                        }
                    }
                    EventDefinitionKind::Cancel | EventDefinitionKind::Conditional { .. } => {
                        self.push(
                            Code::UnsupportedElement,
                            id,
                            format!("Zeebe does not execute {}", d.kind.tag()),
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    fn message(&mut self, n: &FlowNode, message_ref: Option<&Id>, needs_key: bool) {
        let id = Some(n.id.as_str());
        let Some(m) = message_ref.and_then(|r| self.defs.message(r.as_str())) else {
            self.push(
                Code::MissingMessage,
                id,
                "a message catch needs a message".into(),
            );
            return;
        };
        if m.name.as_deref().is_none_or(|s| s.trim().is_empty()) {
            self.push(
                Code::MissingMessage,
                id,
                format!("message {} has no name", m.id),
            );
        }
        let key = m
            .base
            .zeebe()
            .subscription
            .as_ref()
            .and_then(|s| s.correlation_key.as_deref());
        if needs_key && key.is_none_or(|k| k.trim().is_empty()) {
            self.push(
                Code::MissingCorrelationKey,
                id,
                format!("message {} needs a zeebe:subscription correlationKey", m.id),
            );
        }
    }

    fn timer(&mut self, n: &FlowNode, e: &Event, t: &TimerDefinition, process_start: bool) {
        let id = Some(n.id.as_str());
        let set: Vec<(&str, &Expression)> = [
            ("timeDate", &t.time_date),
            ("timeDuration", &t.time_duration),
            ("timeCycle", &t.time_cycle),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let [(kind, value)] = set.as_slice() else {
            self.push(
                Code::TimerWithoutValue,
                id,
                "a timer needs exactly one of timeDate, timeDuration or timeCycle".into(),
            );
            return;
        };
        let v = value.body.trim();
        if v.is_empty() {
            self.push(Code::TimerWithoutValue, id, format!("{kind} is empty"));
            return;
        }
        if !v.starts_with('=') {
            let ok = match *kind {
                "timeDate" => timer::is_date_time(v),
                "timeDuration" => timer::is_duration(v),
                _ => timer::is_cycle(v),
            };
            if !ok {
                self.push(
                    Code::InvalidTimerValue,
                    id,
                    format!("{kind} {v:?} is not a valid ISO-8601 value"),
                );
            }
        }
        let allowed = match &n.kind {
            FlowNodeKind::StartEvent(_) if process_start => {
                matches!(*kind, "timeDate" | "timeCycle")
            }
            // Start events of event sub-processes behave like boundary events.
            FlowNodeKind::StartEvent(_) => *kind != "timeCycle" || !e.interrupting(),
            FlowNodeKind::IntermediateCatchEvent(_) => matches!(*kind, "timeDate" | "timeDuration"),
            FlowNodeKind::BoundaryEvent(_) => *kind != "timeCycle" || !e.cancels_activity(),
            _ => false,
        };
        if !allowed {
            self.push(
                Code::TimerKindNotAllowed,
                id,
                format!("{kind} is not allowed on {}", n.kind.tag()),
            );
        }
    }

    fn mappings(&mut self, n: &FlowNode) {
        let z = n.zeebe();
        let mut bad = Vec::new();
        if let Some(io) = &z.io_mapping {
            for m in io.inputs.iter().chain(&io.outputs) {
                if m.target.as_deref().is_none_or(|t| t.trim().is_empty()) || m.source.is_none() {
                    bad.push("an input/output mapping needs a source and a target");
                }
            }
        }
        if let Some(h) = &z.task_headers
            && h.headers
                .iter()
                .any(|h| h.key.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            bad.push("a task header needs a key");
        }
        if let Some(p) = &z.properties
            && p.properties
                .iter()
                .any(|p| p.name.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            bad.push("a zeebe property needs a name");
        }
        for msg in bad {
            self.push(Code::InvalidMapping, Some(n.id.as_str()), msg.into());
        }
    }
}

/// Ids inside preserved (untyped) content that diagrams may draw, such as
/// data associations, conversations or choreography elements.
fn preserved_ids<'d>(defs: &'d Definitions, out: &mut HashSet<&'d str>) {
    fn scan<'d>(el: &'d crate::xml::XmlElement, out: &mut HashSet<&'d str>) {
        if let Some(id) = el.attr("id") {
            out.insert(id);
        }
        for c in el.elements() {
            scan(c, out);
        }
    }
    let mut bases: Vec<&'d Base> = vec![&defs.base];
    for r in &defs.root_elements {
        match r {
            RootElement::Other(x) => scan(x, out),
            RootElement::Process(p) => bases.push(&p.base),
            RootElement::Collaboration(c) => bases.push(&c.base),
            _ => {}
        }
    }
    for s in scopes(defs) {
        for fe in &s.container.flow_elements {
            match fe {
                FlowElement::Node(n) => bases.push(&n.base),
                FlowElement::Other(x) => scan(x, out),
                _ => {}
            }
        }
    }
    for b in bases {
        for c in &b.extra.children {
            scan(c, out);
        }
    }
}
