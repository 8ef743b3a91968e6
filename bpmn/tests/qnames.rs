//! QName-valued attributes keep their meaning when we write a document with other
//! prefixes than its source: `xsi:type` values are resolved against the declarations
//! in scope (the default namespace included) and re-prefixed, prefixed references are
//! re-prefixed, unprefixed references stay plain ids, and other attributes keep their
//! text. Checked by resolving the values of both documents with an XML reader of their
//! own, not by comparing our output with itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bpmn::xml::{BPMN_NS, XSI_NS};
use bpmn::{Definitions, ParseOptions, parse, parse_bytes, to_xml};
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const MIWG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg");
const VENDOR: &str = "http://example.com/vendor";

/// One attribute value as a reader sees it: the element and attribute it sits on
/// (local names), the value as written, and the namespace its prefix — or, for
/// `xsi:type`, the default namespace — is bound to where it is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Value {
    element: String,
    attr: String,
    written: String,
    ns: Option<String>,
    local: String,
}

/// Every value of the attributes `wanted` (namespace, local name) in `xml`.
fn values(xml: &str, wanted: &[(Option<&str>, &str)]) -> Vec<Value> {
    let mut reader = NsReader::from_str(xml);
    let mut out = Vec::new();
    loop {
        let start = match reader.read_event().expect("well-formed XML") {
            Event::Start(s) | Event::Empty(s) => s,
            Event::Eof => break,
            _ => continue,
        };
        let resolver = reader.resolver();
        let element = resolver.resolve_element(start.name()).1.as_ref().to_owned();
        for attr in start.attributes() {
            let attr = attr.expect("attribute");
            if attr.key.as_namespace_binding().is_some() {
                continue;
            }
            let (ans, local) = resolver.resolve_attribute(attr.key);
            let ans = match ans {
                ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
                _ => None,
            };
            let name = local.as_ref().to_owned();
            if !wanted.contains(&(ans.as_deref(), name.as_str())) {
                continue;
            }
            let written = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .expect("value")
                .into_owned();
            let is_type = ans.as_deref() == Some(XSI_NS);
            let (ns, local) = match written.split_once(':') {
                Some((_, local)) => (resolver.resolve_element(QName(&written)).0, local),
                // An unprefixed xsi:type is in the default namespace; an unprefixed
                // reference is an id of this document.
                None if is_type => (resolver.resolve_element(QName(&written)).0, &*written),
                None => (ResolveResult::Unbound, &*written),
            };
            let ns = match ns {
                ResolveResult::Bound(ns) if !ns.as_ref().is_empty() => Some(ns.as_ref().to_owned()),
                ResolveResult::Unknown(p) => Some(format!("undeclared prefix {p}")),
                _ => None,
            };
            out.push(Value {
                element: element.clone(),
                attr: name,
                ns,
                local: local.to_owned(),
                written,
            });
        }
    }
    out.sort();
    out
}

const XSI_TYPE: (Option<&str>, &str) = (Some(XSI_NS), "type");

/// Reads a fixture and checks that what we write reads back to the same model
/// and is written again byte for byte.
fn round_trip(path: &Path) -> (String, Definitions, String) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let defs = parse_bytes(&bytes, &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let written = to_xml(&defs);
    let again = parse(&written).unwrap_or_else(|e| panic!("{}: re-parse: {e}", path.display()));
    assert!(
        again == defs,
        "{}: the written document reads back to another model",
        path.display()
    );
    assert_eq!(to_xml(&again), written, "{}", path.display());
    (source, defs, written)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The `(namespace, local name)` pairs of the `xsi:type` values of a document.
fn types(xml: &str) -> Vec<(Option<String>, String)> {
    let mut out: Vec<_> = values(xml, &[XSI_TYPE])
        .into_iter()
        // `xsi:type="dc:Point"` on bounds and waypoints only restates the schema; it is not kept.
        .filter(|v| !matches!(v.element.as_str(), "Bounds" | "waypoint"))
        .map(|v| (v.ns, v.local))
        .collect();
    out.sort();
    out
}

#[test]
fn default_namespace_type_values_get_the_prefix_written_for_their_namespace() {
    let (source, defs, written) = round_trip(&fixture("default-namespace-camunda.bpmn"));
    let formal = (Some(BPMN_NS.to_owned()), "tFormalExpression".to_owned());
    assert_eq!(types(&source), vec![formal; 3]);
    assert_eq!(types(&written), types(&source), "{written}");
    // What bpmn-js reads: the three expressions under the prefix bound to the BPMN namespace.
    let written_values: Vec<String> = values(&written, &[XSI_TYPE])
        .into_iter()
        .map(|v| (v.element, v.written))
        .map(|(e, w)| format!("{e} {w}"))
        .collect();
    assert_eq!(
        written_values,
        [
            "conditionExpression bpmn:tFormalExpression",
            "timeCycle bpmn:tFormalExpression",
            "timeDuration bpmn:tFormalExpression",
        ]
    );
    assert!(
        !written.contains("xmlns=\""),
        "no default namespace is written"
    );
    // The model holds the value with the prefix that the written document declares.
    let condition = defs
        .sequence_flow("Flow_Pay")
        .and_then(|f| f.condition.as_ref())
        .expect("the condition of Flow_Pay");
    assert_eq!(condition.body, "=covered = true");
    assert_eq!(
        condition
            .extra_attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(XSI_NS) && a.name == "type")
            .map(|a| a.value.as_str()),
        Some("bpmn:tFormalExpression")
    );
}

