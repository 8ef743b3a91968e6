//! The OMG MIWG reference models must round-trip: parse → write → parse gives
//! an equal model, writing is deterministic, and nothing in the original
//! document is lost on the way (checked on a generic view of both documents).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bpmn::xml::{XmlElement, XmlNode};
use bpmn::{ParseOptions, parse, parse_bytes, read_tree, to_xml};

/// The reference models, kept in the repository as test data (see its README for the licence).
const MIWG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg");

fn miwg_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(MIWG)
        .unwrap_or_else(|e| panic!("MIWG folder {MIWG}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bpmn"))
        .collect();
    files.sort();
    files
}

#[test]
fn all_twelve_reference_models_are_present() {
    assert_eq!(
        miwg_files().len(),
        12,
        "expected the 12 MIWG reference models"
    );
}

#[test]
fn reference_models_round_trip_to_an_equal_model() {
    for path in miwg_files() {
        let bytes = std::fs::read(&path).expect("readable");
        let first = parse_bytes(&bytes, &ParseOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let xml = to_xml(&first);
        let second = parse(&xml).unwrap_or_else(|e| panic!("{}: re-parse: {e}", path.display()));
        assert!(
            first == second,
            "{}: model changed on round-trip",
            path.display()
        );
        assert_eq!(
            to_xml(&second),
            xml,
            "{}: writing is not deterministic",
            path.display()
        );
    }
}

/// A multiset of facts about a document that ignores order, prefixes and
/// indentation: element names, attribute values and non-blank text.
fn facts(el: &XmlElement, out: &mut BTreeMap<String, usize>) {
    let ns = el.ns.as_deref().unwrap_or("");
    let is_geometry = matches!(el.name.as_str(), "Bounds" | "waypoint");
    let empty_extension = el.name == "extensionElements" && el.children.is_empty();
    if !empty_extension {
        *out.entry(format!("element {ns} {}", el.name)).or_default() += 1;
    }
    for a in &el.attrs {
        let ans = a.ns.as_deref().unwrap_or("");
        if is_geometry && a.name == "type" {
            // `xsi:type="dc:Point"` only restates the schema type; it is not kept.
            continue;
        }
        // QName-valued attributes may have their prefix rewritten.
        let value = match a.value.split_once(':') {
            Some((p, local)) if !p.contains('/') && !local.contains(':') => local,
            _ => a.value.as_str(),
        };
        let value = if is_geometry || a.name == "size" || a.name == "resolution" {
            format!("{}", value.trim().parse::<f64>().unwrap_or(f64::NAN))
        } else {
            value.to_owned()
        };
        *out.entry(format!("attr {ns} {} {ans} {} = {value}", el.name, a.name))
            .or_default() += 1;
    }
    for c in &el.children {
        match c {
            XmlNode::Element(e) => facts(e, out),
            XmlNode::Text(t) if !t.trim().is_empty() => {
                *out.entry(format!("text {ns} {} {}", el.name, t.trim()))
                    .or_default() += 1;
            }
            XmlNode::Text(_) => {}
        }
    }
}

#[test]
fn reference_models_lose_nothing() {
    for path in miwg_files() {
        let bytes = std::fs::read(&path).expect("readable");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let defs = parse_bytes(&bytes, &ParseOptions::default()).expect("parses");
        let written = to_xml(&defs);
        let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
        facts(
            &read_tree(&text, &ParseOptions::default()).expect("tree"),
            &mut before,
        );
        facts(
            &read_tree(&written, &ParseOptions::default()).expect("tree"),
            &mut after,
        );
        let lost: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .collect();
        let added: Vec<_> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .collect();
        assert!(
            lost.is_empty() && added.is_empty(),
            "{}: lost {lost:#?}\nadded {added:#?}",
            path.display()
        );
    }
}

#[test]
fn reference_models_are_typed_not_just_preserved() {
    let path = Path::new(MIWG).join("B.1.0.bpmn");
    let defs = parse_bytes(
        &std::fs::read(path).expect("readable"),
        &ParseOptions::default(),
    )
    .expect("parses");
    let nodes: Vec<_> = bpmn::walk::all_flow_nodes(&defs).collect();
    assert_eq!(nodes.len(), 29);
    assert!(
        nodes
            .iter()
            .any(|n| matches!(n.kind, bpmn::FlowNodeKind::CallActivity(_)))
    );
    assert!(bpmn::walk::all_sequence_flows(&defs).count() >= 26);
    assert!(defs.collaborations().next().is_some());
    assert!(!defs.diagrams.is_empty());
    // The main process is drawn; called processes and collapsed sub-process bodies are not.
    let main = defs.processes().next().expect("a process");
    for n in main.flow_nodes() {
        assert!(defs.shape(n.id.as_str()).is_some(), "no shape for {}", n.id);
    }
}
