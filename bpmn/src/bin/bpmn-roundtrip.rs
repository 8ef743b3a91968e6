//! `bpmn-roundtrip FILE...`: for each file, parse, serialise, parse again and
//! compare the two models; also check that serialising again gives the same
//! bytes. Prints one line per file and a summary, and exits non-zero if any
//! file failed.

use std::process::ExitCode;

fn check(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let options = bpmn::ParseOptions::default();
    let first = bpmn::parse_bytes(&bytes, &options).map_err(|e| format!("parse: {e}"))?;
    let xml = bpmn::to_xml(&first);
    let second = bpmn::parse(&xml).map_err(|e| format!("re-parse of written XML: {e}"))?;
    if first != second {
        return Err(format!(
            "models differ after round-trip: {}",
            first_difference(&first, &second)
        ));
    }
    if bpmn::to_xml(&second) != xml {
        return Err("writing the re-parsed model gave different bytes".into());
    }
    let nodes = bpmn::walk::all_flow_nodes(&first).count();
    Ok(format!("{nodes} flow nodes, {} bytes written", xml.len()))
}

fn first_difference(a: &bpmn::Definitions, b: &bpmn::Definitions) -> String {
    let a = format!("{a:#?}");
    let b = format!("{b:#?}");
    for (i, (la, lb)) in a.lines().zip(b.lines()).enumerate() {
        if la != lb {
            return format!(
                "line {} of the debug dump: {:?} vs {:?}",
                i + 1,
                la.trim(),
                lb.trim()
            );
        }
    }
    "one model dump is a prefix of the other".into()
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: bpmn-roundtrip FILE...");
        return ExitCode::from(2);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for f in &files {
        match check(f) {
            Ok(info) => {
                passed += 1;
                println!("ok   {f} ({info})");
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {f}: {e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
