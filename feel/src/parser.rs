//! Hand-written recursive-descent parser for FEEL expressions and unary tests.
//!
//! FEEL names may contain spaces (`date and time`, `string length`). The tokenizer yields one
//! word at a time; the parser joins words into one name only where that is unambiguous: a
//! known multi-word built-in function name directly followed by `(`, a multi-word type name
//! after `instance of`, a multi-word property after `.`, and the words of a context key or
//! named argument up to its `:`. Other names with spaces are written in backticks.
//!
//! The nesting depth of the tree is bounded ([`MAX_DEPTH`]), so neither parsing, evaluation
//! nor dropping a tree can exhaust the stack on hostile input.

use crate::ast::{
    Args, BinOp, CmpOp, Expr, ExprKind, IterSource, Quantifier, TypeRef, UnaryTest, UnaryTests,
};
use crate::error::{ParseError, Span};
use crate::lexer::{Tok, Token, tokenize};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

/// Deepest nesting of the syntax tree accepted.
pub const MAX_DEPTH: usize = 80;

/// Built-in functions whose names have more than one word, longest first so that
/// `round half up` wins over `round`.
pub(crate) const MULTI_WORD_FUNCTIONS: &[&str] = &[
    "years and months duration",
    "days and time duration",
    "last day of month",
    "round half down",
    "round half up",
    "substring before",
    "substring after",
    "distinct values",
    "duplicate values",
    "date and time",
    "string length",
    "list contains",
    "insert before",
    "context merge",
    "list replace",
    "context put",
    "get entries",
    "month of year",
    "week of year",
    "day of week",
    "day of year",
    "get or else",
    "starts with",
    "string join",
    "round down",
    "upper case",
    "lower case",
    "is defined",
    "ends with",
    "get value",
    "round up",
    "index of",
    "is empty",
];

const MULTI_WORD_PROPERTIES: &[&str] = &["time offset", "start included", "end included"];

const TYPE_NAMES: &[&str] = &[
    "days and time duration",
    "years and months duration",
    "date and time",
    "number",
    "string",
    "boolean",
    "date",
    "time",
    "context",
    "list",
    "range",
    "function",
];

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "if",
    "then",
    "else",
    "for",
    "in",
    "return",
    "some",
    "every",
    "satisfies",
    "between",
    "instance",
    "of",
    "function",
    "true",
    "false",
    "null",
];

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_CMP: u8 = 3;
const PREC_ADD: u8 = 4;
const PREC_MUL: u8 = 5;
const PREC_POW: u8 = 6;

