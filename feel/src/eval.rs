//! The evaluator: walks a parsed [`Expr`] against variables and produces a value plus
//! warnings. It never fails: whatever cannot be computed becomes `null` with a warning that
//! says why, as Camunda's FEEL does. Resource use is bounded (nesting depth, a step budget
//! and a cap on list sizes), so hostile expressions end with `null` rather than hanging.

use crate::ast::{
    Args, BinOp, CmpOp, Expr, ExprKind, IterSource, Quantifier, TypeRef, UnaryTest, UnaryTests,
};
use crate::builtins;
use crate::error::Span;
use crate::temporal::{DateTime, DayTimeDuration, Time, YearMonthDuration};
use crate::value::{Bound, Context, Function, Range, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value as Json;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Deepest evaluation nesting (sub-expressions plus function calls) before giving up.
const MAX_EVAL_DEPTH: usize = 200;
/// Depth charged for entering a function body.
const CALL_DEPTH: usize = 4;
/// Evaluation steps before giving up.
const MAX_STEPS: u64 = 2_000_000;
/// Largest list an evaluation may build.
pub(crate) const MAX_LIST: usize = 100_000;

/// Source of the current time for `now()` and `today()`.
pub trait Clock: Send + Sync {
    /// The current date and time, with its zone.
    fn now(&self) -> DateTime;
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// A clock that always says the same time: for tests and replays.
#[derive(Debug, Clone)]
pub struct FixedClock(pub DateTime);

impl Clock for FixedClock {
    fn now(&self) -> DateTime {
        self.0.clone()
    }
}

/// The machine's clock, in UTC. Not available on wasm32, where there is no system time.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> DateTime {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0));
        // Millisecond precision, like most engines' clocks.
        let nanos = nanos - nanos % 1_000_000;
        DateTime::from_epoch_nanos(nanos, Some(crate::temporal::Zone::offset(0))).unwrap_or_else(
            || {
                DateTime::at_midnight(
                    crate::temporal::Date {
                        year: 1970,
                        month: 1,
                        day: 1,
                    },
                    None,
                )
            },
        )
    }
}

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

