//! FEEL (Friendly Enough Expression Language) for ASTRAflow: parser and evaluator for the
//! expressions Zeebe evaluates — sequence-flow conditions, input/output mappings, timer and
//! correlation-key expressions, script tasks and multi-instance collections — in the dialect
//! of Camunda 8. The same code runs natively (engine, server) and in the browser (designer,
//! `wasm32-unknown-unknown`).
//!
//! # Using it
//!
//! ```
//! use serde_json::json;
//!
//! // Engine: parse once (at deployment), evaluate many times.
//! let attr = "=amount > 100 and customer.tier = \"gold\"";
//! let src = feel::expression_of_attribute(attr).expect("starts with '='");
//! let expr = feel::parse(src).expect("valid FEEL");
//! let vars = json!({"amount": 250, "customer": {"tier": "gold"}});
//! let out = feel::evaluate(&expr, &vars, &feel::EvalOptions::default());
//! assert_eq!(out.value.to_json(), json!(true));
//! assert!(out.warnings.is_empty());
//!
//! // Designer: syntax diagnostics with spans to underline.
//! let diags = feel::check("amount > ");
//! assert_eq!(diags[0].span.column, 8);
//!
//! // Tools and tests: one call from text and JSON to JSON.
//! assert_eq!(feel::eval_str("0.1 + 0.2", &json!({})).unwrap(), json!(0.3));
//! ```
//!
//! # Why our own parser and evaluator
//!
//! The `dsntk-feel-*` crates implement DMN FEEL, but they depend on a C decimal library
//! (needs clang at build time) and therefore do not build for `wasm32-unknown-unknown`,
//! which the designer needs; they also follow DMN where Camunda's dialect differs (null
//! handling, `is defined`, Camunda's extra built-ins). No other Rust crate covers FEEL. So
//! this crate is a focused, hand-written implementation, leaning on pure-Rust libraries
//! where they serve:
//!
//! - numbers are [`rust_decimal::Decimal`] (28 significant digits, exact decimal
//!   arithmetic, so `0.1 + 0.2 = 0.3`; its `maths` feature gives `sqrt`, `log`, `exp` and
//!   fractional powers);
//! - `matches`, `replace` and `split` use the `regex` crate (size- and nesting-limited);
//! - dates, times and durations are small types of our own in [`temporal`] (plain integer
//!   arithmetic; no system clock, no tz database), which keeps the wasm bundle small.
//!
//! # Time and clocks
//!
//! `now()` and `today()` read the [`Clock`] in [`EvalOptions`]; evaluation never reads the
//! system time itself. The engine passes its controllable clock, tests a [`FixedClock`],
//! native tools [`SystemClock`]; without a clock both functions return `null` with a
//! warning (the browser has none).
//!
//! # Errors and warnings
//!
//! Parsing fails with a [`ParseError`] (message and [`Span`]: byte offset, line, column,
//! length). Evaluation never panics, and fails only by reaching a resource limit (below):
//! anything else that cannot be computed is `null`, and [`Evaluation::warnings`] says what
//! and where. The engine decides which of these become incidents (for example, a `null`
//! sequence-flow condition).
//!
//! # Resource limits
//!
//! Expressions come from process models, so every evaluation is bounded, whatever it is
//! asked to do: parse-tree depth ([`parser::MAX_DEPTH`]), evaluation depth, steps, and the
//! size of the values it builds. By default an evaluation may build 64 MiB of strings,
//! lists and contexts in total (every copy of a variable or of an intermediate value
//! counts), no string longer than 16 MiB, no list or context of more than 100 000 items or
//! entries, nothing nested more than 256 levels deep; [`Limits`] in [`EvalOptions`] changes
//! the sizes and the steps. An evaluation that reaches a limit stops at once: its value is
//! `null`, and [`Evaluation::error`] is a [`LimitExceeded`] that names the limit (with a code
//! such as `feel.limit.bytes`) and is also the last warning. The engine raises an incident
//! with its message. Patterns of `matches`, `replace` and `split` may be at most 1 000
//! bytes long, because compiling one takes far more memory than its text.
//!
//! # Language supported
//!
//! Literals (numbers, strings with escapes, booleans, null, lists, contexts, `@"…"` temporal
//! literals), names and backtick-quoted names, paths `a.b.c` (also over lists), filters
//! `xs[item > 3]` / `xs[1]` / `xs[-1]` / context filters `xs[a > 1]`, arithmetic
//! `+ - * / **` and unary minus, comparisons, `and`/`or` with three-valued logic, `if then
//! else`, `for … in … return` over lists and ranges `1..3` (with `partial`),
//! `some`/`every … satisfies`, `in` with unary tests, lists and intervals `[1..10)`
//! `(1..10]` `]1..10[`, `between … and …`, `instance of` (including `list<T>`,
//! `context<k: T>`), function definitions and calls with positional or named arguments,
//! and temporal values with arithmetic, comparison and properties (`year`, `weekday`,
//! `hour`, `time offset`, `days`, …). [`parse_unary_tests`] parses decision-table cells
//! (`-`, `< 10, > 20`, `not("a")`, `? > 3`).
//!
//! Built-ins: see the tables in `builtins/`, one module per family (all DMN 1.4 conversion,
//! string, list, numeric, boolean, context and temporal functions listed in the issue, plus
//! Camunda's `is defined`, `get or else`, `trim`, `context`, `last day of month`, and
//! `product`, `median`, `duplicate values`, `is empty`).
//!
//! # Where we follow Camunda rather than DMN 1.4
//!
//! 1. **Missing variables and context entries** give `null` (with a warning) instead of an
//!    evaluation error, so `x > 3` with no `x` is `null`.
//! 2. **Type errors** (`1 + "a"`, `1 < "a"`, wrong argument types) give `null` plus a
//!    warning instead of failing.
//! 3. **`is defined(x)`** (Camunda extension) is `false` for a missing variable or entry
//!    and, as in Camunda 8.4+, also for a value that is `null`. Its argument's "no variable"
//!    warnings are dropped, as are those of `get or else(value, default)`.
//! 4. **Filters** skip items for which the condition is `null` (an item without the
//!    filtered entry) silently, as Camunda 8.3+ does.
//! 5. **`x in list`** where the test is a list value checks membership (`2 in [1,2,3]` is
//!    `true`), as in Camunda; DMN only compares for equality.
//! 6. **`+` on strings** concatenates (`"a" + "b"`), a Camunda extension.
//! 7. **`if`** with a `null` or non-boolean condition takes the `else` branch.
//! 8. **Ranges in `for`** (`for i in 1..3 return i`), descending too (`3..1`).
//! 9. **`string(x)`** of a list or context uses Camunda's text form (`[1, 2]`, `{a:1}`).
//! 10. **`sort(list)`** without a `precedes` function sorts in natural order.
//!
//! # Limits (documented deviations from both)
//!
//! - Decimals carry 28 significant digits (DMN asks for IEEE 754 decimal128, 34 digits).
//! - Named time zones: only offsets (`+01:00`, `Z`) and UTC aliases (`@UTC`, `@Etc/UTC`,
//!   `@GMT`, …) are understood; other ids such as `@Europe/Berlin` give `null` with a
//!   warning "time zone … is not supported". No tz database is shipped to the browser.
//! - A function defined in an expression sees the local variables of its definition, the
//!   process variables and, when called by name, itself (so direct recursion works, within
//!   the evaluation depth limit); mutually recursive functions are not supported.
//! - Variable names with spaces must be written in backticks (`` `order id` ``); context
//!   keys and named arguments may contain spaces.
//! - Expressions nest at most [`parser::MAX_DEPTH`] levels deep; evaluation (including
//!   function calls) is bounded too, so that the worst case fits a 1 MiB stack (the wasm32
//!   default) even in unoptimised builds.
//! - Numbers are exact inside FEEL; converted to JSON they become binary floats (or
//!   integers when whole), as JSON consumers read them. Use `string(x)` to keep all digits.
//!
//! # wasm32
//!
//! The crate has no wasm-specific code apart from leaving out [`SystemClock`]. The parser
//! tests in `tests/wasm.rs` run under `wasm32-unknown-unknown` with `wasm-bindgen-test`, in
//! Node via `wasm-bindgen-test-runner` (from `wasm-bindgen-cli` of the exact version of
//! the `wasm-bindgen` crate in `Cargo.lock`):
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p feel --target wasm32-unknown-unknown --test wasm
//! ```

