//! The syntax tree produced by the parser and walked by the evaluator.

use crate::error::Span;
use rust_decimal::Decimal;

/// A parsed expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in the source.
    pub span: Span,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `**`
    Pow,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
}

/// Comparison used by a unary test such as `< 10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `= x`
    Eq,
    /// `!= x`
    Ne,
    /// `< x`
    Lt,
    /// `<= x`
    Le,
    /// `> x`
    Gt,
    /// `>= x`
    Ge,
}

/// A positive unary test: one item of `x in (...)` or of a decision-table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum UnaryTest {
    /// `< 10`, `= "a"`, ...
    Compare(CmpOp, Expr),
    /// `[1..10)`: endpoints and whether each is included.
    Interval {
        /// Lower endpoint.
        start: Box<Expr>,
        /// Whether the lower endpoint is included.
        start_closed: bool,
        /// Upper endpoint.
        end: Box<Expr>,
        /// Whether the upper endpoint is included.
        end_closed: bool,
    },
    /// An expression: equal to the input, contains it (list), includes it (range), or is `true`
    /// when it mentions `?`.
    Expr(Expr),
}

/// Unary tests as in a decision-table input entry.
#[derive(Debug, Clone, PartialEq)]
pub enum UnaryTests {
    /// `-`: matches anything.
    Any,
    /// `t1, t2, ...`: matches if any test matches.
    Positive(Vec<UnaryTest>),
    /// `not(t1, t2, ...)`: matches if none matches.
    Not(Vec<UnaryTest>),
}

/// Which quantifier a `some`/`every` expression uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `some`
    Some,
    /// `every`
    Every,
}

/// The collection an iteration variable runs over.
#[derive(Debug, Clone, PartialEq)]
pub enum IterSource {
    /// A list (or a single value, treated as a one-item list).
    List(Expr),
    /// `a..b`: integers from a to b, ascending or descending.
    Range(Expr, Expr),
}

/// A type named after `instance of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// `Any`
    Any,
    /// `Null`
    Null,
    /// `number`, `string`, `date and time`, ...
    Named(String),
    /// `list<T>`
    List(Box<TypeRef>),
    /// `context<k: T, ...>`
    Context(Vec<(String, TypeRef)>),
    /// `range<T>`
    Range(Box<TypeRef>),
    /// `function<T, ...> -> R`
    Function,
}

/// Arguments of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// `f(1, 2)`
    Positional(Vec<Expr>),
    /// `f(a: 1, b: 2)`
    Named(Vec<(String, Expr)>),
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number literal.
    Number(Decimal),
    /// A string literal.
    Str(String),
    /// `@"2020-01-01"`: a temporal literal, checked when evaluated.
    Temporal(String),
    /// A variable (or a function referenced by name).
    Name(String),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x between a and b`
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `x in tests`
    In(Box<Expr>, Vec<UnaryTest>),
    /// `x instance of T`
    InstanceOf(Box<Expr>, TypeRef),
    /// `a.b`
    Path(Box<Expr>, String),
    /// `xs[f]`
    Filter(Box<Expr>, Box<Expr>),
    /// `f(args)`: a call of a named function (built-in or variable) or of an expression.
    Call(Box<Expr>, Args),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `for x in xs, y in ys return e`
    For(Vec<(String, IterSource)>, Box<Expr>),
    /// `some x in xs satisfies c` / `every ...`
    Quantified(Quantifier, Vec<(String, IterSource)>, Box<Expr>),
    /// `[a, b, c]`
    List(Vec<Expr>),
    /// `{a: 1, "b c": 2}`
    Context(Vec<(String, Expr)>),
    /// `[1..10)`, `(a..b]`
    Interval {
        /// Lower endpoint.
        start: Box<Expr>,
        /// Whether the lower endpoint is included.
        start_closed: bool,
        /// Upper endpoint.
        end: Box<Expr>,
        /// Whether the upper endpoint is included.
        end_closed: bool,
    },
    /// A range with one open side written as a unary test (`< 10`) used as a value.
    UnaryRange(CmpOp, Box<Expr>),
    /// `function(a, b) body`
    Function(Vec<String>, std::sync::Arc<Expr>),
}

impl Expr {
    /// Builds an expression node.
    #[must_use]
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Self { kind, span }
    }

    /// Whether the expression mentions the input placeholder `?` outside nested functions.
    #[must_use]
    pub fn mentions_input(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(&e.kind, ExprKind::Name(n) if n == "?") {
                found = true;
            }
        });
        found
    }

    /// Visits this expression and all sub-expressions (not function bodies).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::Str(_)
            | ExprKind::Temporal(_)
            | ExprKind::Name(_)
            | ExprKind::Function(..) => {}
            ExprKind::Neg(a) | ExprKind::Path(a, _) | ExprKind::InstanceOf(a, _) => a.walk(f),
            ExprKind::UnaryRange(_, a) => a.walk(f),
            ExprKind::Binary(_, a, b) | ExprKind::Filter(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::Between(a, b, c) | ExprKind::If(a, b, c) => {
                a.walk(f);
                b.walk(f);
                c.walk(f);
            }
            ExprKind::Interval { start, end, .. } => {
                start.walk(f);
                end.walk(f);
            }
            ExprKind::In(a, tests) => {
                a.walk(f);
                for t in tests {
                    t.walk(f);
                }
            }
            ExprKind::Call(callee, args) => {
                callee.walk(f);
                match args {
                    Args::Positional(xs) => xs.iter().for_each(|x| x.walk(f)),
                    Args::Named(xs) => xs.iter().for_each(|(_, x)| x.walk(f)),
                }
            }
            ExprKind::For(its, body) | ExprKind::Quantified(_, its, body) => {
                for (_, src) in its {
                    match src {
                        IterSource::List(x) => x.walk(f),
                        IterSource::Range(a, b) => {
                            a.walk(f);
                            b.walk(f);
                        }
                    }
                }
                body.walk(f);
            }
            ExprKind::List(xs) => xs.iter().for_each(|x| x.walk(f)),
            ExprKind::Context(xs) => xs.iter().for_each(|(_, x)| x.walk(f)),
        }
    }
}

impl UnaryTest {
    fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            UnaryTest::Compare(_, e) | UnaryTest::Expr(e) => e.walk(f),
            UnaryTest::Interval { start, end, .. } => {
                start.walk(f);
                end.walk(f);
            }
        }
    }
}