#[derive(Debug, Clone, Copy)]
enum Op {
    Bin(BinOp),
    Between,
    In,
    InstanceOf,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Set while parsing the upper endpoint of an interval, where `[` closes the interval
    /// (`[1..10[`) instead of starting a filter. Brackets, parentheses and braces clear it
    /// for what they enclose.
    no_filter: bool,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Name(n) => format!("'{n}'"),
        Tok::QuotedName(n) => format!("`{n}`"),
        Tok::Number(n) => format!("number {n}"),
        Tok::Str(_) => "a string".to_string(),
        Tok::At(_) => "a temporal literal".to_string(),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::Eof => "end of input".to_string(),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].span
    }

    fn prev_end(&self) -> usize {
        if self.pos == 0 {
            0
        } else {
            self.toks[self.pos - 1].span.end()
        }
    }

    /// Span from `start` to the end of the last consumed token.
    fn since(&self, start: Span) -> Span {
        Span {
            len: self.prev_end().saturating_sub(start.offset),
            ..start
        }
    }

    fn advance(&mut self) -> Token {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Name(x) if x == k)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        if self.is_kw(k) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        let mut span = self.span();
        if matches!(self.peek(), Tok::Eof) && self.pos > 0 {
            // Something is missing at the end: point at the last token, which is visible,
            // rather than past the end of the text.
            span = self.toks[self.pos - 1].span;
        }
        ParseError {
            message: message.into(),
            span: Span {
                len: span.len.max(1),
                ..span
            },
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        self.error_here(format!(
            "expected {what} but found {}",
            describe(self.peek())
        ))
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{s}'")))
        }
    }

    fn expect_kw(&mut self, k: &str) -> Result<(), ParseError> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{k}'")))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "expression is nested too deeply (more than {MAX_DEPTH} levels)"
            )));
        }
        Ok(())
    }

    fn leave(&mut self, n: usize) {
        self.depth = self.depth.saturating_sub(n);
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let r = self.binary(PREC_OR);
        self.leave(1);
        r
    }

    /// Binary operators by precedence climbing: one frame per operand instead of one per
    /// precedence level keeps the stack shallow for nested input.
    fn binary(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        let start = self.span();
        let mut lhs = self.unary()?;
        let mut chain = 0;
        let result = loop {
            let Some((prec, op)) = self.peek_op() else {
                break Ok(lhs);
            };
            if prec < min_prec {
                break Ok(lhs);
            }
            chain += 1;
            if let Err(e) = self.enter() {
                break Err(e);
            }
            match self.operator(op, lhs, start) {
                Ok(e) => lhs = e,
                Err(e) => break Err(e),
            }
        };
        self.leave(chain);
        result
    }

    fn peek_op(&self) -> Option<(u8, Op)> {
        Some(match self.peek() {
            Tok::Name(n) if n == "or" => (PREC_OR, Op::Bin(BinOp::Or)),
            Tok::Name(n) if n == "and" => (PREC_AND, Op::Bin(BinOp::And)),
            Tok::Sym("=") => (PREC_CMP, Op::Bin(BinOp::Eq)),
            Tok::Sym("!=") => (PREC_CMP, Op::Bin(BinOp::Ne)),
            Tok::Sym("<") => (PREC_CMP, Op::Bin(BinOp::Lt)),
            Tok::Sym("<=") => (PREC_CMP, Op::Bin(BinOp::Le)),
            Tok::Sym(">") => (PREC_CMP, Op::Bin(BinOp::Gt)),
            Tok::Sym(">=") => (PREC_CMP, Op::Bin(BinOp::Ge)),
            Tok::Name(n) if n == "between" => (PREC_CMP, Op::Between),
            Tok::Name(n) if n == "in" => (PREC_CMP, Op::In),
            Tok::Name(n)
                if n == "instance" && matches!(self.peek_at(1), Tok::Name(o) if o == "of") =>
            {
                (PREC_CMP, Op::InstanceOf)
            }
            Tok::Sym("+") => (PREC_ADD, Op::Bin(BinOp::Add)),
            Tok::Sym("-") => (PREC_ADD, Op::Bin(BinOp::Sub)),
            Tok::Sym("*") => (PREC_MUL, Op::Bin(BinOp::Mul)),
            Tok::Sym("/") => (PREC_MUL, Op::Bin(BinOp::Div)),
            Tok::Sym("**") => (PREC_POW, Op::Bin(BinOp::Pow)),
            _ => return None,
        })
    }

    /// Parses the operator at the cursor and its right-hand side; all are left-associative.
    fn operator(&mut self, op: Op, lhs: Expr, start: Span) -> Result<Expr, ParseError> {
        let kind = match op {
            Op::Bin(b) => {
                self.advance();
                let prec = match b {
                    BinOp::Or => PREC_OR,
                    BinOp::And => PREC_AND,
                    BinOp::Add | BinOp::Sub => PREC_ADD,
                    BinOp::Mul | BinOp::Div => PREC_MUL,
                    BinOp::Pow => PREC_POW,
                    _ => PREC_CMP,
                };
                let rhs = self.binary(prec + 1)?;
                ExprKind::Binary(b, Box::new(lhs), Box::new(rhs))
            }
            Op::Between => {
                self.advance();
                let lo = self.binary(PREC_ADD)?;
                self.expect_kw("and")?;
                let hi = self.binary(PREC_ADD)?;
                ExprKind::Between(Box::new(lhs), Box::new(lo), Box::new(hi))
            }
            Op::In => {
                self.advance();
                let tests = self.in_tests()?;
                ExprKind::In(Box::new(lhs), tests)
            }
            Op::InstanceOf => {
                self.advance();
                self.advance();
                let ty = self.type_ref()?;
                ExprKind::InstanceOf(Box::new(lhs), ty)
            }
        };
        Ok(Expr::new(kind, self.since(start)))
    }

    /// Right-hand side of `x in ...`: one positive unary test, or several in parentheses.
    fn in_tests(&mut self) -> Result<Vec<UnaryTest>, ParseError> {
        if self.is_sym("(") {
            let open = self.span();
            self.advance();
            let first = self.positive_unary_test(false)?;
            if self.eat_sym("..") {
                // `x in (1..10]`: an interval with an open start.
                let UnaryTest::Expr(start) = first else {
                    return Err(self.error_here("an interval endpoint must be a value"));
                };
                let saved = std::mem::replace(&mut self.no_filter, true);
                let end = self.binary(PREC_ADD);
                self.no_filter = saved;
                let end = end?;
                let end_closed = self.interval_close()?;
                let _ = open;
                return Ok(vec![UnaryTest::Interval {
                    start: Box::new(start),
                    start_closed: false,
                    end: Box::new(end),
                    end_closed,
                }]);
            }
            let mut tests = vec![first];
            while self.eat_sym(",") {
                tests.push(self.positive_unary_test(false)?);
            }
            self.expect_sym(")")?;
            Ok(tests)
        } else {
            Ok(vec![self.positive_unary_test(false)?])
        }
    }

    fn interval_close(&mut self) -> Result<bool, ParseError> {
        if self.eat_sym("]") {
            Ok(true)
        } else if self.eat_sym(")") || self.eat_sym("[") {
            Ok(false)
        } else {
            Err(self.expected("']', ')' or '[' to close the interval"))
        }
    }

    /// One positive unary test. `full` allows a whole expression (decision-table cells);
    /// after `in` only an arithmetic expression, so that `x in [1..2] and y` keeps its `and`.
    fn positive_unary_test(&mut self, full: bool) -> Result<UnaryTest, ParseError> {
        let op = match self.peek() {
            Tok::Sym("<") => Some(CmpOp::Lt),
            Tok::Sym("<=") => Some(CmpOp::Le),
            Tok::Sym(">") => Some(CmpOp::Gt),
            Tok::Sym(">=") => Some(CmpOp::Ge),
            Tok::Sym("=") => Some(CmpOp::Eq),
            Tok::Sym("!=") => Some(CmpOp::Ne),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let e = self.binary(PREC_ADD)?;
            return Ok(UnaryTest::Compare(op, e));
        }
        let e = if full {
            self.expression()?
        } else {
            self.binary(PREC_ADD)?
        };
        Ok(match e.kind {
            ExprKind::Interval {
                start,
                start_closed,
                end,
                end_closed,
            } => UnaryTest::Interval {
                start,
                start_closed,
                end,
                end_closed,
            },
            kind => UnaryTest::Expr(Expr { kind, span: e.span }),
        })
    }

    fn type_ref(&mut self) -> Result<TypeRef, ParseError> {
        self.enter()?;
        let r = self.type_ref_inner();
        self.leave(1);
        r
    }

    fn type_ref_inner(&mut self) -> Result<TypeRef, ParseError> {
        let Tok::Name(first) = self.peek().clone() else {
            return Err(self.expected("a type name"));
        };
        if first == "Any" {
            self.advance();
            return Ok(TypeRef::Any);
        }
        if first == "Null" {
            self.advance();
            return Ok(TypeRef::Null);
        }
        let name = self
            .match_words(TYPE_NAMES, 0)
            .ok_or_else(|| self.error_here(format!("unknown type '{first}'")))?;
        for _ in 0..name.split(' ').count() {
            self.advance();
        }
        match name {
            "list" if self.eat_sym("<") => {
                let inner = self.type_ref()?;
                self.expect_sym(">")?;
                Ok(TypeRef::List(Box::new(inner)))
            }
            "range" if self.eat_sym("<") => {
                let inner = self.type_ref()?;
                self.expect_sym(">")?;
                Ok(TypeRef::Range(Box::new(inner)))
            }
            "context" if self.eat_sym("<") => {
                let mut entries = Vec::new();
                loop {
                    let key = self.key_words()?;
                    self.expect_sym(":")?;
                    entries.push((key, self.type_ref()?));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym(">")?;
                Ok(TypeRef::Context(entries))
            }
            "function" => {
                if self.eat_sym("<") {
                    if !self.is_sym(">") {
                        loop {
                            self.type_ref()?;
                            if !self.eat_sym(",") {
                                break;
                            }
                        }
                    }
                    self.expect_sym(">")?;
                    self.expect_sym("-")?;
                    self.expect_sym(">")?;
                    self.type_ref()?;
                }
                Ok(TypeRef::Function)
            }
            other => Ok(TypeRef::Named(other.to_string())),
        }
    }

    /// Finds the longest of `names` whose words match the tokens from `pos + offset` on.
    fn match_words(&self, names: &[&'static str], offset: usize) -> Option<&'static str> {
        names
            .iter()
            .filter(|n| {
                n.split(' ')
                    .enumerate()
                    .all(|(i, w)| matches!(self.peek_at(offset + i), Tok::Name(t) if t == w))
            })
            .max_by_key(|n| n.len())
            .copied()
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let start = self.span();
        if self.eat_sym("-") {
            self.enter()?;
            let inner = self.unary()?;
            self.leave(1);
            return Ok(Expr::new(
                match inner.kind {
                    ExprKind::Number(n) => ExprKind::Number(-n),
                    kind => ExprKind::Neg(Box::new(Expr {
                        kind,
                        span: inner.span,
                    })),
                },
                self.since(start),
            ));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let start = self.span();
        let mut e = self.primary()?;
        let mut chain = 0;
        loop {
            if self.is_sym(".") {
                chain += 1;
                self.enter()?;
                self.advance();
                let name = match self.peek().clone() {
                    Tok::Name(_) => {
                        let joined = self.match_words(MULTI_WORD_PROPERTIES, 0);
                        if let Some(j) = joined {
                            for _ in 0..j.split(' ').count() {
                                self.advance();
                            }
                            j.to_string()
                        } else {
                            match self.advance().tok {
                                Tok::Name(n) => n,
                                _ => String::new(),
                            }
                        }
                    }
                    Tok::QuotedName(n) => {
                        self.advance();
                        n
                    }
                    _ => return Err(self.expected("a name after '.'")),
                };
                e = Expr::new(ExprKind::Path(Box::new(e), name), self.since(start));
            } else if self.is_sym("[") && !self.no_filter {
                chain += 1;
                self.enter()?;
                self.advance();
                let f = self.expression()?;
                self.expect_sym("]")?;
                e = Expr::new(
                    ExprKind::Filter(Box::new(e), Box::new(f)),
                    self.since(start),
                );
            } else if self.is_sym("(") {
                chain += 1;
                self.enter()?;
                self.advance();
                let args = self.args()?;
                e = Expr::new(ExprKind::Call(Box::new(e), args), self.since(start));
            } else {
                break;
            }
        }
        self.leave(chain);
        Ok(e)
    }

    /// Words of a context key, named argument or parameter, up to (not including) `:`.
    fn key_words(&mut self) -> Result<String, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) | Tok::QuotedName(s) => {
                self.advance();
                Ok(s)
            }
            Tok::Name(_) => {
                let mut words = Vec::new();
                while let Tok::Name(w) = self.peek().clone() {
                    self.advance();
                    words.push(w);
                }
                Ok(words.join(" "))
            }
            _ => Err(self.expected("a name")),
        }
    }

    /// Whether the tokens from here are `name words... :` (a named argument).
    fn at_named_arg(&self) -> bool {
        let mut i = 0;
        loop {
            match self.peek_at(i) {
                Tok::Name(_) | Tok::QuotedName(_) => i += 1,
                Tok::Sym(":") => return i > 0,
                _ => return false,
            }
        }
    }

    fn args(&mut self) -> Result<Args, ParseError> {
        // `(` already consumed.
        if self.eat_sym(")") {
            return Ok(Args::Positional(Vec::new()));
        }
        if self.at_named_arg() {
            let mut named = Vec::new();
            loop {
                let key = self.key_words()?;
                self.expect_sym(":")?;
                named.push((key, self.expression()?));
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            return Ok(Args::Named(named));
        }
        let mut xs = Vec::new();
        loop {
            xs.push(self.expression()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(Args::Positional(xs))
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let nested = matches!(self.peek(), Tok::Sym("(" | "[" | "{" | "]"))
            || matches!(self.peek(), Tok::Name(n) if n == "if" || n == "for" || n == "some" || n == "every" || n == "function");
        let saved = self.no_filter;
        if nested {
            self.no_filter = false;
        }
        let r = self.primary_inner();
        self.no_filter = saved;
        self.leave(1);
        r
    }

    /// Upper endpoint of an interval: an expression in which a top-level `[` is not a filter.
    fn interval_end(&mut self) -> Result<Expr, ParseError> {
        let saved = std::mem::replace(&mut self.no_filter, true);
        let r = self.expression();
        self.no_filter = saved;
        r
    }

    fn primary_inner(&mut self) -> Result<Expr, ParseError> {
        let start = self.span();
        match self.peek().clone() {
            Tok::Number(n) => {
                self.advance();
                let v = if n.contains(['e', 'E']) {
                    Decimal::from_scientific(&n)
                } else {
                    Decimal::from_str(&n)
                };
                match v {
                    Ok(d) => Ok(Expr::new(ExprKind::Number(d.normalize()), start)),
                    Err(_) => Err(ParseError {
                        message: format!("number {n} is out of range"),
                        span: start,
                    }),
                }
            }
            Tok::Str(s) => {
                self.advance();
                Ok(Expr::new(ExprKind::Str(s), start))
            }
            Tok::At(s) => {
                self.advance();
                Ok(Expr::new(ExprKind::Temporal(s), start))
            }
            Tok::QuotedName(n) => {
                self.advance();
                Ok(Expr::new(ExprKind::Name(n), start))
            }
            Tok::Sym("?") => {
                self.advance();
                Ok(Expr::new(ExprKind::Name("?".into()), start))
            }
            Tok::Sym("(") => self.paren_or_interval(start),
            Tok::Sym("]") => self.open_interval(start),
            Tok::Sym("[") => self.list_or_interval(start),
            Tok::Sym("{") => self.context_literal(start),
            Tok::Sym(op @ ("<" | "<=" | ">" | ">=")) => {
                // `< 10` used as a value: a range with one open end (DMN 1.4).
                self.advance();
                let e = self.binary(PREC_ADD)?;
                let op = match op {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                Ok(Expr::new(
                    ExprKind::UnaryRange(op, Box::new(e)),
                    self.since(start),
                ))
            }
            Tok::Name(w) => self.name_primary(&w, start),
            other => Err(self.error_here(format!(
                "expected an expression but found {}",
                describe(&other)
            ))),
        }
    }

    fn name_primary(&mut self, w: &str, start: Span) -> Result<Expr, ParseError> {
        match w {
            "null" => {
                self.advance();
                Ok(Expr::new(ExprKind::Null, start))
            }
            "true" | "false" => {
                self.advance();
                Ok(Expr::new(ExprKind::Bool(w == "true"), start))
            }
            "if" => self.if_expr(start),
            "for" => self.for_expr(start),
            "some" | "every" if matches!(self.peek_at(1), Tok::Name(_) | Tok::QuotedName(_)) => {
                self.quantified(w, start)
            }
            "function" if matches!(self.peek_at(1), Tok::Sym("(")) => self.function_def(start),
            _ if KEYWORDS.contains(&w) => {
                Err(self.error_here(format!("expected an expression but found keyword '{w}'")))
            }
            _ => {
                // A multi-word built-in directly followed by `(`.
                if let Some(name) = self.match_words(MULTI_WORD_FUNCTIONS, 0) {
                    let n = name.split(' ').count();
                    if matches!(self.peek_at(n), Tok::Sym("(")) {
                        for _ in 0..n {
                            self.advance();
                        }
                        return Ok(Expr::new(
                            ExprKind::Name(name.to_string()),
                            self.since(start),
                        ));
                    }
                }
                self.advance();
                Ok(Expr::new(ExprKind::Name(w.to_string()), start))
            }
        }
    }

    fn paren_or_interval(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let e = self.expression()?;
        if self.eat_sym("..") {
            let end = self.interval_end()?;
            let end_closed = self.interval_close()?;
            return Ok(Expr::new(
                ExprKind::Interval {
                    start: Box::new(e),
                    start_closed: false,
                    end: Box::new(end),
                    end_closed,
                },
                self.since(start),
            ));
        }
        self.expect_sym(")")?;
        Ok(Expr {
            kind: e.kind,
            span: self.since(start),
        })
    }

    fn open_interval(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let s = self.expression()?;
        self.expect_sym("..")?;
        let end = self.interval_end()?;
        let end_closed = self.interval_close()?;
        Ok(Expr::new(
            ExprKind::Interval {
                start: Box::new(s),
                start_closed: false,
                end: Box::new(end),
                end_closed,
            },
            self.since(start),
        ))
    }

    fn list_or_interval(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        if self.eat_sym("]") {
            return Ok(Expr::new(ExprKind::List(Vec::new()), self.since(start)));
        }
        let first = self.expression()?;
        if self.eat_sym("..") {
            let end = self.interval_end()?;
            let end_closed = self.interval_close()?;
            return Ok(Expr::new(
                ExprKind::Interval {
                    start: Box::new(first),
                    start_closed: true,
                    end: Box::new(end),
                    end_closed,
                },
                self.since(start),
            ));
        }
        let mut items = vec![first];
        while self.eat_sym(",") {
            items.push(self.expression()?);
        }
        self.expect_sym("]")?;
        Ok(Expr::new(ExprKind::List(items), self.since(start)))
    }

    fn context_literal(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let mut entries: Vec<(String, Expr)> = Vec::new();
        if !self.eat_sym("}") {
            loop {
                let key_span = self.span();
                let key = self.key_words()?;
                if entries.iter().any(|(k, _)| *k == key) {
                    return Err(ParseError {
                        message: format!("duplicate context key '{key}'"),
                        span: self.since(key_span),
                    });
                }
                self.expect_sym(":")?;
                let v = self.expression()?;
                entries.push((key, v));
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym("}")?;
        }
        Ok(Expr::new(ExprKind::Context(entries), self.since(start)))
    }

    fn if_expr(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let c = self.expression()?;
        self.expect_kw("then")?;
        let a = self.expression()?;
        self.expect_kw("else")?;
        let b = self.expression()?;
        Ok(Expr::new(
            ExprKind::If(Box::new(c), Box::new(a), Box::new(b)),
            self.since(start),
        ))
    }

    fn for_expr(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let its = self.iterations()?;
        self.expect_kw("return")?;
        let body = self.expression()?;
        Ok(Expr::new(
            ExprKind::For(its, Box::new(body)),
            self.since(start),
        ))
    }

    fn quantified(&mut self, w: &str, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let q = if w == "some" {
            Quantifier::Some
        } else {
            Quantifier::Every
        };
        let its = self.iterations()?;
        self.expect_kw("satisfies")?;
        let body = self.expression()?;
        Ok(Expr::new(
            ExprKind::Quantified(q, its, Box::new(body)),
            self.since(start),
        ))
    }

    fn function_def(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        self.advance();
        let mut params = Vec::new();
        if !self.eat_sym(")") {
            loop {
                let p = match self.advance().tok {
                    Tok::Name(n) | Tok::QuotedName(n) => n,
                    _ => {
                        self.pos -= 1;
                        return Err(self.expected("a parameter name"));
                    }
                };
                if self.eat_sym(":") {
                    self.type_ref()?;
                }
                if params.contains(&p) {
                    return Err(self.error_here(format!("duplicate parameter '{p}'")));
                }
                params.push(p);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
        }
        let body = self.expression()?;
        Ok(Expr::new(
            ExprKind::Function(params, Arc::new(body)),
            self.since(start),
        ))
    }

    fn iterations(&mut self) -> Result<Vec<(String, IterSource)>, ParseError> {
        let mut its = Vec::new();
        loop {
            let name = match self.advance().tok {
                Tok::Name(n) | Tok::QuotedName(n) if !KEYWORDS.contains(&n.as_str()) => n,
                _ => {
                    self.pos -= 1;
                    return Err(self.expected("a variable name"));
                }
            };
            self.expect_kw("in")?;
            let src = self.expression()?;
            let src = if self.eat_sym("..") {
                IterSource::Range(src, self.expression()?)
            } else {
                IterSource::List(src)
            };
            its.push((name, src));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(its)
    }

    fn finish(&self) -> Result<(), ParseError> {
        if matches!(self.peek(), Tok::Eof) {
            Ok(())
        } else {
            Err(self.error_here(format!(
                "unexpected {} after the end of the expression",
                describe(self.peek())
            )))
        }
    }
}

fn parser(src: &str) -> Result<Parser, ParseError> {
    Ok(Parser {
        toks: tokenize(src)?,
        pos: 0,
        depth: 0,
        no_filter: false,
    })
}

/// Parses a FEEL expression.
///
/// # Errors
/// A [`ParseError`] with a message and the span of the offending text.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = parser(src)?;
    if matches!(p.peek(), Tok::Eof) {
        return Err(p.error_here("expected an expression but the input is empty"));
    }
    let e = p.expression()?;
    p.finish()?;
    Ok(e)
}

/// Parses FEEL unary tests, as written in a decision-table input cell: `-`, `< 10, > 20`,
/// `[1..5]`, `not("a", "b")`, or an expression using `?` for the input.
///
/// # Errors
/// A [`ParseError`] with a message and the span of the offending text.
pub fn parse_unary_tests(src: &str) -> Result<UnaryTests, ParseError> {
    let mut p = parser(src)?;
    if p.is_sym("-") && matches!(p.peek_at(1), Tok::Eof) {
        return Ok(UnaryTests::Any);
    }
    if matches!(p.peek(), Tok::Eof) {
        return Err(p.error_here("expected unary tests but the input is empty"));
    }
    let negated = p.is_kw("not") && matches!(p.peek_at(1), Tok::Sym("("));
    let save = p.pos;
    if negated {
        p.advance();
        p.advance();
        if let Ok(tests) = list_of_tests(&mut p)
            && p.eat_sym(")")
            && matches!(p.peek(), Tok::Eof)
        {
            return Ok(UnaryTests::Not(tests));
        }
        p.pos = save;
        p.depth = 0;
    }
    let tests = list_of_tests(&mut p)?;
    p.finish()?;
    Ok(UnaryTests::Positive(tests))
}

fn list_of_tests(p: &mut Parser) -> Result<Vec<UnaryTest>, ParseError> {
    let mut tests = vec![p.positive_unary_test(true)?];
    while p.eat_sym(",") {
        tests.push(p.positive_unary_test(true)?);
    }
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_multi_word_builtin_before_paren() {
        let e = parse("date and time(\"2020-01-01T00:00:00\")").unwrap();
        let ExprKind::Call(callee, _) = e.kind else {
            panic!("not a call")
        };
        assert_eq!(callee.kind, ExprKind::Name("date and time".into()));
    }

    #[test]
    fn keeps_and_operator_between_names() {
        let e = parse("date and time").unwrap();
        assert!(matches!(e.kind, ExprKind::Binary(BinOp::And, _, _)));
    }

    #[test]
    fn error_has_position() {
        let e = parse("a +\n  * 2").unwrap_err();
        assert_eq!((e.span.line, e.span.column, e.span.offset), (2, 3, 6));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert!(
            parse(&src)
                .unwrap_err()
                .message
                .contains("nested too deeply")
        );
        let chain = vec!["1"; 10_000].join("+");
        assert!(parse(&chain).is_err());
    }
}
