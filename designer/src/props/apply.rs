//! Applying one properties-panel edit to the document, or refusing it and changing nothing.

use bpmn::model::zeebe::{
    CalledElement, Header, IoMapping, Mapping, TaskDefinition, TaskHeaders,
    ZeebeLoopCharacteristics,
};
use bpmn::{
    ArtifactKind, Base, Container, DataKind, Definitions, DiagramElement, Documentation, EditError,
    ErrorDef, EventDefinitionKind, Expression, FlowElement, FlowNode, Id, LaneSet,
    LoopCharacteristics, Message, MultiInstance, RootElement, SequenceFlow, TimerDefinition,
};

use crate::tree::Tree;

use super::read::*;
use super::*;

/// Applies one edit; the document is unchanged when it fails.
pub fn apply(defs: &mut Definitions, id: &str, edit: PropertyEdit) -> Result<(), EditError> {
    let before = defs.clone();
    let result = apply_edit(defs, id, edit);
    if result.is_err() {
        *defs = before;
    }
    result
}

fn refused(msg: impl Into<String>) -> EditError {
    EditError::NotAllowed(msg.into())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}

fn apply_edit(defs: &mut Definitions, id: &str, edit: PropertyEdit) -> Result<(), EditError> {
    let props = properties(defs, id).ok_or_else(|| EditError::NotFound(id.into()))?;
    let section = |present: bool, what: &str| {
        if present {
            Ok(())
        } else {
            Err(refused(format!("{} has no {what}", props.kind)))
        }
    };
    match edit {
        PropertyEdit::Id(new) => rename_id(defs, id, &new),
        PropertyEdit::Name(name) => defs.rename(id, non_empty(&name).as_deref()),
        PropertyEdit::Documentation(text) => {
            let base = base_mut(defs, id)
                .ok_or_else(|| refused(format!("{} has no documentation", props.kind)))?;
            if text.trim().is_empty() {
                base.documentation.clear();
            } else {
                let mut doc = base.documentation.drain(..).next().unwrap_or_default();
                doc.content = Documentation::new(text).content;
                base.documentation = vec![doc];
            }
            Ok(())
        }
        PropertyEdit::TaskType(t) => {
            section(props.task_type.is_some(), "job type")?;
            edit_task_definition(node_mut(defs, id)?, |td| td.job_type = non_empty(&t));
            Ok(())
        }
        PropertyEdit::Retries(r) => {
            section(props.retries.is_some(), "retries")?;
            edit_task_definition(node_mut(defs, id)?, |td| td.retries = non_empty(&r));
            Ok(())
        }
        PropertyEdit::Headers(list) => {
            section(props.headers.is_some(), "task headers")?;
            let z = node_mut(defs, id)?.base.zeebe_mut();
            let extra = z.task_headers.take().map(|h| h.extra).unwrap_or_default();
            let headers: Vec<Header> = list
                .iter()
                .filter(|(k, v)| !k.trim().is_empty() || !v.trim().is_empty())
                .map(|(k, v)| Header {
                    key: non_empty(k),
                    value: non_empty(v),
                    extra: Vec::new(),
                })
                .collect();
            if !headers.is_empty() {
                z.task_headers = Some(TaskHeaders { headers, extra });
            }
            Ok(())
        }
        PropertyEdit::Inputs(list) => {
            section(props.inputs.is_some(), "inputs")?;
            edit_io(node_mut(defs, id)?, |io| io.inputs = mappings(&list));
            Ok(())
        }
        PropertyEdit::Outputs(list) => {
            section(props.outputs.is_some(), "outputs")?;
            edit_io(node_mut(defs, id)?, |io| io.outputs = mappings(&list));
            Ok(())
        }
        PropertyEdit::Condition(text) => {
            section(props.condition.is_some(), "condition")?;
            let f = flow_mut(defs, id)?;
            f.condition = non_empty(&text).map(|body| match f.condition.take() {
                Some(mut e) => {
                    e.body = body;
                    e
                }
                None => Expression::formal(body),
            });
            Ok(())
        }
        PropertyEdit::Default(on) => {
            section(props.is_default.is_some(), "default flag")?;
            let source = flow_mut(defs, id)?.source_ref.to_string();
            if on {
                flow_mut(defs, id)?.condition = None;
            }
            let n = node_mut(defs, &source)?;
            let slot = match &mut n.kind {
                k if k.activity().is_some() => k.activity_mut().map(|a| &mut a.default_flow),
                k => k.gateway_mut().map(|g| &mut g.default_flow),
            };
            if let Some(slot) = slot {
                if on {
                    *slot = Some(Id::from(id));
                } else if slot.as_ref().is_some_and(|d| d == id) {
                    *slot = None;
                }
            }
            Ok(())
        }
        PropertyEdit::Timer(kind, text) => {
            section(props.timer.is_some(), "timer")?;
            let n = node_mut(defs, id)?;
            let e = n.kind.event_mut().ok_or_else(|| refused("not an event"))?;
            let expr = Some(Expression::formal(text));
            let timer = e.definitions.iter_mut().find_map(|d| match &mut d.kind {
                EventDefinitionKind::Timer(t) => Some(t),
                _ => None,
            });
            if let Some(t) = timer {
                *t = match kind {
                    TimerKind::Date => TimerDefinition {
                        time_date: expr,
                        ..TimerDefinition::default()
                    },
                    TimerKind::Duration => TimerDefinition {
                        time_duration: expr,
                        ..TimerDefinition::default()
                    },
                    TimerKind::Cycle => TimerDefinition {
                        time_cycle: expr,
                        ..TimerDefinition::default()
                    },
                };
            }
            Ok(())
        }
        PropertyEdit::MessageName(name) => {
            section(props.message_name.is_some(), "message")?;
            let has = node(defs, id).and_then(message_ref).is_some();
            if !has && name.trim().is_empty() {
                return Ok(());
            }
            let mid = own_message(defs, id)?;
            if let Some(m) = message_mut(defs, &mid) {
                m.name = non_empty(&name);
            }
            Ok(())
        }
        PropertyEdit::CorrelationKey(key) => {
            section(props.correlation_key.is_some(), "correlation key")?;
            let has = node(defs, id).and_then(message_ref).is_some();
            if !has && key.trim().is_empty() {
                return Ok(());
            }
            let mid = own_message(defs, id)?;
            if let Some(m) = message_mut(defs, &mid) {
                let z = m.base.zeebe_mut();
                let mut sub = z.subscription.take().unwrap_or_default();
                sub.correlation_key = non_empty(&key);
                if sub.correlation_key.is_some() || !sub.extra.is_empty() {
                    z.subscription = Some(sub);
                }
            }
            Ok(())
        }
        PropertyEdit::CalledProcessId(pid) => {
            section(props.called_process_id.is_some(), "called process")?;
            let z = node_mut(defs, id)?.base.zeebe_mut();
            let mut c = z.called_element.take().unwrap_or_default();
            c.process_id = non_empty(&pid);
            if c != CalledElement::default() {
                z.called_element = Some(c);
            }
            Ok(())
        }
        PropertyEdit::MultiInstance(mi) => {
            section(props.multi_instance.is_some(), "multi-instance settings")?;
            let n = node_mut(defs, id)?;
            let a = n
                .kind
                .activity_mut()
                .ok_or_else(|| refused("not an activity"))?;
            let Some(p) = mi else {
                a.loop_characteristics = None;
                return Ok(());
            };
            let mut m = match a.loop_characteristics.take().map(|b| *b) {
                Some(LoopCharacteristics::MultiInstance(m)) => m,
                _ => MultiInstance::default(),
            };
            m.is_sequential = p.sequential.then_some(true);
            m.completion_condition = non_empty(&p.completion_condition).map(|body| {
                match m.completion_condition.take() {
                    Some(mut e) => {
                        e.body = body;
                        e
                    }
                    None => Expression::formal(body),
                }
            });
            let z = m.base.zeebe_mut();
            let extra = z
                .loop_characteristics
                .take()
                .map(|l| l.extra)
                .unwrap_or_default();
            let zl = ZeebeLoopCharacteristics {
                input_collection: non_empty(&p.input_collection),
                input_element: non_empty(&p.input_element),
                output_collection: non_empty(&p.output_collection),
                output_element: non_empty(&p.output_element),
                extra,
            };
            if zl != ZeebeLoopCharacteristics::default() {
                z.loop_characteristics = Some(zl);
            }
            a.loop_characteristics = Some(Box::new(LoopCharacteristics::MultiInstance(m)));
            Ok(())
        }
        PropertyEdit::ErrorCode(code) => {
            section(props.error_code.is_some(), "error code")?;
            let has = node(defs, id).and_then(error_ref).is_some();
            if !has && code.trim().is_empty() {
                return Ok(());
            }
            let eid = own_error(defs, id)?;
            if let Some(e) = error_mut(defs, &eid) {
                if e.name.is_none() || e.name == e.error_code {
                    e.name = non_empty(&code);
                }
                e.error_code = non_empty(&code);
            }
            Ok(())
        }
    }
}

