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