#[test]
fn type_values_follow_the_declarations_in_scope_where_they_are_written() {
    let (source, _, written) = round_trip(&fixture("nested-default-namespace.bpmn"));
    let bpmn = Some(BPMN_NS.to_owned());
    let mut expected = vec![
        (bpmn.clone(), "tFormalExpression".to_owned()),
        (bpmn, "tFormalExpression".to_owned()),
        (Some(VENDOR.to_owned()), "tApproval".to_owned()),
    ];
    expected.sort();
    assert_eq!(types(&source), expected);
    assert_eq!(types(&written), expected, "{written}");
}

#[test]
fn unprefixed_references_stay_ids_and_still_resolve() {
    let (source, defs, written) = round_trip(&fixture("default-namespace-camunda.bpmn"));
    let refs = [
        (None, "messageRef"),
        (None, "attachedToRef"),
        (None, "bpmnElement"),
        (None, "default"),
        (None, "sourceRef"),
        (None, "targetRef"),
    ];
    let before = values(&source, &refs);
    assert!(before.len() > 30, "the fixture has references: {before:?}");
    assert!(before.iter().all(|v| !v.written.contains(':')));
    assert_eq!(values(&written, &refs), before);
    let late = defs.flow_node("DocumentsLate").expect("boundary event");
    let attached = late.kind.event().and_then(|e| e.attached_to_ref.as_ref());
    assert_eq!(attached.map(|id| id.as_str()), Some("WaitForDocuments"));
    assert!(defs.shape("WaitForDocuments").is_some());
}

#[test]
fn prefixed_references_keep_their_namespace() {
    let (source, _, written) = round_trip(&fixture("nested-default-namespace.bpmn"));
    let refs = [
        (None, "structureRef"),
        (None, "itemSubjectRef"),
        (None, "processRef"),
    ];
    let before = values(&source, &refs);
    let after = values(&written, &refs);
    let meaning = |vs: &[Value]| -> Vec<(String, Option<String>, String)> {
        vs.iter()
            .map(|v| (v.attr.clone(), v.ns.clone(), v.local.clone()))
            .collect()
    };
    assert_eq!(meaning(&after), meaning(&before), "{written}");
    assert!(after.iter().any(|v| v.written == "xsd:decimal"
        && v.ns.as_deref() == Some("http://www.w3.org/2001/XMLSchema")));
    // Unprefixed references are written exactly as they were read.
    for v in before.iter().filter(|v| !v.written.contains(':')) {
        assert!(after.contains(v), "{v:?} changed");
    }
}

/// A prefix bound to one namespace on the root and to another further in: the
/// value inside keeps the inner binding's namespace, though the written document
/// declares every prefix once, on its root.
#[test]
fn a_prefix_bound_twice_keeps_the_binding_in_scope() {
    let doc = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:x="urn:example:one" id="D">
      <bpmn:process id="P">
        <bpmn:extensionElements>
          <x:first xsi:type="x:One"/>
          <x:second xmlns:x="urn:example:two" xsi:type="x:Two"/>
          <x:third xmlns:bpmn="urn:example:three" xsi:type="bpmn:Three"/>
        </bpmn:extensionElements>
      </bpmn:process>
    </bpmn:definitions>"#;
    let defs = parse(doc).expect("parses");
    let written = to_xml(&defs);
    assert_eq!(parse(&written).expect("re-parses"), defs);
    assert_eq!(types(&written), types(doc), "{written}");
    assert_eq!(
        types(doc),
        [
            (Some("urn:example:one".to_owned()), "One".to_owned()),
            (Some("urn:example:three".to_owned()), "Three".to_owned()),
            (Some("urn:example:two".to_owned()), "Two".to_owned()),
        ]
    );
}

