//! The evaluator: walks a parsed [`Expr`] against variables and produces a value plus
//! warnings. Whatever cannot be computed becomes `null` with a warning that says why, as
//! Camunda's FEEL does. Resource use is bounded (nesting depth, steps, and the size of the
//! values built; see [`crate::limits`]): an expression that reaches a limit stops with a
//! [`LimitExceeded`] error rather than hanging or exhausting memory.
//!
//! This module holds the entry points, the [`Evaluator`]'s state and its match over the
//! expression kinds; the budget, operators, ranges and unary tests, iteration, paths and
//! filters, and function calls each have a module of their own.

mod budget;
mod calls;
mod clock;
mod iteration;
mod operators;
mod paths;
mod ranges;

use crate::ast::{BinOp, CmpOp, Expr, ExprKind, Quantifier, TypeRef, UnaryTests};
use crate::builtins;
use crate::error::Span;
use crate::limits::{Limit, LimitExceeded, Limits, MAX_EVAL_DEPTH};
use crate::temporal::{DateTime, Time};
use crate::value::{Bound, Context, Function, Range, Value};
use budget::Charge;
use serde_json::Value as Json;
use std::fmt;
use std::sync::Arc;

#[cfg(not(target_arch = "wasm32"))]
pub use clock::SystemClock;
pub use clock::{Clock, FixedClock};
pub(crate) use operators::{compare, values_equal};

/// Depth charged for entering a function body.
const CALL_DEPTH: usize = 4;
/// Longest warning message, in bytes: messages quote the values they are about, and a
/// quoted value must not multiply the memory a runaway expression holds.
const MAX_WARNING_BYTES: usize = 1024;

/// Options for an evaluation.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Where `now()` and `today()` take the time from; without one they return `null`
    /// with a warning.
    pub clock: Option<Arc<dyn Clock>>,
    /// How much the evaluation may build and do.
    pub limits: Limits,
}

impl EvalOptions {
    /// Options with the given clock and the default limits.
    #[must_use]
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            clock: Some(Arc::new(clock)),
            limits: Limits::default(),
        }
    }

    /// These options with other limits.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
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
    /// What went wrong along the way, in order; the last one repeats `error` when there is
    /// one.
    pub warnings: Vec<Warning>,
    /// The limit that stopped the evaluation, if one did; `value` is then `null`.
    pub error: Option<LimitExceeded>,
}