fn num(d: Decimal) -> Value {
    Value::Number(d)
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

    fn make_range(&mut self, s: Value, sc: bool, e: Value, ec: bool, span: Span) -> Value {
        let comparable = matches!(
            (&s, &e),
            (Value::Number(_), Value::Number(_))
                | (Value::String(_), Value::String(_))
                | (Value::Date(_), Value::Date(_))
                | (Value::Time(_), Value::Time(_))
                | (Value::DateTime(_), Value::DateTime(_))
                | (Value::DayTimeDuration(_), Value::DayTimeDuration(_))
                | (Value::YearMonthDuration(_), Value::YearMonthDuration(_))
        ) || (s.is_null() != e.is_null());
        if !comparable {
            self.warn(
                span,
                format!(
                    "range endpoints must be of the same comparable type, not {} and {}",
                    s.type_name(),
                    e.type_name()
                ),
            );
            return Value::Null;
        }
        Value::Range(Box::new(Range {
            start: Bound {
                value: s,
                closed: sc,
            },
            end: Bound {
                value: e,
                closed: ec,
            },
        }))
    }

    /// Runs `body` for each combination of iteration variables (bound in the top frame).
    /// Returns false if iteration was cut short by an error or by `body`.
    fn iterate(
        &mut self,
        its: &[(String, IterSource)],
        span: Span,
        body: &mut dyn FnMut(&mut Self) -> bool,
    ) -> bool {
        let Some(((name, src), rest)) = its.split_first() else {
            return body(self);
        };
        let items: Vec<Value> = match src {
            IterSource::List(x) => match self.eval(x) {
                Value::List(xs) => xs,
                Value::Null => {
                    self.warn(x.span, "cannot iterate over null");
                    return false;
                }
                Value::Range(r) => match self.range_items(&r, x.span) {
                    Some(xs) => xs,
                    None => return false,
                },
                other => vec![other],
            },
            IterSource::Range(a, b) => {
                let (av, bv) = (self.eval(a), self.eval(b));
                let (Some(from), Some(to)) = (int_of(&av), int_of(&bv)) else {
                    self.warn(span, "range bounds of an iteration must be integers");
                    return false;
                };
                let n = from.abs_diff(to);
                if n >= MAX_LIST as u64 {
                    self.warn(span, format!("a list may hold at most {MAX_LIST} items"));
                    return false;
                }
                let step = if to >= from { 1 } else { -1 };
                (0..=i64::try_from(n).unwrap_or(0))
                    .map(|i| Value::int(from + step * i))
                    .collect()
            }
        };
        for item in items {
            if !self.tick(span) {
                return false;
            }
            if let Some(top) = self.frames.last_mut() {
                top.insert(name.clone(), item);
            }
            if !self.iterate(rest, span, body) {
                return self.exhausted_or(false);
            }
        }
        true
    }

    fn exhausted_or(&self, v: bool) -> bool {
        if self.exhausted { false } else { v }
    }

    fn range_items(&mut self, r: &Range, span: Span) -> Option<Vec<Value>> {
        let (Some(mut a), Some(mut b)) = (int_of(&r.start.value), int_of(&r.end.value)) else {
            self.warn(span, "only ranges of integers can be iterated");
            return None;
        };
        if !r.start.closed {
            a += 1;
        }
        if !r.end.closed {
            b -= 1;
        }
        if b < a {
            return Some(Vec::new());
        }
        if a.abs_diff(b) >= MAX_LIST as u64 {
            self.warn(span, format!("a list may hold at most {MAX_LIST} items"));
            return None;
        }
        Some((a..=b).map(Value::int).collect())
    }

    fn negate(&mut self, v: Value, span: Span) -> Value {
        match v {
            Value::Null => Value::Null,
            Value::Number(n) => num(-n),
            Value::DayTimeDuration(d) => Value::DayTimeDuration(DayTimeDuration(-d.0)),
            Value::YearMonthDuration(d) => Value::YearMonthDuration(YearMonthDuration(-d.0)),
            other => {
                self.warn(span, format!("cannot negate a {}", other.type_name()));
                Value::Null
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: &Value, r: &Value, span: Span) -> Value {
        let cmp = match op {
            BinOp::Eq => Some(CmpOp::Eq),
            BinOp::Ne => Some(CmpOp::Ne),
            BinOp::Lt => Some(CmpOp::Lt),
            BinOp::Le => Some(CmpOp::Le),
            BinOp::Gt => Some(CmpOp::Gt),
            BinOp::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            return self
                .compare_op(c, l, r, span)
                .map_or(Value::Null, Value::Bool);
        }
        if l.is_null() || r.is_null() {
            return Value::Null;
        }
        let result = match op {
            BinOp::Add => add(l, r),
            BinOp::Sub => sub(l, r),
            BinOp::Mul => mul(l, r),
            BinOp::Div => div(l, r),
            BinOp::Pow => pow(l, r),
            _ => Err(String::new()),
        };
        match result {
            Ok(v) => v,
            Err(msg) => {
                let sym = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    _ => "**",
                };
                let msg = if msg.is_empty() {
                    format!(
                        "cannot apply '{sym}' to {} and {}",
                        l.type_name(),
                        r.type_name()
                    )
                } else {
                    msg
                };
                self.warn(span, msg);
                Value::Null
            }
        }
    }

    /// `l op r`; `None` when undecidable (null or incomparable), with a warning for
    /// mismatched types.
    pub(crate) fn compare_op(
        &mut self,
        op: CmpOp,
        l: &Value,
        r: &Value,
        span: Span,
    ) -> Option<bool> {
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                let eq = match (l, r) {
                    (Value::Null, Value::Null) => Some(true),
                    (Value::Null, _) | (_, Value::Null) => Some(false),
                    _ => values_equal(l, r),
                };
                if eq.is_none() {
                    self.warn(
                        span,
                        format!("cannot compare {} with {}", l.type_name(), r.type_name()),
                    );
                }
                eq.map(|b| if op == CmpOp::Eq { b } else { !b })
            }
            _ => {
                if l.is_null() || r.is_null() {
                    return None;
                }
                let Some(ord) = compare(l, r) else {
                    self.warn(
                        span,
                        format!("cannot compare {} with {}", l.type_name(), r.type_name()),
                    );
                    return None;
                };
                Some(match op {
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                })
            }
        }
    }

    fn any_test(&mut self, input: &Value, tests: &[UnaryTest], span: Span) -> Value {
        let mut undecided = false;
        for t in tests {
            match self.unary_test(input, t, span) {
                Some(true) => return Value::Bool(true),
                Some(false) => {}
                None => undecided = true,
            }
        }
        if undecided {
            Value::Null
        } else {
            Value::Bool(false)
        }
    }

    fn unary_test(&mut self, input: &Value, t: &UnaryTest, span: Span) -> Option<bool> {
        match t {
            UnaryTest::Compare(op, e) => {
                let v = self.eval(e);
                self.compare_op(*op, input, &v, e.span)
            }
            UnaryTest::Interval {
                start,
                start_closed,
                end,
                end_closed,
            } => {
                let s = self.eval(start);
                let en = self.eval(end);
                let r = Range {
                    start: Bound {
                        value: s,
                        closed: *start_closed,
                    },
                    end: Bound {
                        value: en,
                        closed: *end_closed,
                    },
                };
                self.range_contains(&r, input, span)
            }
            UnaryTest::Expr(e) => {
                if e.mentions_input() {
                    let mut frame = Context::new();
                    frame.insert("?", input.clone());
                    self.frames.push(frame);
                    let v = self.eval(e);
                    self.frames.pop();
                    return match v {
                        Value::Bool(b) => Some(b),
                        Value::Null => None,
                        other => {
                            self.warn(
                                e.span,
                                format!(
                                    "a test using '?' must give a boolean, not {}",
                                    other.type_name()
                                ),
                            );
                            None
                        }
                    };
                }
                let v = self.eval(e);
                match &v {
                    Value::List(xs) => {
                        if matches!(input, Value::List(_)) && values_equal(input, &v) == Some(true)
                        {
                            return Some(true);
                        }
                        Some(xs.iter().any(|x| values_equal(x, input) == Some(true)))
                    }
                    Value::Range(r) => self.range_contains(r, input, e.span),
                    _ => self.compare_op(CmpOp::Eq, input, &v, e.span),
                }
            }
        }
    }

    pub(crate) fn range_contains(&mut self, r: &Range, x: &Value, span: Span) -> Option<bool> {
        if x.is_null() {
            return None;
        }
        let lo = if r.start.value.is_null() {
            Some(true)
        } else {
            let op = if r.start.closed { CmpOp::Ge } else { CmpOp::Gt };
            self.compare_op(op, x, &r.start.value, span)
        };
        let hi = if r.end.value.is_null() {
            Some(true)
        } else {
            let op = if r.end.closed { CmpOp::Le } else { CmpOp::Lt };
            self.compare_op(op, x, &r.end.value, span)
        };
        match (lo, hi) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    }

    fn path(&mut self, base: Value, key: &str, span: Span) -> Value {
        match base {
            Value::Null => Value::Null,
            Value::Context(c) => match c.get(key) {
                Some(v) => v.clone(),
                None => {
                    self.warn(span, format!("no context entry found with key '{key}'"));
                    Value::Null
                }
            },
            Value::List(xs) => Value::List(
                xs.into_iter()
                    .map(|x| match x {
                        Value::Context(c) => c.get(key).cloned().unwrap_or(Value::Null),
                        other => builtins::property(&other, key).unwrap_or(Value::Null),
                    })
                    .collect(),
            ),
            other => match builtins::property(&other, key) {
                Some(v) => v,
                None => {
                    self.warn(
                        span,
                        format!("a {} has no property '{key}'", other.type_name()),
                    );
                    Value::Null
                }
            },
        }
    }

    fn filter(&mut self, base: Value, f: &Expr, span: Span) -> Value {
        let items = match base {
            Value::Null => return Value::Null,
            Value::List(xs) => xs,
            other => vec![other],
        };
        if items.is_empty() {
            // Nothing to bind `item` to: a number means an index (out of range), anything
            // else a condition that keeps nothing.
            let v = self.eval(f);
            return match v {
                Value::Number(_) => Value::Null,
                _ => Value::List(Vec::new()),
            };
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut frame = Context::new();
            frame.insert("item", item.clone());
            if let Value::Context(c) = item {
                for (k, v) in c.iter() {
                    frame.insert(k.clone(), v.clone());
                }
            }
            self.frames.push(frame);
            let warn_mark = self.warnings.len();
            let v = self.eval(f);
            self.frames.pop();
            match v {
                Value::Number(n) if i == 0 => {
                    return index(&items, n).unwrap_or(Value::Null);
                }
                Value::Bool(true) => out.push(item.clone()),
                Value::Bool(false) => {}
                // Items without the filtered entry are skipped quietly (Camunda 8.3+).
                Value::Null => self.warnings.truncate(warn_mark),
                other => {
                    self.warn(
                        span,
                        format!(
                            "a filter must give a boolean or a number, not {}",
                            other.type_name()
                        ),
                    );
                    return Value::Null;
                }
            }
            if self.exhausted {
                return Value::Null;
            }
        }
        Value::List(out)
    }

    fn call_expr(&mut self, callee: &Expr, args: &Args, span: Span) -> Value {
        let mut self_name = None;
        let func = match &callee.kind {
            ExprKind::Name(n) => match self.lookup(n) {
                Some(Value::Function(f)) => {
                    self_name = Some(n.as_str());
                    Some(f)
                }
                Some(_) | None => {
                    if builtins::exists(n) {
                        return self.call_builtin(n, args, span);
                    }
                    self.warn(callee.span, format!("no function found with name '{n}'"));
                    return Value::Null;
                }
            },
            _ => match self.eval(callee) {
                Value::Function(f) => Some(f),
                Value::Null => None,
                other => {
                    self.warn(span, format!("cannot call a {}", other.type_name()));
                    None
                }
            },
        };
        let Some(func) = func else {
            return Value::Null;
        };
        let bound = match args {
            Args::Positional(xs) => {
                if xs.len() > func.params.len() {
                    self.warn(
                        span,
                        format!(
                            "function expects {} arguments but got {}",
                            func.params.len(),
                            xs.len()
                        ),
                    );
                    return Value::Null;
                }
                let mut vals = Vec::with_capacity(xs.len());
                for x in xs {
                    vals.push(self.eval(x));
                }
                vals.resize(func.params.len(), Value::Null);
                vals
            }
            Args::Named(xs) => {
                let mut vals = vec![Value::Null; func.params.len()];
                for (k, x) in xs {
                    let Some(pos) = func.params.iter().position(|p| p == k) else {
                        self.warn(span, format!("function has no parameter '{k}'"));
                        return Value::Null;
                    };
                    vals[pos] = self.eval(x);
                }
                vals
            }
        };
        // Binding the function's own name inside its body makes recursion work.
        let own = self_name.map(|n| (n, Arc::clone(&func)));
        self.call_with(&func, bound, own, span)
    }

    pub(crate) fn call_function(&mut self, func: &Function, args: Vec<Value>, span: Span) -> Value {
        self.call_with(func, args, None, span)
    }

    fn call_with(
        &mut self,
        func: &Function,
        args: Vec<Value>,
        own: Option<(&str, Arc<Function>)>,
        span: Span,
    ) -> Value {
        if !self.tick(span) {
            return Value::Null;
        }
        let mut frame = Context::new();
        if let Some((n, f)) = own {
            frame.insert(n, Value::Function(f));
        }
        for (p, v) in func.params.iter().zip(args) {
            frame.insert(p.clone(), v);
        }
        // A call costs more stack than a plain sub-expression: count it as several levels.
        self.depth += CALL_DEPTH;
        let saved = std::mem::replace(&mut self.frames, vec![func.closure.clone(), frame]);
        let v = self.eval(&func.body);
        self.frames = saved;
        self.depth -= CALL_DEPTH;
        v
    }

    fn call_builtin(&mut self, name: &str, args: &Args, span: Span) -> Value {
        // `is defined` and `get or else` are about missing values: their argument's
        // "no variable found" warnings are expected, so drop them.
        let quiet = matches!(name, "is defined" | "get or else");
        let mark = self.warnings.len();
        let vals = match args {
            Args::Positional(xs) => {
                let mut vals = Vec::with_capacity(xs.len());
                for x in xs {
                    vals.push(self.eval(x));
                }
                vals
            }
            Args::Named(xs) => {
                let params = builtins::params(name);
                let mut vals = vec![Value::Null; params.len()];
                let mut used = 0;
                for (k, x) in xs {
                    let Some(pos) = params.iter().position(|p| p == k) else {
                        self.warn(span, format!("function '{name}' has no parameter '{k}'"));
                        return Value::Null;
                    };
                    vals[pos] = self.eval(x);
                    used = used.max(pos + 1);
                }
                vals.truncate(used);
                vals
            }
        };
        if quiet {
            self.warnings.truncate(mark);
        }
        match builtins::call(self, name, vals, span) {
            Ok(v) => v,
            Err(msg) => {
                self.warn(span, format!("{name}(): {msg}"));
                Value::Null
            }
        }
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) if n.is_integer() => n.to_i64(),
        _ => None,
    }
}

