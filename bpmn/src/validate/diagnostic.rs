//! The findings: severities, the stable codes and their summaries, and [`Diagnostic`].

use std::fmt;

use serde::{Deserialize, Serialize};

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
