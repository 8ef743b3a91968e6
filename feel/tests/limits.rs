//! Resource limits: expressions that would build huge values stop with a [`LimitExceeded`]
//! error, quickly and within memory proportional to the limits; large but reasonable ones
//! still work. A counting allocator measures the heap each evaluation holds at its peak.

use feel::{EvalError, EvalOptions, Evaluation, Limit, Limits, Value};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

/// Counts the bytes each thread holds on the heap, and the most it held, so that a test can
/// see what one evaluation needed. Test threads run side by side; counting per thread keeps
/// them apart.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    fn grow(n: usize) {
        let _ = LIVE.try_with(|live| {
            live.set(live.get().saturating_add(n));
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
    }

    fn shrink(n: usize) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(n)));
    }

    pub struct Counting;

    // Measuring the heap needs an allocator, and an allocator is unsafe by contract; this
    // one only forwards to the system allocator and counts.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded unchanged.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded unchanged.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                grow(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded unchanged.
            unsafe { System.dealloc(ptr, layout) };
            shrink(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded unchanged.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                shrink(layout.size());
                grow(new_size);
            }
            p
        }
    }

    /// Runs `f` and returns its result with the most heap it held on top of what the thread
    /// held before.
    pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let base = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(base));
        let out = f();
        (out, PEAK.with(Cell::get).saturating_sub(base))
    }
}

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

const MIB: usize = 1 << 20;

/// Stopped or not, an evaluation may hold about its byte limit (plus vectors' spare
/// capacity and scratch copies) and a little more for compiled patterns and the like; the
/// expressions below would take gigabytes without limits.
fn heap_bound(limits: &Limits) -> usize {
    limits.max_bytes * 2 + 16 * MIB
}

fn small() -> Limits {
    Limits {
        max_bytes: 4 * MIB,
        ..Limits::default()
    }
}

struct Run {
    out: Evaluation,
    peak: usize,
    took: Duration,
}

fn run(src: &str, vars: &Json, limits: Limits) -> Run {
    let expr = feel::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let opts = EvalOptions::default().with_limits(limits);
    let start = Instant::now();
    let (out, peak) = heap::peak(|| feel::evaluate(&expr, vars, &opts));
    Run {
        out,
        peak,
        took: start.elapsed(),
    }
}

/// `src` stops at `limit`, with a `null` value, the error repeated as the last warning, in
/// bounded memory and time.
fn stops_at(src: &str, vars: &Json, limits: Limits, limit: Limit) -> Run {
    let r = run(src, vars, limits);
    let Some(err) = &r.out.error else {
        panic!("{src}: no limit reached, value {}", r.out.value);
    };
    assert_eq!(err.limit, limit, "{src}: {err}");
    assert_eq!(r.out.value, Value::Null, "{src}");
    let last = r.out.warnings.last().expect("the error is also a warning");
    assert_eq!(last.message, err.message(), "{src}");
    assert!(
        r.peak <= heap_bound(&limits),
        "{src}: held {} MiB",
        r.peak / MIB
    );
    assert!(r.took < Duration::from_secs(20), "{src}: took {:?}", r.took);
    r
}

/// `{e0: "xxxxxxxxxxxxxxxx", e1: e0 + e0, …}.eN`: a string that doubles at every entry.
fn doubling_context(entries: usize, first: &str, double: &str) -> String {
    let mut parts = vec![format!("e0: {first}")];
    for i in 1..entries {
        let prev = format!("e{}", i - 1);
        parts.push(format!("e{i}: {}", double.replace("PREV", &prev)));
    }
    format!("{{{}}}.e{}", parts.join(", "), entries - 1)
}