fn index(items: &[Value], n: Decimal) -> Option<Value> {
    if !n.is_integer() {
        return None;
    }
    let i = n.to_i64()?;
    let len = i64::try_from(items.len()).ok()?;
    let pos = if i > 0 {
        i - 1
    } else if i < 0 {
        len + i
    } else {
        return None;
    };
    if pos < 0 || pos >= len {
        return None;
    }
    items.get(usize::try_from(pos).ok()?).cloned()
}

/// Equality of two non-null values; `None` if the types cannot be compared.
pub(crate) fn values_equal(l: &Value, r: &Value) -> Option<bool> {
    Some(match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Date(a), Value::Date(b)) => a == b,
        (Value::Time(a), Value::Time(b)) => a.compare(b)? == Ordering::Equal,
        (Value::DateTime(a), Value::DateTime(b)) => a.compare(b)? == Ordering::Equal,
        (Value::DayTimeDuration(a), Value::DayTimeDuration(b)) => a == b,
        (Value::YearMonthDuration(a), Value::YearMonthDuration(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            if a.len() != b.len() {
                return Some(false);
            }
            for (x, y) in a.iter().zip(b) {
                if !values_equal(x, y)? {
                    return Some(false);
                }
            }
            true
        }
        (Value::Context(a), Value::Context(b)) => {
            if a.len() != b.len() {
                return Some(false);
            }
            for (k, x) in a.iter() {
                match b.get(k) {
                    Some(y) => {
                        if !values_equal(x, y)? {
                            return Some(false);
                        }
                    }
                    None => return Some(false),
                }
            }
            true
        }
        (Value::Range(a), Value::Range(b)) => {
            a.start.closed == b.start.closed
                && a.end.closed == b.end.closed
                && values_equal(&a.start.value, &b.start.value)?
                && values_equal(&a.end.value, &b.end.value)?
        }
        _ => return None,
    })
}

