//! Unary minus, postfix paths, filters and calls with their arguments, and primary
//! expressions: literals, names (joining the words of multi-word names), parentheses,
//! intervals, lists and contexts.

use super::{KEYWORDS, MULTI_WORD_FUNCTIONS, MULTI_WORD_PROPERTIES, PREC_ADD, Parser, describe};
use crate::ast::{Args, CmpOp, Expr, ExprKind};
use crate::error::{ParseError, Span};
use crate::lexer::Tok;
use rust_decimal::Decimal;
use std::str::FromStr;

impl Parser {
    /// Finds the longest of `names` whose words match the tokens from `pos + offset` on.
    pub(super) fn match_words(
        &self,
        names: &[&'static str],
        offset: usize,
    ) -> Option<&'static str> {
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

    pub(super) fn unary(&mut self) -> Result<Expr, ParseError> {
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
    pub(super) fn key_words(&mut self) -> Result<String, ParseError> {
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
}
