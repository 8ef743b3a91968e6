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
//!
//! This module holds the token cursor and the entry points; operators, primary expressions
//! and control expressions (`if`, `for`, quantifiers, function definitions) each have a
//! module of their own.

mod control;
mod operators;
mod primary;

use crate::ast::{BinOp, Expr, UnaryTest, UnaryTests};
use crate::error::{ParseError, Span};
use crate::lexer::{Tok, Token, tokenize};

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
    use crate::ast::ExprKind;

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
