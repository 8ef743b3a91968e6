//! Parses arbitrary text as a FEEL expression and as unary tests, evaluates whatever parses
//! against a fixed set of variables, and converts the result to JSON. Any panic, stack
//! overflow or timeout is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn vars() -> &'static serde_json::Value {
    static VARS: OnceLock<serde_json::Value> = OnceLock::new();
    VARS.get_or_init(|| {
        serde_json::json!({
            "amount": 150.5,
            "customer": {"tier": "gold", "name": "Ada", "tags": ["a", "b"]},
            "items": [{"price": 3, "qty": 2}, {"price": 10, "qty": 1}, {"qty": 0}],
            "xs": [1, 2, 3, 4, 5],
            "s": "hello world",
            "flag": true,
            "nothing": null
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let opts = feel::EvalOptions::with_clock(feel::FixedClock(
        feel::temporal::DateTime::parse("2024-02-29T12:30:00+01:00").expect("valid"),
    ));
    if let Ok(expr) = feel::parse(src) {
        let out = feel::evaluate(&expr, vars(), &opts);
        let _ = out.value.to_json();
        let _ = out.value.to_string();
    }
    if let Ok(tests) = feel::parse_unary_tests(src) {
        let input = feel::Value::int(3);
        let _ = feel::evaluate_unary_tests(&tests, &input, vars(), &opts);
    }
    let _ = feel::check(src);
});