fn mappings(list: &[(String, String)]) -> Vec<Mapping> {
    list.iter()
        .filter(|(s, t)| !s.trim().is_empty() || !t.trim().is_empty())
        .map(|(s, t)| Mapping {
            source: non_empty(s),
            target: non_empty(t),
            extra: Vec::new(),
        })
        .collect()
}

/// Edits the task definition and drops it when nothing is left, so the XML stays minimal.
fn edit_task_definition(n: &mut FlowNode, f: impl FnOnce(&mut TaskDefinition)) {
    let z = n.base.zeebe_mut();
    let mut td = z.task_definition.take().unwrap_or_default();
    f(&mut td);
    if td != TaskDefinition::default() {
        z.task_definition = Some(td);
    }
}

fn edit_io(n: &mut FlowNode, f: impl FnOnce(&mut IoMapping)) {
    let z = n.base.zeebe_mut();
    let mut io = z.io_mapping.take().unwrap_or_default();
    f(&mut io);
    if io != IoMapping::default() {
        z.io_mapping = Some(io);
    }
}

fn node<'d>(defs: &'d Definitions, id: &str) -> Option<&'d FlowNode> {
    defs.flow_node(id)
}

fn owner_of(defs: &Definitions, id: &str) -> Result<String, EditError> {
    Tree::new(defs)
        .owner
        .get(id)
        .map(|o| (*o).to_owned())
        .ok_or_else(|| EditError::NotFound(id.into()))
}