/// One namespace under two prefixes, the one declared further in sorting first:
/// a value read before that declaration must still get the prefix the written
/// document reads back, or parse → write → parse would not give an equal model.
#[test]
fn a_namespace_with_two_prefixes_is_written_with_one_prefix_for_good() {
    let doc = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:b="urn:example:v" id="D">
      <bpmn:process id="P">
        <bpmn:extensionElements>
          <b:first xsi:type="b:One"/>
          <a:second xmlns:a="urn:example:v" xsi:type="a:Two"/>
        </bpmn:extensionElements>
      </bpmn:process>
    </bpmn:definitions>"#;
    let defs = parse(doc).expect("parses");
    let written = to_xml(&defs);
    let again = parse(&written).expect("re-parses");
    assert_eq!(again, defs, "{written}");
    assert_eq!(to_xml(&again), written);
    assert_eq!(types(&written), types(doc), "{written}");
}

/// Only QName-typed attributes are rewritten: a name or a job type that happens to
/// look like `prefix:local` is text, and keeps the prefix it was written with.
#[test]
fn attributes_that_are_not_qnames_keep_their_text() {
    let doc = r#"<semantic:definitions xmlns:semantic="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D">
      <semantic:process id="P" name="semantic:Review">
        <semantic:serviceTask id="T" name="semantic:Check">
          <semantic:extensionElements>
            <zeebe:taskDefinition type="semantic:check" />
          </semantic:extensionElements>
        </semantic:serviceTask>
      </semantic:process>
    </semantic:definitions>"#;
    let defs = parse(doc).expect("parses");
    assert_eq!(
        defs.process("P").and_then(|p| p.name.as_deref()),
        Some("semantic:Review")
    );
    let task = defs.flow_node("T").expect("task");
    assert_eq!(task.name.as_deref(), Some("semantic:Check"));
    let job = task
        .base
        .extension_elements
        .zeebe
        .task_definition
        .as_ref()
        .and_then(|t| t.job_type.as_deref());
    assert_eq!(job, Some("semantic:check"));
    let written = to_xml(&defs);
    assert!(written.contains(r#"name="semantic:Review""#), "{written}");
    assert!(written.contains(r#"type="semantic:check""#), "{written}");
}

/// Values that name nothing we can resolve are written as they were read: an
/// unprefixed type without a default namespace, an undeclared prefix, and the
/// reserved `xmlns` prefix (a declaration for it would make the output unreadable).
#[test]
fn unresolvable_type_values_are_left_as_written() {
    let doc = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D">
      <bpmn:process id="P">
        <bpmn:sequenceFlow id="F" sourceRef="A" targetRef="B">
          <bpmn:conditionExpression xsi:type="tFormalExpression">=ok</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="G" sourceRef="A" targetRef="B">
          <bpmn:conditionExpression xsi:type="nowhere:tFormalExpression">=ok</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="H" sourceRef="A" targetRef="B">
          <bpmn:conditionExpression xsi:type="xmlns:tFormalExpression">=ok</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
      </bpmn:process>
    </bpmn:definitions>"#;
    let defs = parse(doc).expect("parses");
    let written = to_xml(&defs);
    assert_eq!(parse(&written).expect("re-parses"), defs);
    let mut before: Vec<String> = values(doc, &[XSI_TYPE])
        .into_iter()
        .map(|v| v.written)
        .collect();
    before.sort();
    let after: Vec<String> = values(&written, &[XSI_TYPE])
        .into_iter()
        .map(|v| v.written)
        .collect();
    assert_eq!(after, before);
}

/// Every reference model keeps the meaning of its `xsi:type` values, among them
/// C.1.0, C.1.1 and C.3.0, whose BPMN namespace is the default one.
#[test]
fn reference_models_keep_the_meaning_of_their_type_values() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(MIWG)
        .unwrap_or_else(|e| panic!("MIWG folder {MIWG}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bpmn"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    let mut counts = BTreeMap::new();
    for path in &files {
        let (source, _, written) = round_trip(path);
        let before = types(&source);
        assert_eq!(types(&written), before, "{}", path.display());
        counts.insert(path.file_name().map(|n| n.to_owned()), before.len());
    }
    let typed = counts.values().filter(|n| **n > 0).count();
    assert!(
        typed >= 4,
        "too few models with xsi:type values: {counts:?}"
    );
}
