//! Parser cases shared by the native suite (`tests/parser.rs`) and the wasm32 suite
//! (`tests/wasm.rs`): the designer runs the same parser in the browser.

/// `Ok(())` means the text parses; `Err((line, column))` where the error must point.
pub type Expect = Result<(), (usize, usize)>;

#[rustfmt::skip]
pub const PARSE_CASES: &[(&str, Expect)] = &[
    ("amount > 100 and customer.tier = \"gold\"", Ok(())),
    ("date and time(\"2024-01-01T10:00:00Z\") + duration(\"P1D\")", Ok(())),
    ("string length(name) > 3", Ok(())),
    ("for i in 1..3 return i * 2", Ok(())),
    ("some x in xs satisfies x > 3", Ok(())),
    ("every x in xs satisfies x > 3", Ok(())),
    ("if a then b else c", Ok(())),
    ("x in [1..10)", Ok(())),
    ("x in ]1..10[", Ok(())),
    ("x in (< 3, > 4)", Ok(())),
    ("x between 1 and 10", Ok(())),
    ("x instance of list<number>", Ok(())),
    ("{a: 1, b: function(x) x + a}.b(2)", Ok(())),
    ("f(a: 1, b: 2)", Ok(())),
    ("xs[item > 3].name", Ok(())),
    ("xs[-1]", Ok(())),
    ("@\"2024-01-01\"", Ok(())),
    ("`order id` + 1", Ok(())),
    ("-2 ** 2", Ok(())),
    ("round half up(1.5, 0)", Ok(())),
    ("is defined(x) and get or else(y, 1) > 0", Ok(())),
    ("// comment\n1", Ok(())),
    ("1 +", Err((1, 3))),
    ("(1", Err((1, 2))),
    ("if x then 1", Err((1, 11))),
    ("{a: 1, a: 2}", Err((1, 8))),
    ("\"abc", Err((1, 1))),
    ("1 2", Err((1, 3))),
    ("a ! b", Err((1, 3))),
    ("x instance of foo", Err((1, 15))),
    ("", Err((1, 1))),
    ("1 +\n  * 2", Err((2, 3))),
    ("f(a: 1, 2)", Err((1, 9))),
];

/// Unary tests that must parse (`true`) or not (`false`).
#[rustfmt::skip]
pub const UNARY_CASES: &[(&str, bool)] = &[
    ("-", true),
    ("< 10, > 20", true),
    ("[1..5]", true),
    ("not(\"a\", \"b\")", true),
    ("? > 3", true),
    ("date(\"2024-01-01\")", true),
    ("< ", false),
    ("1,", false),
];

/// Runs all cases; returns one message per failure.
pub fn failures() -> Vec<String> {
    let mut out = Vec::new();
    for (src, expect) in PARSE_CASES {
        match (feel::parse(src), expect) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err((line, column))) => {
                if (e.span.line, e.span.column) != (*line, *column) {
                    out.push(format!(
                        "{src:?}: error at {}:{}, expected {line}:{column} ({})",
                        e.span.line, e.span.column, e.message
                    ));
                }
            }
            (Ok(_), Err(_)) => out.push(format!("{src:?}: parsed but should not")),
            (Err(e), Ok(())) => out.push(format!("{src:?}: {e}")),
        }
    }
    for (src, ok) in UNARY_CASES {
        if feel::parse_unary_tests(src).is_ok() != *ok {
            out.push(format!("unary tests {src:?}: expected ok = {ok}"));
        }
    }
    // Hostile input ends in an error, not a crash, on every target.
    let deep = "[".repeat(5_000);
    if feel::parse(&deep).is_ok() {
        out.push("deeply nested input parsed".into());
    }
    out
}
