//! Function calls: user-defined functions (with their closure and, called by name,
//! themselves for recursion) and built-ins, with positional or named arguments.

use super::budget::Charge;
use super::{CALL_DEPTH, Evaluator, Frame};
use crate::ast::{Args, Expr, ExprKind};
use crate::builtins;
use crate::error::Span;
use crate::value::{Context, Function, Value};
use std::sync::Arc;
impl Evaluator<'_> {
    pub(super) fn call_expr(&mut self, callee: &Expr, args: &Args, span: Span) -> Value {
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

    pub(crate) fn call_function(
        &mut self,
        func: &Arc<Function>,
        args: Vec<Value>,
        span: Span,
    ) -> Value {
        self.call_with(func, args, None, span)
    }

    fn call_with(
        &mut self,
        func: &Arc<Function>,
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
        let saved = std::mem::replace(
            &mut self.frames,
            vec![Frame::Closure(Arc::clone(func)), Frame::Local(frame)],
        );
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
            Ok(v) => self.admit(v, Charge::Whole, span),
            // A limit the built-in reached has stopped the evaluation and is reported as such.
            Err(_) if self.stopped() => Value::Null,
            Err(msg) => {
                self.warn(span, format!("{name}(): {msg}"));
                Value::Null
            }
        }
    }
}