/// Ordering of two values of the same ordered type.
pub(crate) fn compare(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::Time(a), Value::Time(b)) => a.compare(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.compare(b),
        (Value::DayTimeDuration(a), Value::DayTimeDuration(b)) => Some(a.cmp(b)),
        (Value::YearMonthDuration(a), Value::YearMonthDuration(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn overflow() -> String {
    "numeric overflow".to_string()
}

fn add(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_add(*b).ok_or_else(overflow)?),
        (V::String(a), V::String(b)) => V::String(format!("{a}{b}")),
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            V::DayTimeDuration(DayTimeDuration(a.0.checked_add(b.0).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => V::YearMonthDuration(
            YearMonthDuration(a.0.checked_add(b.0).ok_or_else(overflow)?),
        ),
        (V::DateTime(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::DateTime(t)) => {
            V::DateTime(t.add(*d).ok_or_else(overflow)?)
        }
        (V::DateTime(t), V::YearMonthDuration(d)) | (V::YearMonthDuration(d), V::DateTime(t)) => {
            V::DateTime(t.add_months(d.0).ok_or_else(overflow)?)
        }
        (V::Date(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::Date(t)) => V::Date(
            DateTime::at_midnight(*t, None)
                .add(*d)
                .ok_or_else(overflow)?
                .date,
        ),
        (V::Date(t), V::YearMonthDuration(d)) | (V::YearMonthDuration(d), V::Date(t)) => {
            V::Date(t.add_months(d.0).ok_or_else(overflow)?)
        }
        (V::Time(t), V::DayTimeDuration(d)) | (V::DayTimeDuration(d), V::Time(t)) => {
            V::Time(t.add(*d))
        }
        _ => return Err(String::new()),
    })
}

fn sub(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_sub(*b).ok_or_else(overflow)?),
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            V::DayTimeDuration(DayTimeDuration(a.0.checked_sub(b.0).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => V::YearMonthDuration(
            YearMonthDuration(a.0.checked_sub(b.0).ok_or_else(overflow)?),
        ),
        (V::DateTime(t), V::DayTimeDuration(d)) => {
            V::DateTime(t.add(DayTimeDuration(-d.0)).ok_or_else(overflow)?)
        }
        (V::DateTime(t), V::YearMonthDuration(d)) => {
            V::DateTime(t.add_months(-d.0).ok_or_else(overflow)?)
        }
        (V::Date(t), V::DayTimeDuration(d)) => V::Date(
            DateTime::at_midnight(*t, None)
                .add(DayTimeDuration(-d.0))
                .ok_or_else(overflow)?
                .date,
        ),
        (V::Date(t), V::YearMonthDuration(d)) => V::Date(t.add_months(-d.0).ok_or_else(overflow)?),
        (V::Time(t), V::DayTimeDuration(d)) => V::Time(t.add(DayTimeDuration(-d.0))),
        (V::DateTime(a), V::DateTime(b)) => V::DayTimeDuration(
            a.sub(b)
                .ok_or("cannot subtract a date and time with a zone and one without")?,
        ),
        (V::Date(a), V::Date(b)) => V::DayTimeDuration(DayTimeDuration::from_secs(
            (a.to_days() - b.to_days()) * 86_400,
        )),
        (V::DateTime(a), V::Date(b)) => V::DayTimeDuration(
            a.sub(&DateTime::at_midnight(*b, a.zone.clone()))
                .ok_or_else(overflow)?,
        ),
        (V::Date(a), V::DateTime(b)) => V::DayTimeDuration(
            DateTime::at_midnight(*a, b.zone.clone())
                .sub(b)
                .ok_or_else(overflow)?,
        ),
        (V::Time(a), V::Time(b)) => V::DayTimeDuration(
            a.sub(b)
                .ok_or("cannot subtract a time with a zone and one without")?,
        ),
        _ => return Err(String::new()),
    })
}

fn dec_to_nanos(d: Decimal) -> Option<i128> {
    d.checked_mul(Decimal::from(1_000_000_000))?
        .round()
        .to_i128()
}

fn mul(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => num(a.checked_mul(*b).ok_or_else(overflow)?),
        (V::DayTimeDuration(d), V::Number(n)) | (V::Number(n), V::DayTimeDuration(d)) => {
            let secs = Decimal::from_i128_with_scale(d.0, 9)
                .checked_mul(*n)
                .ok_or_else(overflow)?;
            V::DayTimeDuration(DayTimeDuration(dec_to_nanos(secs).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(d), V::Number(n)) | (V::Number(n), V::YearMonthDuration(d)) => {
            let m = Decimal::from(d.0).checked_mul(*n).ok_or_else(overflow)?;
            V::YearMonthDuration(YearMonthDuration(m.trunc().to_i64().ok_or_else(overflow)?))
        }
        _ => return Err(String::new()),
    })
}

fn div(l: &Value, r: &Value) -> Result<Value, String> {
    use Value as V;
    let zero = || "division by zero".to_string();
    Ok(match (l, r) {
        (V::Number(a), V::Number(b)) => {
            if b.is_zero() {
                return Err(zero());
            }
            num(a.checked_div(*b).ok_or_else(overflow)?)
        }
        (V::DayTimeDuration(d), V::Number(n)) => {
            if n.is_zero() {
                return Err(zero());
            }
            let secs = Decimal::from_i128_with_scale(d.0, 9)
                .checked_div(*n)
                .ok_or_else(overflow)?;
            V::DayTimeDuration(DayTimeDuration(dec_to_nanos(secs).ok_or_else(overflow)?))
        }
        (V::YearMonthDuration(d), V::Number(n)) => {
            if n.is_zero() {
                return Err(zero());
            }
            let m = Decimal::from(d.0).checked_div(*n).ok_or_else(overflow)?;
            V::YearMonthDuration(YearMonthDuration(m.trunc().to_i64().ok_or_else(overflow)?))
        }
        (V::DayTimeDuration(a), V::DayTimeDuration(b)) => {
            if b.0 == 0 {
                return Err(zero());
            }
            num(Decimal::from_i128_with_scale(a.0, 9)
                .checked_div(Decimal::from_i128_with_scale(b.0, 9))
                .ok_or_else(overflow)?)
        }
        (V::YearMonthDuration(a), V::YearMonthDuration(b)) => {
            if b.0 == 0 {
                return Err(zero());
            }
            num(Decimal::from(a.0)
                .checked_div(Decimal::from(b.0))
                .ok_or_else(overflow)?)
        }
        _ => return Err(String::new()),
    })
}

fn pow(l: &Value, r: &Value) -> Result<Value, String> {
    use rust_decimal::MathematicalOps;
    let (Value::Number(a), Value::Number(b)) = (l, r) else {
        return Err(String::new());
    };
    if b.is_integer() {
        let e = b.to_i64().ok_or_else(overflow)?;
        if a.is_zero() && e < 0 {
            return Err("division by zero".into());
        }
        return a.checked_powi(e).map(num).ok_or_else(overflow);
    }
    if a.is_sign_negative() && !a.is_zero() {
        return Err("a negative number has no real power with a fractional exponent".into());
    }
    a.checked_powd(*b).map(num).ok_or_else(overflow)
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
