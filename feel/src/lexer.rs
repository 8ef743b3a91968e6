//! Tokenizer: turns source text into tokens with spans.
//!
//! Names are returned one word at a time; joining multi-word names such as `date and time` or
//! `string length` is the parser's job, because only it knows the context (a name followed by
//! `(` may be a built-in function, `and` between two operands is the operator).

use crate::error::{ParseError, Span};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word: identifier or keyword (`and`, `if`, `true`, ...).
    Name(String),
    /// A name written in backticks: never a keyword, may contain spaces.
    QuotedName(String),
    /// A number literal, digits kept as written.
    Number(String),
    /// A string literal with escapes resolved.
    Str(String),
    /// `@"..."`: a temporal literal.
    At(String),
    /// Punctuation or operator.
    Sym(&'static str),
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it is.
    pub span: Span,
}

const SYMBOLS: [&str; 22] = [
    "**", "..", "!=", "<=", ">=", "+", "-", "*", "/", "=", "<", ">", "(", ")", "[", "]", "{", "}",
    ",", ".", ":", "?",
];

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        if ch == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(ch)
    }

    fn here(&self) -> Span {
        Span {
            offset: self.pos,
            line: self.line,
            column: self.column,
            len: 0,
        }
    }

    fn error(&self, start: Span, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            span: Span {
                len: self.pos.saturating_sub(start.offset).max(1),
                ..start
            },
        }
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek_at(1) == Some('/') => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.here();
                    self.bump();
                    self.bump();
                    loop {
                        match self.peek() {
                            None => return Err(self.error(start, "unterminated comment")),
                            Some('*') if self.peek_at(1) == Some('/') => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            Some(_) => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn string(&mut self, start: Span) -> Result<String, ParseError> {
        // Opening quote already consumed.
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(start, "unterminated string literal")),
                Some('"') => return Ok(out),
                Some('\\') => {
                    let esc_start = self.here();
                    match self.bump() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some('"') => out.push('"'),
                        Some('\'') => out.push('\''),
                        Some('\\') => out.push('\\'),
                        Some('u') => {
                            let mut code = 0u32;
                            for _ in 0..4 {
                                let d =
                                    self.bump().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                                        self.error(
                                            esc_start,
                                            "invalid \\u escape: expected 4 hex digits",
                                        )
                                    })?;
                                code = code * 16 + d;
                            }
                            // A surrogate pair is written as two escapes.
                            if (0xD800..0xDC00).contains(&code)
                                && self.peek() == Some('\\')
                                && self.peek_at(1) == Some('u')
                            {
                                self.bump();
                                self.bump();
                                let mut low = 0u32;
                                for _ in 0..4 {
                                    let d = self.bump().and_then(|c| c.to_digit(16)).ok_or_else(
                                        || {
                                            self.error(
                                                esc_start,
                                                "invalid \\u escape: expected 4 hex digits",
                                            )
                                        },
                                    )?;
                                    low = low * 16 + d;
                                }
                                if (0xDC00..0xE000).contains(&low) {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                }
                            }
                            match char::from_u32(code) {
                                Some(c) => out.push(c),
                                None => return Err(self.error(esc_start, "invalid unicode escape")),
                            }
                        }
                        Some(c) => {
                            // Unknown escapes are kept literally (regex patterns such as "\d").
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err(self.error(start, "unterminated string literal")),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let start = self.here();
        let Some(c) = self.peek() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: start,
            });
        };
        let tok = if c == '"' {
            self.bump();
            Tok::Str(self.string(start)?)
        } else if c == '@' {
            self.bump();
            if self.peek() != Some('"') {
                return Err(self.error(start, "expected a string after '@'"));
            }
            self.bump();
            Tok::At(self.string(start)?)
        } else if c == '`' {
            self.bump();
            let mut name = String::new();
            loop {
                match self.bump() {
                    None => return Err(self.error(start, "unterminated `name`")),
                    Some('`') => break,
                    Some(c) => name.push(c),
                }
            }
            Tok::QuotedName(name)
        } else if c.is_ascii_digit()
            || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            let begin = self.pos;
            while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                self.bump();
            }
            if self.peek() == Some('.') && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
                self.bump();
                while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.bump();
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                let sign = matches!(self.peek_at(1), Some('+' | '-'));
                let digit_at = if sign { 2 } else { 1 };
                if self.peek_at(digit_at).is_some_and(|d| d.is_ascii_digit()) {
                    for _ in 0..digit_at {
                        self.bump();
                    }
                    while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                        self.bump();
                    }
                }
            }
            Tok::Number(self.src[begin..self.pos].to_string())
        } else if is_name_start(c) {
            let begin = self.pos;
            while self.peek().is_some_and(is_name_part) {
                self.bump();
            }
            Tok::Name(self.src[begin..self.pos].to_string())
        } else if let Some(sym) = SYMBOLS
            .iter()
            .find(|s| self.src[self.pos..].starts_with(**s))
        {
            for _ in 0..sym.len() {
                self.bump();
            }
            Tok::Sym(sym)
        } else {
            self.bump();
            return Err(self.error(start, format!("unexpected character '{c}'")));
        };
        Ok(Token {
            tok,
            span: Span {
                len: self.pos - start.offset,
                ..start
            },
        })
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_name_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Splits `src` into tokens; the last token is always [`Tok::Eof`].
///
/// # Errors
/// Unterminated strings and comments, bad escapes and characters that start no token.
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn range_is_not_a_decimal() {
        assert_eq!(
            toks("1..3"),
            vec![
                Tok::Number("1".into()),
                Tok::Sym(".."),
                Tok::Number("3".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn spans_track_lines() {
        let t = tokenize("a\n  + b").unwrap();
        assert_eq!(t[1].span.line, 2);
        assert_eq!(t[1].span.column, 3);
        assert_eq!(t[1].span.offset, 4);
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let e = tokenize("\"abc").unwrap_err();
        assert_eq!(e.span.offset, 0);
        assert!(e.message.contains("unterminated"));
    }
}