fn node_mut<'d>(defs: &'d mut Definitions, id: &str) -> Result<&'d mut FlowNode, EditError> {
    let owner = owner_of(defs, id)?;
    defs.container_mut(&owner)
        .and_then(|c| {
            c.flow_elements.iter_mut().find_map(|fe| match fe {
                FlowElement::Node(n) if n.id == id => Some(n),
                _ => None,
            })
        })
        .ok_or_else(|| EditError::NotFound(id.into()))
}

fn flow_mut<'d>(defs: &'d mut Definitions, id: &str) -> Result<&'d mut SequenceFlow, EditError> {
    let owner = owner_of(defs, id)?;
    defs.container_mut(&owner)
        .and_then(|c| {
            c.flow_elements.iter_mut().find_map(|fe| match fe {
                FlowElement::SequenceFlow(f) if f.id == id => Some(f),
                _ => None,
            })
        })
        .ok_or_else(|| EditError::NotFound(id.into()))
}

fn base_mut<'d>(defs: &'d mut Definitions, id: &str) -> Option<&'d mut Base> {
    if defs.process(id).is_some() {
        return defs.process_mut(id).map(|p| &mut p.base);
    }
    if defs.flow_node(id).is_some() {
        return node_mut(defs, id).ok().map(|n| &mut n.base);
    }
    if defs.sequence_flow(id).is_some() {
        return flow_mut(defs, id).ok().map(|f| &mut f.base);
    }
    for r in &mut defs.root_elements {
        if let RootElement::Collaboration(c) = r {
            if let Some(p) = c.participants.iter_mut().find(|p| p.id == id) {
                return Some(&mut p.base);
            }
            if let Some(m) = c.message_flows.iter_mut().find(|m| m.id == id) {
                return Some(&mut m.base);
            }
        }
    }
    None
}

