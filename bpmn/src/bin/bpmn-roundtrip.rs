//! `bpmn-roundtrip [--out DIR] FILE...`: for each file, parse, serialise, parse
//! again and compare the two models; also check that serialising again gives
//! the same bytes. Prints one line per file and a summary, and exits non-zero
//! if any file failed. With `--out DIR`, the written XML of each file that
//! passed is saved as `DIR/<file name>`, so other BPMN readers can be tried on
//! exactly what we write.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: bpmn-roundtrip [--out DIR] FILE...";

fn check(path: &str, out: Option<&Path>) -> Result<String, String> {
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
    if let Some(target) = out {
        std::fs::write(target, &xml)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
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

struct Args {
    out: Option<PathBuf>,
    files: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut out = None;
    let mut files = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => match it.next() {
                Some(dir) if out.is_none() => out = Some(PathBuf::from(dir)),
                Some(_) => return Err("--out given twice".into()),
                None => return Err("--out needs a directory".into()),
            },
            "--" => files.extend(it.by_ref()),
            _ => files.push(a),
        }
    }
    if files.is_empty() {
        return Err("no files given".into());
    }
    Ok(Args { out, files })
}

/// The output path of each input under `dir`, which is created; two inputs of
/// one file name would overwrite each other, so that is refused before anything
/// is written.
fn prepare(dir: &Path, files: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut targets: Vec<PathBuf> = Vec::new();
    for f in files {
        let name = Path::new(f)
            .file_name()
            .ok_or_else(|| format!("{f}: not a file name"))?;
        let target = dir.join(name);
        if targets.contains(&target) {
            return Err(format!(
                "two inputs are named {}; --out keeps file names, so they must differ",
                name.to_string_lossy()
            ));
        }
        targets.push(target);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(targets)
}

fn main() -> ExitCode {
    let Args { out, files } = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bpmn-roundtrip: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let targets = match out.as_deref().map(|dir| prepare(dir, &files)).transpose() {
        Ok(Some(t)) => t.into_iter().map(Some).collect(),
        Ok(None) => vec![None; files.len()],
        Err(e) => {
            eprintln!("bpmn-roundtrip: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for (f, target) in files.iter().zip(&targets) {
        match check(f, target.as_deref()) {
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
