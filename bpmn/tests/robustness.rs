//! Bad input is refused with a clear error and a position, never a panic.

use bpmn::{ParseError, ParseOptions, parse, parse_bytes, parse_with, to_xml};

const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
  <bpmn:process id="P" isExecutable="true"/>
</bpmn:definitions>
"#;

#[test]
fn dtds_and_external_entities_are_refused() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>"#;
    let err = parse(xxe).expect_err("DTD refused");
    assert!(
        matches!(err, ParseError::Dtd { line: 2, column: 1 }),
        "{err:?}"
    );
    assert_eq!(err.code(), "bpmn.dtd_refused");
}

#[test]
fn undeclared_entities_are_refused() {
    let doc = MINIMAL.replace("id=\"P\"", "id=\"P\" name=\"&bogus;\"");
    assert!(matches!(
        parse(&doc),
        Err(ParseError::Syntax { line: 3, .. })
    ));
    let text = MINIMAL.replace(
        "<bpmn:process id=\"P\" isExecutable=\"true\"/>",
        "<bpmn:documentation>&lol;</bpmn:documentation>",
    );
    let err = parse(&text).expect_err("entity refused");
    assert!(err.to_string().contains("undeclared entity &lol;"), "{err}");
}

#[test]
fn size_and_depth_limits_apply() {
    let small = ParseOptions {
        max_size: 64,
        ..ParseOptions::default()
    };
    assert!(matches!(
        parse_with(MINIMAL, &small),
        Err(ParseError::TooLarge { limit: 64, .. })
    ));
    let nested = format!(
        "{}{}{}",
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:extensionElements>"#,
        "<a>".repeat(300),
        "</a>".repeat(300)
    );
    let err = parse(&nested).expect_err("too deep");
    assert!(
        matches!(
            err,
            ParseError::TooDeep {
                limit: 256,
                line: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let shallow = ParseOptions {
        max_depth: 3,
        ..ParseOptions::default()
    };
    assert!(parse_with(MINIMAL, &shallow).is_ok());
    let shallower = ParseOptions {
        max_depth: 1,
        ..ParseOptions::default()
    };
    assert!(matches!(
        parse_with(MINIMAL, &shallower),
        Err(ParseError::TooDeep { .. })
    ));
}

#[test]
fn errors_carry_line_and_column() {
    let broken = MINIMAL.replace("</bpmn:definitions>", "</bpmn:definition>");
    let err = parse(&broken).expect_err("mismatched end tag");
    assert_eq!(err.line(), Some(4));
    assert!(err.column().is_some());
    let not_bpmn = parse("<html/>").expect_err("wrong root");
    assert!(
        matches!(
            not_bpmn,
            ParseError::Model {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{not_bpmn:?}"
    );
    let unbound = parse("<x:definitions/>").expect_err("unbound prefix");
    assert!(unbound.to_string().contains("not declared"), "{unbound}");
    let no_bounds = MINIMAL.replace(
        "</bpmn:definitions>",
        r#"<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"><bpmndi:BPMNPlane><bpmndi:BPMNShape id="S"/></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"#,
    );
    let err = parse(&no_bounds).expect_err("shape without bounds");
    assert_eq!(err.element_id(), Some("S"));
    assert_eq!(err.line(), Some(4));
}

#[test]
fn encodings_are_decoded() {
    let latin1: Vec<u8> = MINIMAL
        .replace("UTF-8", "ISO-8859-1")
        .replace("id=\"P\"", "id=\"P\" name=\"Caf\u{e9}\"")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
        .collect();
    let defs = parse_bytes(&latin1, &ParseOptions::default()).expect("latin-1 parses");
    assert_eq!(
        defs.processes().next().and_then(|p| p.name.as_deref()),
        Some("Caf\u{e9}")
    );
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        MINIMAL
            .replace("UTF-8", "UTF-16")
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    assert!(parse_bytes(&utf16, &ParseOptions::default()).is_ok());
    let bad = parse_bytes(
        b"<?xml version=\"1.0\"?>\n<a \xff/>",
        &ParseOptions::default(),
    );
    assert!(
        matches!(
            bad,
            Err(ParseError::Encoding {
                line: 2,
                column: 4,
                ..
            })
        ),
        "{bad:?}"
    );
    let ebcdic = parse_bytes(
        b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><a/>",
        &ParseOptions::default(),
    );
    assert!(matches!(ebcdic, Err(ParseError::Encoding { .. })));
}

/// Found by the fuzzer: a namespace name with a tab read back differently,
/// because namespace names are compared unnormalised.
#[test]
fn regression_namespace_name_needing_escapes() {
    let doc = "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" \
               xmlns:x=\"urn:a\tb\"><x:y/></bpmn:definitions>";
    assert!(matches!(parse(doc), Err(ParseError::Syntax { .. })));
    // Second finding: '>' is legal unescaped in an attribute but is written escaped.
    let gt = doc.replace("urn:a\tb", "urn:a]]>b");
    assert!(matches!(parse(&gt), Err(ParseError::Syntax { .. })));
}

/// Found by the fuzzer: a name in the reserved xmlns namespace was given an
/// ordinary prefix on writing, which no parser accepts.
#[test]
fn regression_names_in_the_xmlns_namespace() {
    let doc = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><xmlns:x/></bpmn:definitions>"#;
    let err = parse(doc).expect_err("refused");
    assert!(err.to_string().contains("reserved"), "{err}");
}

#[test]
fn truncated_and_mangled_documents_never_panic() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg"));
    let bytes = std::fs::read(dir.join("A.4.1.bpmn")).expect("MIWG model A.4.1 is readable");
    for cut in (0..bytes.len()).step_by(97) {
        let _ = parse_bytes(&bytes[..cut], &ParseOptions::default());
        let mut flipped = bytes.clone();
        flipped[cut] ^= 0x20;
        if let Ok(defs) = parse_bytes(&flipped, &ParseOptions::default()) {
            let xml = to_xml(&defs);
            assert_eq!(parse(&xml).expect("written XML parses"), defs);
        }
    }
}
