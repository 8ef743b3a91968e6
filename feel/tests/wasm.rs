//! The parser subset (and a few evaluations) under `wasm32-unknown-unknown`, where the
//! designer runs it. Run in Node with `wasm-bindgen-test-runner`:
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p feel --target wasm32-unknown-unknown --test wasm
//! ```
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

mod support {
    pub mod parse_cases;
}

#[wasm_bindgen_test]
fn shared_parser_cases() {
    let failures = support::parse_cases::failures();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn diagnostics_have_spans() {
    let d = feel::check("a >\n  ) ");
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].span.line, d[0].span.column, d[0].span.offset),
        (2, 3, 6)
    );
}

#[wasm_bindgen_test]
fn evaluates_without_a_clock() {
    let vars = serde_json::json!({"amount": 150, "customer": {"tier": "gold"}});
    let v = feel::eval_str("amount > 100 and customer.tier = \"gold\"", &vars).expect("parses");
    assert_eq!(v, serde_json::json!(true));
    assert_eq!(
        feel::eval_str("0.1 + 0.2", &vars).expect("parses"),
        serde_json::json!(0.3)
    );
    // No system clock in the browser: now() is null with a warning.
    let expr = feel::parse("now()").expect("parses");
    let out = feel::evaluate(&expr, &vars, &feel::default_options());
    assert!(out.value.is_null());
    assert_eq!(out.warnings.len(), 1);
}
