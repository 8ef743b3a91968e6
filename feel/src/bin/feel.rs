//! `feel '<expression>' [--context '<json>'] [--now '<date and time>']`
//!
//! Evaluates one FEEL expression and prints the result as JSON on stdout, warnings on
//! stderr. Exit status: 0 on success, 2 when the expression does not parse, 1 for bad usage
//! or an invalid `--context`.

use std::process::ExitCode;

const USAGE: &str =
    "usage: feel '<expression>' [--context '<json object>'] [--now '<date and time>']";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut expr = None;
    let mut context = String::from("{}");
    let mut now = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--context" | "-c" => match args.next() {
                Some(c) => context = c,
                None => return usage("--context needs a value"),
            },
            "--now" => match args.next() {
                Some(n) => now = Some(n),
                None => return usage("--now needs a value"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if expr.is_none() => expr = Some(a),
            _ => return usage(&format!("unexpected argument '{a}'")),
        }
    }
    let Some(src) = expr else {
        return usage("missing expression");
    };
    let src = feel::expression_of_attribute(&src)
        .unwrap_or(&src)
        .to_string();
    let vars: serde_json::Value = match serde_json::from_str(&context) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => return usage("--context must be a JSON object"),
        Err(e) => return usage(&format!("--context is not valid JSON: {e}")),
    };
    let opts = match now {
        None => feel::default_options(),
        Some(n) => match feel::temporal::DateTime::parse(&n) {
            Ok(t) => feel::EvalOptions::with_clock(feel::FixedClock(t)),
            Err(e) => return usage(&format!("--now: {e}")),
        },
    };
    let expr = match feel::parse(&src) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "error: {} (line {}, column {})",
                e.message, e.span.line, e.span.column
            );
            if let Some(line) = src.lines().nth(e.span.line.saturating_sub(1)) {
                eprintln!("  {line}");
                eprintln!(
                    "  {}{}",
                    " ".repeat(e.span.column.saturating_sub(1)),
                    "^".repeat(e.span.len.clamp(1, line.len().max(1)))
                );
            }
            return ExitCode::from(2);
        }
    };
    let out = feel::evaluate(&expr, &vars, &opts);
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", out.value.to_json());
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n{USAGE}");
    ExitCode::from(1)
}
