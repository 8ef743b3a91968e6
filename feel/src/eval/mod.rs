//! The evaluator: walks a parsed [`Expr`] against variables and produces a value plus
//! warnings. It never fails: whatever cannot be computed becomes `null` with a warning that
//! says why, as Camunda's FEEL does. Resource use is bounded (nesting depth, a step budget
//! and a cap on list sizes), so hostile expressions end with `null` rather than hanging.
//!
//! This module holds the entry points, the [`Evaluator`]'s state and its match over the
//! expression kinds; operators, ranges and unary tests, iteration, paths and filters, and
//! function calls each have a module of their own.

mod calls;
mod clock;
mod iteration;
mod operators;
mod paths;
mod ranges;

use crate::ast::{BinOp, CmpOp, Expr, ExprKind, Quantifier, TypeRef, UnaryTests};
use crate::builtins;
use crate::error::Span;
use crate::temporal::{DateTime, Time};
use crate::value::{Bound, Context, Function, Range, Value};
use serde_json::Value as Json;
use std::fmt;
use std::sync::Arc;

#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
pub(crate) use operators::{compare, values_equal};

/// Deepest evaluation nesting (sub-expressions plus function calls) before giving up.
const MAX_EVAL_DEPTH: usize = 200;
/// Depth charged for entering a function body.
const CALL_DEPTH: usize = 4;
/// Evaluation steps before giving up.
const MAX_STEPS: u64 = 2_000_000;
/// Largest list an evaluation may build.
pub(crate) const MAX_LIST: usize = 100_000;

/// Options for an evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Where `now()` and `today()` take the time from; without one they return `null`
    /// with a warning.
    pub clock: Option<Arc<dyn Clock>>,
}

impl EvalOptions {
    /// Options with the given clock.
    #[must_use]
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            clock: Some(Arc::new(clock)),
        }
    }
}

/// Something that went wrong during evaluation and made (part of) the result `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What went wrong.
    pub message: String,
    /// The sub-expression it happened in.
    pub span: Span,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.span)
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The result (`null` if it could not be computed).
    pub value: Value,
    /// What went wrong along the way, in order.
    pub warnings: Vec<Warning>,
}

enum Root<'a> {
    Json(Option<&'a serde_json::Map<String, Json>>),
    Ctx(&'a Context),
}

pub(crate) struct Evaluator<'a> {
    root: Root<'a>,
    frames: Vec<Context>,
    pub(crate) opts: &'a EvalOptions,
    warnings: Vec<Warning>,
    depth: usize,
    steps: u64,
    exhausted: bool,
}

/// Evaluates `expr` with JSON variables (an object; other JSON means no variables).
#[must_use]
pub fn evaluate(expr: &Expr, vars: &Json, opts: &EvalOptions) -> Evaluation {
    let mut ev = Evaluator::new(Root::Json(vars.as_object()), opts);
    let value = ev.eval(expr);
    ev.finish(value)
}

/// Evaluates `expr` with variables given as a FEEL context.
#[must_use]
pub fn evaluate_in(expr: &Expr, vars: &Context, opts: &EvalOptions) -> Evaluation {
    let mut ev = Evaluator::new(Root::Ctx(vars), opts);
    let value = ev.eval(expr);
    ev.finish(value)
}

/// Tests `input` against unary tests (a decision-table cell); the value is a boolean, or
/// `null` when a test could not be decided.
#[must_use]
pub fn evaluate_unary_tests(
    tests: &UnaryTests,
    input: &Value,
    vars: &Json,
    opts: &EvalOptions,
) -> Evaluation {
    let mut ev = Evaluator::new(Root::Json(vars.as_object()), opts);
    let value = match tests {
        UnaryTests::Any => Value::Bool(true),
        UnaryTests::Positive(ts) => ev.any_test(input, ts, Span::default()),
        UnaryTests::Not(ts) => match ev.any_test(input, ts, Span::default()) {
            Value::Bool(b) => Value::Bool(!b),
            other => other,
        },
    };
    ev.finish(value)
}

impl<'a> Evaluator<'a> {
    fn new(root: Root<'a>, opts: &'a EvalOptions) -> Self {
        Self {
            root,
            frames: Vec::new(),
            opts,
            warnings: Vec::new(),
            depth: 0,
            steps: 0,
            exhausted: false,
        }
    }

    fn finish(self, value: Value) -> Evaluation {
        Evaluation {
            value,
            warnings: self.warnings,
        }
    }

