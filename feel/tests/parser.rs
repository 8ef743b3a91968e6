//! Parser cases shared with the wasm32 suite, run natively.

mod support {
    pub mod parse_cases;
}

#[test]
fn shared_parser_cases() {
    let failures = support::parse_cases::failures();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
