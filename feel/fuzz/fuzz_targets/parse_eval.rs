//! Parses arbitrary text as a FEEL expression and as unary tests, evaluates whatever parses
//! against a fixed set of variables, and converts the result to JSON. Any panic, stack
//! overflow or timeout is a bug.
//!
//! Memory is watched too: a counting allocator measures the most heap one evaluation holds,
//! which must stay within a small multiple of the evaluation's byte limit. The limits are
//! tighter than the defaults so that runaway inputs stop quickly and any operation that
//! builds more than it is charged for stands out; `-rss_limit_mb` catches the rest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The most heap any evaluation has held so far, reported when it grows.
static MOST: AtomicUsize = AtomicUsize::new(0);

struct Counting;

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrink(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// Forwards to the system allocator and counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrink(layout.size());
            grow(new_size);
        }
        p
    }
}

#[global_allocator]
static HEAP: Counting = Counting;

const MIB: usize = 1 << 20;

fn limits() -> feel::Limits {
    feel::Limits {
        max_bytes: MIB,
        max_string_bytes: MIB / 4,
        max_list_items: 10_000,
        max_context_entries: 10_000,
        max_steps: 200_000,
    }
}

/// An evaluation may hold its byte limit a few times over (spare capacity of vectors,
/// scratch copies of one item) plus what compiling a pattern of the longest allowed length
/// takes (about 15 MiB at worst).
fn heap_bound() -> usize {
    4 * limits().max_bytes + 32 * MIB
}

fn vars() -> &'static serde_json::Value {
    static VARS: OnceLock<serde_json::Value> = OnceLock::new();
    VARS.get_or_init(|| {
        let rows: Vec<serde_json::Value> = (0..1000)
            .map(|i| serde_json::json!({"id": i, "name": format!("row {i}"), "on": i % 2 == 0}))
            .collect();
        serde_json::json!({
            "amount": 150.5,
            "customer": {"tier": "gold", "name": "Ada", "tags": ["a", "b"]},
            "items": [{"price": 3, "qty": 2}, {"price": 10, "qty": 1}, {"qty": 0}],
            "xs": [1, 2, 3, 4, 5],
            "s": "hello world",
            "flag": true,
            "nothing": null,
            "rows": rows,
            "text": "lorem ipsum dolor sit amet ".repeat(400)
        })
    })
}

/// Runs one evaluation, checks what a stopped one must look like and how much heap it held.
fn measured(src: &str, eval: impl FnOnce() -> feel::Evaluation) -> feel::Evaluation {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = eval();
    let held = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    if held > MOST.fetch_max(held, Ordering::Relaxed) {
        let shown: String = src.chars().take(120).collect();
        eprintln!(
            "largest evaluation heap so far: {} KiB for {shown:?}",
            held / 1024
        );
    }
    assert!(
        held <= heap_bound(),
        "one evaluation held {held} bytes, more than {}",
        heap_bound()
    );
    if let Some(error) = &out.error {
        assert_eq!(
            out.value,
            feel::Value::Null,
            "a stopped evaluation has no value"
        );
        assert_eq!(
            out.warnings.last().map(|w| w.message.as_str()),
            Some(error.message().as_str()),
            "the error is the last warning"
        );
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let vars = vars();
    let opts = feel::EvalOptions::with_clock(feel::FixedClock(
        feel::temporal::DateTime::parse("2024-02-29T12:30:00+01:00").expect("valid"),
    ))
    .with_limits(limits());
    if let Ok(expr) = feel::parse(src) {
        let out = measured(src, || feel::evaluate(&expr, vars, &opts));
        let _ = out.value.to_json();
        let _ = out.value.to_string();
    }
    if let Ok(tests) = feel::parse_unary_tests(src) {
        let input = feel::Value::int(3);
        measured(src, || {
            feel::evaluate_unary_tests(&tests, &input, vars, &opts)
        });
    }
    let _ = feel::check(src);
});
