//! Control expressions: `if`, `for`, `some`/`every` with their iteration contexts, and
//! function definitions.

use super::{KEYWORDS, Parser};
use crate::ast::{Expr, ExprKind, IterSource, Quantifier};
use crate::error::{ParseError, Span};
use crate::lexer::Tok;
use std::sync::Arc;

impl Parser {
    pub(super) fn if_expr(&mut self, start: Span) -> Result<Expr, ParseError> {
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

    pub(super) fn for_expr(&mut self, start: Span) -> Result<Expr, ParseError> {
        self.advance();
        let its = self.iterations()?;
        self.expect_kw("return")?;
        let body = self.expression()?;
        Ok(Expr::new(
            ExprKind::For(its, Box::new(body)),
            self.since(start),
        ))
    }

    pub(super) fn quantified(&mut self, w: &str, start: Span) -> Result<Expr, ParseError> {
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

    pub(super) fn function_def(&mut self, start: Span) -> Result<Expr, ParseError> {
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
}
