//! The `bpmn-roundtrip` tool: one line per file, a summary, the right exit code.

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bpmn-roundtrip"))
        .args(args)
        .output()
        .expect("the tool runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn passes_on_the_reference_models() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("MIWG folder {dir}: {e}"))
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|p| p.ends_with(".bpmn"))
        .collect();
    files.sort();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (ok, stdout) = run(&args);
    assert!(ok, "{stdout}");
    assert_eq!(stdout.lines().count(), files.len() + 1);
    assert_eq!(stdout.lines().last(), Some("12 passed, 0 failed"));
}

#[test]
fn unreadable_and_malformed_input_fail_without_panicking() {
    let dir = std::env::temp_dir().join(format!("bpmn-roundtrip-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.bpmn");
    std::fs::write(&bad, "<bpmn:definitions").expect("write");
    let missing = dir.join("missing.bpmn");
    let (ok, stdout) = run(&[&bad.display().to_string(), &missing.display().to_string()]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!ok);
    assert!(
        stdout.contains("FAIL") && stdout.contains("cannot read"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("0 passed, 2 failed"));
}

#[test]
fn out_writes_what_we_write_under_the_input_file_name() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let input = format!("{fixtures}/default-namespace-camunda.bpmn");
    let out = std::env::temp_dir().join(format!("bpmn-roundtrip-out-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let (ok, stdout) = run(&["--out", &out.display().to_string(), &input]);
    let written = std::fs::read_to_string(out.join("default-namespace-camunda.bpmn"));
    std::fs::remove_dir_all(&out).ok();
    assert!(ok, "{stdout}");
    let defs = bpmn::parse_bytes(
        &std::fs::read(&input).expect("fixture"),
        &bpmn::ParseOptions::default(),
    )
    .expect("parses");
    assert_eq!(written.expect("written file"), bpmn::to_xml(&defs));
}

#[test]
fn out_refuses_two_inputs_of_one_name() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg");
    let out = std::env::temp_dir().join(format!("bpmn-roundtrip-dup-{}", std::process::id()));
    let a = format!("{dir}/A.1.0.bpmn");
    let b = format!("{dir}/../miwg/A.1.0.bpmn");
    let status = Command::new(env!("CARGO_BIN_EXE_bpmn-roundtrip"))
        .args(["--out", &out.display().to_string(), &a, &b])
        .output()
        .expect("the tool runs");
    let created = out.exists();
    std::fs::remove_dir_all(&out).ok();
    assert_eq!(status.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("two inputs are named A.1.0.bpmn"),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        !created,
        "nothing is written when the arguments are refused"
    );
}