fn message_mut<'d>(defs: &'d mut Definitions, id: &Id) -> Option<&'d mut Message> {
    defs.root_elements.iter_mut().find_map(|r| match r {
        RootElement::Message(m) if &m.id == id => Some(m),
        _ => None,
    })
}

fn error_mut<'d>(defs: &'d mut Definitions, id: &Id) -> Option<&'d mut ErrorDef> {
    defs.root_elements.iter_mut().find_map(|r| match r {
        RootElement::Error(e) if &e.id == id => Some(e),
        _ => None,
    })
}

/// How many flow nodes refer to the root element `id` (message or error).
fn users(defs: &Definitions, id: &Id, refs: fn(&FlowNode) -> Option<&Id>) -> usize {
    bpmn::walk::all_flow_nodes(defs)
        .filter(|n| refs(n) == Some(id))
        .count()
}

/// The message the element refers to, made its own: created when missing, copied when
/// another element shares it (so renaming it here does not rename it there).
fn own_message(defs: &mut Definitions, id: &str) -> Result<Id, EditError> {
    let current = node(defs, id).and_then(message_ref).cloned();
    let existing = current
        .as_ref()
        .and_then(|r| defs.message(r.as_str()))
        .cloned();
    if let (Some(r), Some(_)) = (&current, &existing)
        && users(defs, r, message_ref) <= 1
    {
        return Ok(r.clone());
    }
    let mid = defs.fresh_id("Message");
    let message = Message {
        id: mid.clone(),
        ..existing.unwrap_or_default()
    };
    defs.root_elements.push(RootElement::Message(message));
    let n = node_mut(defs, id)?;
    if let Some(a) = n.kind.activity_mut() {
        a.message_ref = Some(mid.clone());
    } else if let Some(e) = n.kind.event_mut() {
        for d in &mut e.definitions {
            if let EventDefinitionKind::Message { message_ref } = &mut d.kind {
                *message_ref = Some(mid.clone());
                break;
            }
        }
    }
    Ok(mid)
}

fn own_error(defs: &mut Definitions, id: &str) -> Result<Id, EditError> {
    let current = node(defs, id).and_then(error_ref).cloned();
    let existing = current
        .as_ref()
        .and_then(|r| defs.error(r.as_str()))
        .cloned();
    if let (Some(r), Some(_)) = (&current, &existing)
        && users(defs, r, error_ref) <= 1
    {
        return Ok(r.clone());
    }
    let eid = defs.fresh_id("Error");
    let error = ErrorDef {
        id: eid.clone(),
        ..existing.unwrap_or_default()
    };
    defs.root_elements.push(RootElement::Error(error));
    let n = node_mut(defs, id)?;
    if let Some(e) = n.kind.event_mut() {
        for d in &mut e.definitions {
            if let EventDefinitionKind::Error { error_ref } = &mut d.kind {
                *error_ref = Some(eid.clone());
                break;
            }
        }
    }
    Ok(eid)
}

/// Changes an element's id and every reference to it, DI included.
fn rename_id(defs: &mut Definitions, old: &str, new: &str) -> Result<(), EditError> {
    if new == old {
        return Ok(());
    }
    if !Id::is_valid_ncname(new) {
        return Err(refused(format!(
            "{new:?} is not a valid id: it must start with a letter or _ and contain only \
             letters, digits, _, - and ."
        )));
    }
    if defs.id_in_use(new) {
        return Err(EditError::DuplicateId(new.into()));
    }
    let old_di = format!("{old}_di");
    let new_di = format!("{new}_di");
    let rename_di = !defs.id_in_use(&new_di);
    let r = Rename {
        old,
        new: Id::from(new),
    };
    for root in &mut defs.root_elements {
        match root {
            RootElement::Process(p) => {
                r.id(&mut p.id);
                r.container(&mut p.content);
            }
            RootElement::Collaboration(c) => {
                r.id(&mut c.id);
                for p in &mut c.participants {
                    r.id(&mut p.id);
                    r.opt(&mut p.process_ref);
                }
                for m in &mut c.message_flows {
                    r.id(&mut m.id);
                    r.id(&mut m.source_ref);
                    r.id(&mut m.target_ref);
                    r.opt(&mut m.message_ref);
                }
                for a in &mut c.artifacts {
                    r.artifact(a);
                }
            }
            RootElement::Message(m) => r.id(&mut m.id),
            RootElement::Error(e) => r.id(&mut e.id),
            RootElement::Signal(s) => r.id(&mut s.id),
            RootElement::Escalation(e) => r.id(&mut e.id),
            RootElement::DataStore(d) => r.id(&mut d.id),
            RootElement::Other(_) => {}
        }
    }
    for d in &mut defs.diagrams {
        r.opt(&mut d.plane.bpmn_element);
        for el in &mut d.plane.elements {
            let (id, element) = match el {
                DiagramElement::Shape(s) => (&mut s.id, &mut s.bpmn_element),
                DiagramElement::Edge(e) => {
                    for end in [&mut e.source_element, &mut e.target_element] {
                        if rename_di && end.as_ref().is_some_and(|x| x == old_di.as_str()) {
                            *end = Some(Id::from(new_di.clone()));
                        }
                    }
                    (&mut e.id, &mut e.bpmn_element)
                }
            };
            if element.as_ref().is_some_and(|b| b == old) {
                *element = Some(r.new.clone());
                if rename_di && *id == old_di.as_str() {
                    *id = Id::from(new_di.clone());
                }
            }
        }
    }
    Ok(())
}