enum Root<'a> {
    Json(Option<&'a serde_json::Map<String, Json>>),
    Ctx(&'a Context),
}

/// A scope of local variables.
enum Frame {
    /// Variables the expression binds: iteration variables, context entries, parameters,
    /// a filter's `item`.
    Local(Context),
    /// The variables a called function closed over, shared with the function value rather
    /// than copied for every call.
    Closure(Arc<Function>),
}

impl Frame {
    fn vars(&self) -> &Context {
        match self {
            Self::Local(c) => c,
            Self::Closure(f) => &f.closure,
        }
    }
}

pub(crate) struct Evaluator<'a> {
    root: Root<'a>,
    frames: Vec<Frame>,
    pub(crate) opts: &'a EvalOptions,
    warnings: Vec<Warning>,
    depth: usize,
    steps: u64,
    /// Bytes of values built so far (see `budget`).
    bytes: usize,
    /// The limit that stopped the evaluation.
    stopped: Option<LimitExceeded>,
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
            bytes: 0,
            stopped: None,
        }
    }

    fn finish(mut self, value: Value) -> Evaluation {
        match self.stopped.take() {
            Some(error) => {
                // Pushed here rather than when stopping, so that no built-in that drops its
                // arguments' warnings can drop this one.
                self.warnings.push(Warning {
                    message: error.message(),
                    span: error.span,
                });
                Evaluation {
                    value: Value::Null,
                    warnings: self.warnings,
                    error: Some(error),
                }
            }
            None => Evaluation {
                value,
                warnings: self.warnings,
                error: None,
            },
        }
    }

    pub(crate) fn warn(&mut self, span: Span, message: impl Into<String>) {
        // A runaway expression could produce millions of identical warnings.
        if self.warnings.len() < 100 {
            let mut message = message.into();
            if message.len() > MAX_WARNING_BYTES {
                let mut end = MAX_WARNING_BYTES;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
                message.push('…');
                message.shrink_to_fit();
            }
            self.warnings.push(Warning { message, span });
        }
    }

    /// Binds `name` in the innermost scope of local variables.
    fn bind(&mut self, name: impl Into<String>, value: Value) {
        if let Some(Frame::Local(top)) = self.frames.last_mut() {
            top.insert(name, value);
        }
    }

    /// The value of a variable, borrowed; `None` for a JSON variable, which has no FEEL
    /// value until it is converted.
    fn find(&self, name: &str) -> Option<&Value> {
        for f in self.frames.iter().rev() {
            if let Some(v) = f.vars().get(name) {
                return Some(v);
            }
        }
        match &self.root {
            Root::Json(_) => None,
            Root::Ctx(c) => c.get(name),
        }
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.find(name) {
            return Some(v.clone());
        }
        match &self.root {
            Root::Json(m) => m.and_then(|m| m.get(name)).map(Value::from_json),
            Root::Ctx(_) => None,
        }
    }

    fn is_local(&self, name: &str) -> bool {
        self.frames.iter().any(|f| f.vars().get(name).is_some())
    }

    /// Resolves `a.b.c` over contexts without copying `a` and `a.b`: only the value at the
    /// end of the path is copied (and charged).
    fn local_path(&self, e: &Expr) -> Option<&Value> {
        match &e.kind {
            ExprKind::Name(n) => self.find(n),
            ExprKind::Path(base, key) => match self.local_path(base)? {
                Value::Context(c) => c.get(key),
                _ => None,
            },
            _ => None,
        }
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
            self.stop(Limit::EvalDepth, e.span);
            return Value::Null;
        }
        self.depth += 1;
        let v = self.eval_inner(e);
        self.depth -= 1;
        match charge_of(&e.kind) {
            Some(charge) => self.admit(v, charge, e.span),
            None => v,
        }
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
                if let Some(v) = self.local_path(e) {
                    return v.clone();
                }
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
                // `xs[1]`, `partial[-1]`: copy the one item, not the whole list.
                if let ExprKind::Number(n) = f.kind
                    && let Some(Value::List(xs)) = self.local_path(base)
                {
                    return paths::index(xs, n).unwrap_or(Value::Null);
                }
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
                self.frames.push(Frame::Local(Context::new()));
                let ok = self.iterate(its, e.span, &mut |ev| {
                    if out.len() >= ev.opts.limits.max_list_items {
                        ev.stop(Limit::ListItems, e.span);
                        return false;
                    }
                    let v = if uses_partial {
                        // Lent to the body rather than copied for every item.
                        ev.bind("partial", Value::List(std::mem::take(&mut out)));
                        let v = ev.eval(body);
                        if let Some(Frame::Local(top)) = ev.frames.last_mut()
                            && let Some(Value::List(xs)) = top.get_mut("partial")
                        {
                            out = std::mem::take(xs);
                        }
                        v
                    } else {
                        ev.eval(body)
                    };
                    out.push(v);
                    true
                });
                self.frames.pop();
                if ok { Value::List(out) } else { Value::Null }
            }
            ExprKind::Quantified(q, its, body) => {
                let q = *q;
                let mut result = q == Quantifier::Every;
                self.frames.push(Frame::Local(Context::new()));
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
                if self.stopped() {
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
                self.frames.push(Frame::Local(Context::new()));
                for (k, x) in entries {
                    let v = self.eval(x);
                    self.bind(k.clone(), v);
                }
                match self.frames.pop() {
                    Some(Frame::Local(c)) => Value::Context(c),
                    _ => Value::Null,
                }
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
                    for (k, v) in f.vars().iter() {
                        closure.insert(k.clone(), v.clone());
                    }
                }
                // A function value is shared, not copied, so its closure is paid for once.
                let fits = match budget::closure_bytes(&closure, self) {
                    Ok(bytes) => self.charge(bytes, e.span),
                    Err(limit) => {
                        self.stop(limit, e.span);
                        false
                    }
                };
                if !fits {
                    return Value::Null;
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

/// How the value of an expression of this kind is charged: expressions that build or copy
/// a string, list or context are; those that pass on a value of a sub-expression, or give a
/// number, boolean or temporal value, are not. Built-ins charge their results in
/// `call_builtin`, functions their closures where they are defined.
fn charge_of(kind: &ExprKind) -> Option<Charge> {
    match kind {
        ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Path(..)
        | ExprKind::Filter(..)
        | ExprKind::Binary(..) => Some(Charge::Whole),
        ExprKind::List(_) | ExprKind::Context(_) | ExprKind::For(..) => Some(Charge::Shell),
        _ => None,
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