    pub(crate) fn warn(&mut self, span: Span, message: impl Into<String>) {
        // A runaway expression could produce millions of identical warnings.
        if self.warnings.len() < 100 {
            self.warnings.push(Warning {
                message: message.into(),
                span,
            });
        }
    }

    /// Counts one unit of work; false once the budget is used up.
    pub(crate) fn tick(&mut self, span: Span) -> bool {
        if self.exhausted {
            return false;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.exhausted = true;
            self.warn(
                span,
                "evaluation stopped: the expression does too much work",
            );
            return false;
        }
        true
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        for f in self.frames.iter().rev() {
            if let Some(v) = f.get(name) {
                return Some(v.clone());
            }
        }
        match &self.root {
            Root::Json(m) => m.and_then(|m| m.get(name)).map(Value::from_json),
            Root::Ctx(c) => c.get(name).cloned(),
        }
    }

    fn is_local(&self, name: &str) -> bool {
        self.frames.iter().any(|f| f.get(name).is_some())
    }

    /// Resolves `a.b.c` straight from the JSON variables without converting the whole of `a`.
    fn json_path<'j>(&self, e: &Expr, m: &'j serde_json::Map<String, Json>) -> Option<&'j Json> {
        match &e.kind {
            ExprKind::Name(n) if !self.is_local(n) => m.get(n),
            ExprKind::Path(base, key) => match self.json_path(base, m)? {
                Json::Object(o) => o.get(key),
                _ => None,
            },
            _ => None,
        }
    }

    pub(crate) fn eval(&mut self, e: &Expr) -> Value {
        if !self.tick(e.span) {
            return Value::Null;
        }
        if self.depth >= MAX_EVAL_DEPTH {
            self.warn(e.span, "evaluation nested too deeply");
            self.exhausted = true;
            return Value::Null;
        }
        self.depth += 1;
        let v = self.eval_inner(e);
        self.depth -= 1;
        v
    }

    fn eval_inner(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Number(n) => Value::Number(*n),
            ExprKind::Str(s) => Value::String(s.clone()),
            ExprKind::Temporal(s) => match builtins::parse_temporal(s) {
                Ok(v) => v,
                Err(m) => {
                    self.warn(e.span, m);
                    Value::Null
                }
            },
            ExprKind::Name(n) => match self.lookup(n) {
                Some(v) => v,
                None => {
                    if builtins::exists(n) {
                        self.warn(e.span, format!("'{n}' is a function: call it with (...)"));
                    } else {
                        self.warn(e.span, format!("no variable found with name '{n}'"));
                    }
                    Value::Null
                }
            },
            ExprKind::Neg(a) => {
                let v = self.eval(a);
                self.negate(v, e.span)
            }
            ExprKind::Binary(BinOp::And, a, b) => {
                let l = self.eval(a);
                if l == Value::Bool(false) {
                    return l;
                }
                let r = self.eval(b);
                match (l, r) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                let l = self.eval(a);
                if l == Value::Bool(true) {
                    return l;
                }
                let r = self.eval(b);
                match (l, r) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            ExprKind::Binary(op, a, b) => {
                let l = self.eval(a);
                let r = self.eval(b);
                self.binary(*op, &l, &r, e.span)
            }
            ExprKind::Between(x, lo, hi) => {
                let x = self.eval(x);
                let lo = self.eval(lo);
                let hi = self.eval(hi);
                let a = self.compare_op(CmpOp::Ge, &x, &lo, e.span);
                let b = self.compare_op(CmpOp::Le, &x, &hi, e.span);
                match (a, b) {
                    (Some(false), _) | (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            ExprKind::In(x, tests) => {
                let x = self.eval(x);
                self.any_test(&x, tests, e.span)
            }
            ExprKind::InstanceOf(x, ty) => {
                let v = self.eval(x);
                Value::Bool(instance_of(&v, ty))
            }
            ExprKind::Path(base, key) => {
                if let Root::Json(Some(m)) = self.root
                    && matches!(base.kind, ExprKind::Name(_) | ExprKind::Path(..))
                    && let Some(Json::Object(o)) = self.json_path(base, m)
                {
                    return match o.get(key) {
                        Some(v) => Value::from_json(v),
                        None => {
                            self.warn(e.span, format!("no context entry found with key '{key}'"));
                            Value::Null
                        }
                    };
                }
                let b = self.eval(base);
                self.path(b, key, e.span)
            }
            ExprKind::Filter(base, f) => {
                let b = self.eval(base);
                self.filter(b, f, e.span)
            }
            ExprKind::Call(callee, args) => self.call_expr(callee, args, e.span),
            ExprKind::If(c, a, b) => {
                let c = self.eval(c);
                match c {
                    Value::Bool(true) => self.eval(a),
                    Value::Bool(false) | Value::Null => self.eval(b),
                    other => {
                        self.warn(
                            e.span,
                            format!("condition of 'if' is {} not a boolean", other.type_name()),
                        );
                        self.eval(b)
                    }
                }
            }
            ExprKind::For(its, body) => {
                let uses_partial = {
                    let mut found = false;
                    body.walk(&mut |x| {
                        if matches!(&x.kind, ExprKind::Name(n) if n == "partial") {
                            found = true;
                        }
                    });
                    found
                };
                let mut out = Vec::new();
                self.frames.push(Context::new());
                let ok = self.iterate(its, e.span, &mut |ev| {
                    if uses_partial && let Some(top) = ev.frames.last_mut() {
                        top.insert("partial", Value::List(out.clone()));
                    }
                    let v = ev.eval(body);
                    if out.len() >= MAX_LIST {
                        ev.warn(e.span, format!("a list may hold at most {MAX_LIST} items"));
                        return false;
                    }
                    out.push(v);
                    true
                });
                self.frames.pop();
                if ok { Value::List(out) } else { Value::Null }
            }
            ExprKind::Quantified(q, its, body) => {
                let q = *q;
                let mut result = q == Quantifier::Every;
                self.frames.push(Context::new());
                let ok = self.iterate(its, e.span, &mut |ev| {
                    let v = ev.eval(body) == Value::Bool(true);
                    match q {
                        Quantifier::Some if v => {
                            result = true;
                            false
                        }
                        Quantifier::Every if !v => {
                            result = false;
                            false
                        }
                        _ => true,
                    }
                });
                self.frames.pop();
                let _ = ok;
                if self.exhausted {
                    Value::Null
                } else {
                    Value::Bool(result)
                }
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for x in items {
                    out.push(self.eval(x));
                }
                Value::List(out)
            }
            ExprKind::Context(entries) => {
                self.frames.push(Context::new());
                for (k, x) in entries {
                    let v = self.eval(x);
                    if let Some(top) = self.frames.last_mut() {
                        top.insert(k.clone(), v);
                    }
                }
                Value::Context(self.frames.pop().unwrap_or_default())
            }
            ExprKind::Interval {
                start,
                start_closed,
                end,
                end_closed,
            } => {
                let s = self.eval(start);
                let en = self.eval(end);
                self.make_range(s, *start_closed, en, *end_closed, e.span)
            }
            ExprKind::UnaryRange(op, x) => {
                let v = self.eval(x);
                let unbounded = Bound {
                    value: Value::Null,
                    closed: false,
                };
                let (start, end) = match op {
                    CmpOp::Lt | CmpOp::Le => (
                        unbounded,
                        Bound {
                            value: v,
                            closed: *op == CmpOp::Le,
                        },
                    ),
                    _ => (
                        Bound {
                            value: v,
                            closed: *op == CmpOp::Ge,
                        },
                        unbounded,
                    ),
                };
                Value::Range(Box::new(Range { start, end }))
            }
            ExprKind::Function(params, body) => {
                let mut closure = Context::new();
                for f in &self.frames {
                    for (k, v) in f.iter() {
                        closure.insert(k.clone(), v.clone());
                    }
                }
                Value::Function(Arc::new(Function {
                    params: params.clone(),
                    body: Arc::clone(body),
                    closure,
                }))
            }
        }
    }
}

/// Whether `v` is an instance of type `ty`.
fn instance_of(v: &Value, ty: &TypeRef) -> bool {
    match ty {
        TypeRef::Any => !v.is_null(),
        TypeRef::Null => v.is_null(),
        TypeRef::Named(n) => v.type_name() == n,
        TypeRef::List(inner) => match v {
            Value::List(xs) => xs.iter().all(|x| instance_of(x, inner)),
            _ => false,
        },
        TypeRef::Context(entries) => match v {
            Value::Context(c) => entries
                .iter()
                .all(|(k, t)| c.get(k).is_some_and(|x| instance_of(x, t))),
            _ => false,
        },
        TypeRef::Range(inner) => match v {
            Value::Range(r) => {
                (r.start.value.is_null() || instance_of(&r.start.value, inner))
                    && (r.end.value.is_null() || instance_of(&r.end.value, inner))
            }
            _ => false,
        },
        TypeRef::Function => matches!(v, Value::Function(_)),
    }
}

// Needed by the builtins for `time(...)` etc.
pub(crate) fn time_of(dt: &DateTime) -> Time {
    Time {
        local: dt.time,
        zone: dt.zone.clone(),
    }
}
