//! Binary operators by precedence climbing, `between`, `in` with its positive unary tests
//! and intervals, and the types of `instance of`.

use super::{Op, PREC_ADD, PREC_AND, PREC_CMP, PREC_MUL, PREC_OR, PREC_POW, Parser, TYPE_NAMES};
use crate::ast::{BinOp, CmpOp, Expr, ExprKind, TypeRef, UnaryTest};
use crate::error::{ParseError, Span};
use crate::lexer::Tok;

impl Parser {
    pub(super) fn expression(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let r = self.binary(PREC_OR);
        self.leave(1);
        r
    }

    /// Binary operators by precedence climbing: one frame per operand instead of one per
    /// precedence level keeps the stack shallow for nested input.
    pub(super) fn binary(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
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

    pub(super) fn interval_close(&mut self) -> Result<bool, ParseError> {
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
    pub(super) fn positive_unary_test(&mut self, full: bool) -> Result<UnaryTest, ParseError> {
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

    pub(super) fn type_ref(&mut self) -> Result<TypeRef, ParseError> {
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
}
