//! Throughput of a typical sequence-flow condition: parse once, evaluate many times.
//!
//! `cargo bench -p feel` prints evaluations per second (and parses per second). Plain
//! `std::time` timing, no statistics: a quick figure, not a regression gate.

use std::hint::black_box;
use std::time::Instant;

const CONDITION: &str = r#"amount > 100 and customer.tier = "gold""#;

fn rate(iterations: u32, mut f: impl FnMut()) -> f64 {
    // Warm up caches and the allocator before timing.
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    f64::from(iterations) / start.elapsed().as_secs_f64()
}

fn main() {
    let vars = serde_json::json!({
        "amount": 250,
        "customer": {"tier": "gold", "name": "Ada Lovelace", "id": 4711},
        "orderId": "A-1001",
        "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}]
    });
    let opts = feel::EvalOptions::default();
    let expr = feel::parse(CONDITION).expect("the condition parses");
    let first = feel::evaluate(&expr, &vars, &opts);
    assert_eq!(first.value, feel::Value::Bool(true));

    let n = 1_000_000;
    let evals = rate(n, || {
        black_box(feel::evaluate(black_box(&expr), black_box(&vars), &opts));
    });
    let parses = rate(n / 4, || {
        black_box(feel::parse(black_box(CONDITION)).ok());
    });
    let ctx = feel::Context::from_json(&vars);
    let evals_ctx = rate(n, || {
        black_box(feel::evaluate_in(black_box(&expr), black_box(&ctx), &opts));
    });
    println!("condition: {CONDITION}");
    println!("evaluate (JSON variables):    {evals:>12.0} evaluations/s");
    println!("evaluate (context variables): {evals_ctx:>12.0} evaluations/s");
    println!("parse:                        {parses:>12.0} parses/s");
}