pub mod ast;
mod builtins;
mod error;
mod eval;
mod lexer;
pub mod limits;
pub mod parser;
pub mod temporal;
mod value;

pub use ast::{Expr, ExprKind, UnaryTests};
pub use error::{Diagnostic, EvalError, ParseError, Severity, Span};
#[cfg(not(target_arch = "wasm32"))]
pub use eval::SystemClock;
pub use eval::{
    Clock, EvalOptions, Evaluation, FixedClock, Warning, evaluate, evaluate_in,
    evaluate_unary_tests,
};
pub use limits::{Limit, LimitExceeded, Limits};
pub use parser::{parse, parse_unary_tests};
pub use value::{Bound, Context, Function, Range, Value};

/// Names of all built-in functions (for completion in the designer).
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    builtins::names()
}

/// The FEEL expression in a Zeebe attribute value: `Some("a > 1")` for `"=a > 1"`, `None`
/// for a static value without the leading `=`.
#[must_use]
pub fn expression_of_attribute(attr: &str) -> Option<&str> {
    attr.trim_start().strip_prefix('=')
}

/// Syntax diagnostics for the designer: empty when `src` parses.
#[must_use]
pub fn check(src: &str) -> Vec<Diagnostic> {
    match parse(src) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e.into()],
    }
}

/// Syntax diagnostics for unary tests (a decision-table cell): empty when `src` parses.
#[must_use]
pub fn check_unary_tests(src: &str) -> Vec<Diagnostic> {
    match parse_unary_tests(src) {
        Ok(_) => Vec::new(),
        Err(e) => vec![e.into()],
    }
}

/// Parses and evaluates `src` with JSON variables and returns the result as JSON; warnings
/// are dropped. Natively `now()` reads the system clock; on wasm32 there is none.
///
/// # Errors
/// [`EvalError::Parse`] when `src` does not parse, [`EvalError::Limit`] when evaluating it
/// reaches one of the default [`Limits`].
pub fn eval_str(src: &str, vars: &serde_json::Value) -> Result<serde_json::Value, EvalError> {
    let expr = parse(src)?;
    let out = evaluate(&expr, vars, &default_options());
    match out.error {
        Some(e) => Err(e.into()),
        None => Ok(out.value.to_json()),
    }
}

/// Options with the system clock natively and no clock on wasm32.
#[must_use]
pub fn default_options() -> EvalOptions {
    #[cfg(not(target_arch = "wasm32"))]
    {
        EvalOptions::with_clock(SystemClock)
    }
    #[cfg(target_arch = "wasm32")]
    {
        EvalOptions::default()
    }
}