struct Rename<'a> {
    old: &'a str,
    new: Id,
}

impl Rename<'_> {
    fn id(&self, id: &mut Id) {
        if id == self.old {
            *id = self.new.clone();
        }
    }

    fn opt(&self, id: &mut Option<Id>) {
        if let Some(id) = id {
            self.id(id);
        }
    }

    fn artifact(&self, a: &mut bpmn::Artifact) {
        self.id(&mut a.id);
        if let ArtifactKind::Association {
            source_ref,
            target_ref,
            ..
        } = &mut a.kind
        {
            self.opt(source_ref);
            self.opt(target_ref);
        }
    }

    fn lanes(&self, ls: &mut LaneSet) {
        self.id(&mut ls.id);
        for l in &mut ls.lanes {
            self.id(&mut l.id);
            for n in &mut l.flow_node_refs {
                self.id(n);
            }
            if let Some(c) = &mut l.child_lane_set {
                self.lanes(c);
            }
        }
    }

    fn container(&self, c: &mut Container) {
        for ls in &mut c.lane_sets {
            self.lanes(ls);
        }
        for fe in &mut c.flow_elements {
            match fe {
                FlowElement::Node(n) => self.node(n),
                FlowElement::SequenceFlow(f) => {
                    self.id(&mut f.id);
                    self.id(&mut f.source_ref);
                    self.id(&mut f.target_ref);
                }
                FlowElement::Data(d) => {
                    self.id(&mut d.id);
                    match &mut d.kind {
                        DataKind::DataObjectReference { data_object_ref: r }
                        | DataKind::DataStoreReference { data_store_ref: r } => self.opt(r),
                        DataKind::DataObject { .. } => {}
                    }
                }
                FlowElement::Other(_) => {}
            }
        }
        for a in &mut c.artifacts {
            self.artifact(a);
        }
    }

    fn node(&self, n: &mut FlowNode) {
        self.id(&mut n.id);
        n.incoming.iter_mut().for_each(|r| self.id(r));
        n.outgoing.iter_mut().for_each(|r| self.id(r));
        if let Some(e) = n.kind.event_mut() {
            self.opt(&mut e.attached_to_ref);
            for d in &mut e.definitions {
                match &mut d.kind {
                    EventDefinitionKind::Message { message_ref: r }
                    | EventDefinitionKind::Error { error_ref: r }
                    | EventDefinitionKind::Signal { signal_ref: r }
                    | EventDefinitionKind::Escalation { escalation_ref: r }
                    | EventDefinitionKind::Compensate {
                        activity_ref: r, ..
                    } => self.opt(r),
                    _ => {}
                }
            }
        }
        if let Some(g) = n.kind.gateway_mut() {
            self.opt(&mut g.default_flow);
        }
        if let Some(a) = n.kind.activity_mut() {
            self.opt(&mut a.default_flow);
            self.opt(&mut a.message_ref);
            self.container(&mut a.content);
        }
    }
}