#[test]
fn a_string_doubling_in_a_context_stops_at_the_byte_limit() {
    let src = doubling_context(40, r#""xxxxxxxxxxxxxxxx""#, "PREV + PREV");
    let r = stops_at(&src, &json!({}), Limits::default(), Limit::Bytes);
    let err = r.out.error.expect("stopped");
    assert_eq!(err.code(), "feel.limit.bytes");
    assert_eq!(err.max, 64 << 20);
    assert!(
        err.to_string()
            .contains("more than 67108864 bytes of values (max_bytes)"),
        "{err}"
    );
    // The error points at the entry that went past the limit.
    assert!(err.span.column > 1);

    match feel::eval_str(&src, &json!({})) {
        Err(e @ EvalError::Limit(_)) => assert_eq!(e.code(), "feel.limit.bytes"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lists_doubling_stop() {
    let vars = json!({});
    let seed = "[1, 2, 3, 4, 5, 6, 7, 8]";
    for (double, limit) in [
        ("concatenate(PREV, PREV)", Limit::Bytes),
        ("append(PREV, PREV)", Limit::Bytes),
        ("[PREV, PREV]", Limit::Bytes),
        ("flatten([PREV, PREV, PREV, PREV])", Limit::Bytes),
        ("get entries({a: PREV, b: PREV})", Limit::Bytes),
    ] {
        stops_at(&doubling_context(40, seed, double), &vars, small(), limit);
    }
}

#[test]
fn string_functions_cannot_multiply_their_input() {
    let vars = json!({"s": "x".repeat(100_000)});
    for (src, limit) in [
        (
            doubling_context(40, r#""abcdefgh""#, r#"string join([PREV, PREV])"#),
            Limit::Bytes,
        ),
        (
            doubling_context(
                40,
                r#""abcdefgh""#,
                r#"string join([PREV], "", PREV, PREV)"#,
            ),
            Limit::Bytes,
        ),
        (
            doubling_context(40, r#""abcdefgh""#, r#"replace(PREV, "[a-z]", "$0$0")"#),
            Limit::Bytes,
        ),
        (
            doubling_context(40, r#""abcdefgh""#, "upper case(PREV) + lower case(PREV)"),
            Limit::Bytes,
        ),
        (
            doubling_context(40, "[1, 2, 3]", "string([PREV, PREV])"),
            Limit::Bytes,
        ),
        // One call that would multiply a 100 kB string by 10 000 or more: the delimiter goes
        // between every item, the replacement replaces every character.
        (
            r#"string join(for i in 1..10000 return "", s)"#.to_string(),
            Limit::StringBytes,
        ),
        (r#"replace(s, "x", s)"#.to_string(), Limit::Bytes),
        (
            format!(r#"replace(s, "(.+)", "{}")"#, "$1".repeat(200)),
            Limit::Bytes,
        ),
    ] {
        stops_at(&src, &vars, small(), limit);
    }
}

#[test]
fn for_loops_cannot_multiply_values() {
    let vars = json!({"xs": (0..10_000).collect::<Vec<_>>()});
    for (src, limit) in [
        ("for i in 1..100000 return xs", Limit::Bytes),
        ("for x in xs return xs", Limit::Bytes),
        ("for i in 1..10000 return partial", Limit::Bytes),
        ("for a in 1..1000, b in 1..1000 return a", Limit::Bytes),
        ("for i in 1..200000 return i", Limit::ListItems),
        ("for i in [1..200000] return i", Limit::ListItems),
        (
            "{a: for i in 1..100000 return i, b: for x in a return a}",
            Limit::Bytes,
        ),
        ("for i in 1..100 return [partial]", Limit::Bytes),
    ] {
        stops_at(src, &vars, small(), limit);
    }
}

#[test]
fn context_functions_doubling_stop() {
    let vars = json!({});
    let seed = r#"{x: "0123456789"}"#;
    for double in [
        r#"context put({a: PREV}, "b", PREV)"#,
        r#"context put({a: PREV}, ["b", "c"], PREV)"#,
        r#"context merge({a: PREV}, {b: PREV})"#,
        r#"context merge([{y: PREV}, {z: PREV}])"#,
        r#"context([{key: "a", value: PREV}, {key: "b", value: PREV}])"#,
        r#"{a: PREV, b: PREV}"#,
    ] {
        stops_at(
            &doubling_context(40, seed, double),
            &vars,
            small(),
            Limit::Bytes,
        );
    }
}

/// Each entry wraps the one before in a list: a value deeper than any stack should walk.
#[test]
fn deep_values_stop_at_the_depth_limit_in_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let src = doubling_context(1000, "[]", "[PREV]");
            stops_at(&src, &json!({}), Limits::default(), Limit::ValueDepth);
            let src = doubling_context(1000, "{}", "{a: PREV}");
            stops_at(&src, &json!({}), Limits::default(), Limit::ValueDepth);
        })
        .expect("thread starts");
    assert!(handle.join().is_ok(), "evaluation overflowed a 1 MiB stack");
}

#[test]
fn every_limit_is_an_option_with_its_own_code() {
    let vars = json!({});
    let with = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        l
    };
    for (src, limits, limit, code) in [
        (
            r#"for i in 1..100 return "x""#,
            with(|l| l.max_bytes = 1000),
            Limit::Bytes,
            "feel.limit.bytes",
        ),
        (
            r#""12345" + "678901""#,
            with(|l| l.max_string_bytes = 10),
            Limit::StringBytes,
            "feel.limit.string_bytes",
        ),
        (
            "[1, 2, 3, 4]",
            with(|l| l.max_list_items = 3),
            Limit::ListItems,
            "feel.limit.list_items",
        ),
        (
            "{a: 1, b: 2, c: 3}",
            with(|l| l.max_context_entries = 2),
            Limit::ContextEntries,
            "feel.limit.context_entries",
        ),
        (
            "some x in 1..10, y in 1..10, z in 1..10 satisfies x + y + z > 100",
            with(|l| l.max_steps = 1000),
            Limit::Steps,
            "feel.limit.steps",
        ),
        (
            "{f: function(g) g(g), r: f(f)}.r",
            Limits::default(),
            Limit::EvalDepth,
            "feel.limit.eval_depth",
        ),
    ] {
        let r = stops_at(src, &vars, limits, limit);
        let err = r.out.error.expect("stopped");
        assert_eq!(err.code(), code);
        assert_eq!(err.max, limit.max(&limits));
        assert!(err.message().contains(&err.max.to_string()), "{err}");
        // The same expressions are fine within the defaults, but for the runaway recursion.
        if limit != Limit::EvalDepth {
            let r = run(src, &vars, Limits::default());
            assert!(r.out.error.is_none(), "{src}: {:?}", r.out.error);
        }
    }
}

/// A built-in whose argument hit a limit does not turn the stopped evaluation into an
/// answer: `is defined` of a runaway value is not `false`.
#[test]
fn a_limit_reached_inside_any_call_stops_the_whole_evaluation() {
    let vars = json!({});
    for src in [
        "is defined(for a in 1..1000, b in 1..1000 return a)",
        "get or else(for a in 1..1000, b in 1..1000 return a, 1)",
        "count(for a in 1..1000, b in 1..1000 return a) = null",
        "if for a in 1..1000, b in 1..1000 return a = null then 1 else 2",
    ] {
        stops_at(src, &vars, Limits::default(), Limit::ListItems);
    }
}

#[test]
fn large_but_reasonable_expressions_still_work() {
    let orders: Vec<Json> = (0..5000)
        .map(|i| {
            json!({"id": i, "customer": format!("Customer {i}"), "amount": (i * 37) % 1000,
                   "status": if i % 3 == 0 { "open" } else { "closed" }})
        })
        .collect();
    let text = "0123456789".repeat(50_000);
    let vars = json!({"orders": orders, "text": text});
    for (src, want) in [
        ("count(for i in 1..100000 return i * 2)", json!(100_000)),
        ("count(for i in 1..99999 return [i])", json!(99_999)),
        ("sum(for i in 1..100000 return i)", json!(5_000_050_000_i64)),
        (
            r#"string length(string join(for i in 1..100000 return "0123456789", ""))"#,
            json!(1_000_000),
        ),
        ("string length(text + text)", json!(1_000_000)),
        (
            r#"string length(replace(text, "0", "zero"))"#,
            json!(650_000),
        ),
        ("count(split(text, \"5\"))", json!(50_001)),
        ("count(orders[amount > 500])", json!(2495)),
        ("sum(orders[status = \"open\"].amount)", json!(844_821)),
        (
            "sort(orders, function(a, b) a.amount > b.amount)[1].amount",
            json!(999),
        ),
        (
            "count(for o in orders return context put(o, \"vat\", o.amount * 0.19))",
            json!(5000),
        ),
        (
            "for i in 1..5000 return if i = 1 then 1 else partial[-1] + i",
            json!(
                (1..=5000)
                    .scan(0, |s, i| {
                        *s += i;
                        Some(*s)
                    })
                    .collect::<Vec<i64>>()
            ),
        ),
        (
            "count(distinct values(for o in orders return o.status))",
            json!(2),
        ),
        (
            "{index: context(for o in orders[id < 1000] return {key: string(o.id), value: o}), n: count(get entries(index))}.n",
            json!(1000),
        ),
    ] {
        let r = run(src, &vars, Limits::default());
        assert!(r.out.error.is_none(), "{src}: {:?}", r.out.error);
        assert_eq!(r.out.value.to_json(), want, "{src}");
    }
}

/// A function shares the variables it closed over with its calls: recursion over a large
/// closure holds it once, not once per level.
#[test]
fn calls_share_their_closure() {
    let rows: Vec<Json> = (0..20_000).map(|i| json!({"id": i})).collect();
    let vars = json!({"rows": rows});
    let src = "{data: rows, f: function(n) if n = 0 then count(data) else f(n - 1), r: f(20)}.r";
    let r = run(src, &vars, Limits::default());
    assert!(r.out.error.is_none(), "{:?}", r.out.error);
    assert_eq!(r.out.value.to_json(), json!(20_000));
    // `data` takes about 3 MiB as FEEL values; twenty copies would take 60.
    assert!(r.peak < 16 * MIB, "held {} MiB", r.peak / MIB);
}

#[test]
fn warnings_quote_at_most_a_kilobyte() {
    let vars = json!({"s": "1".repeat(100_000) + "x"});
    let r = run("for i in 1..50 return number(s)", &vars, Limits::default());
    assert!(r.out.error.is_none());
    assert_eq!(r.out.warnings.len(), 50);
    for w in &r.out.warnings {
        assert!(w.message.starts_with("number(): '111"), "{}", w.message);
        assert!(
            w.message.len() <= 1024 + '…'.len_utf8(),
            "{}",
            w.message.len()
        );
    }
    assert!(r.peak < 4 * MIB, "held {} bytes", r.peak);
}

/// Compiling a pattern takes far more memory than its text: long patterns are refused
/// before they are compiled.
#[test]
fn long_patterns_are_refused() {
    let vars = json!({});
    let at_most = format!(r#"matches("x", "{}")"#, "x|".repeat(499) + "xy");
    let r = run(&at_most, &vars, Limits::default());
    assert_eq!(r.out.value, Value::Bool(true), "{:?}", r.out.warnings);
    let longer = format!(r#"matches("x", "{}")"#, "x|".repeat(500) + "x");
    let r = run(&longer, &vars, Limits::default());
    assert_eq!(r.out.value, Value::Null);
    assert!(r.out.error.is_none());
    assert!(
        r.out.warnings[0]
            .message
            .contains("a pattern may be at most 1000 bytes long"),
        "{:?}",
        r.out.warnings
    );
    // The most expensive kind of pattern at the longest length.
    let classes = format!(r#"matches("x", "{}")"#, r"\\W".repeat(500));
    let r = run(&classes, &vars, Limits::default());
    assert!(r.peak < 32 * MIB, "held {} MiB", r.peak / MIB);
}
