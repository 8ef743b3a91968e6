//! String functions, with XPath-style regular expressions for `matches`, `replace`
//! and `split`.

use super::{R, Table, arity, list_arg, s, slice_bounds, str_arg, type_err};
use crate::error::Span;
use crate::eval::Evaluator;
use crate::value::Value;

pub(super) const FUNCTIONS: Table = &[
    ("string length", &["string"]),
    ("substring", &["string", "start position", "length"]),
    ("substring before", &["string", "match"]),
    ("substring after", &["string", "match"]),
    ("upper case", &["string"]),
    ("lower case", &["string"]),
    ("contains", &["string", "match"]),
    ("starts with", &["string", "match"]),
    ("ends with", &["string", "match"]),
    ("matches", &["input", "pattern", "flags"]),
    ("replace", &["input", "pattern", "replacement", "flags"]),
    ("split", &["string", "delimiter"]),
    ("string join", &["list", "delimiter", "prefix", "suffix"]),
    ("trim", &["string"]),
];

pub(super) fn call(ev: &mut Evaluator<'_>, name: &str, args: &[Value], span: Span) -> R {
    match name {
        "string length" => {
            arity(args, 1, 1)?;
            Ok(Value::int(
                i64::try_from(str_arg(args, 0)?.chars().count()).unwrap_or(i64::MAX),
            ))
        }
        "substring" => {
            arity(args, 2, 3)?;
            let chars: Vec<char> = str_arg(args, 0)?.chars().collect();
            let (from, to) = slice_bounds(chars.len(), args, 1, 2)?;
            Ok(s(chars[from..to].iter().collect::<String>()))
        }
        "substring before" | "substring after" => {
            arity(args, 2, 2)?;
            let (x, m) = (str_arg(args, 0)?, str_arg(args, 1)?);
            Ok(s(match x.find(m) {
                Some(i) if name == "substring before" => &x[..i],
                Some(i) => &x[i + m.len()..],
                None => "",
            }))
        }
        "upper case" => {
            arity(args, 1, 1)?;
            Ok(s(str_arg(args, 0)?.to_uppercase()))
        }
        "lower case" => {
            arity(args, 1, 1)?;
            Ok(s(str_arg(args, 0)?.to_lowercase()))
        }
        "trim" => {
            arity(args, 1, 1)?;
            Ok(s(str_arg(args, 0)?.trim()))
        }
        "contains" | "starts with" | "ends with" => {
            arity(args, 2, 2)?;
            let (x, m) = (str_arg(args, 0)?, str_arg(args, 1)?);
            Ok(Value::Bool(match name {
                "contains" => x.contains(m),
                "starts with" => x.starts_with(m),
                _ => x.ends_with(m),
            }))
        }
        "matches" => {
            arity(args, 2, 3)?;
            let re = regex(str_arg(args, 1)?, args.get(2))?;
            Ok(Value::Bool(re.is_match(str_arg(args, 0)?)))
        }
        "replace" => {
            arity(args, 3, 4)?;
            let re = regex(str_arg(args, 1)?, args.get(3))?;
            let template = replacement(str_arg(args, 2)?);
            replace(ev, &re, str_arg(args, 0)?, &template, span).map(Value::String)
        }
        "split" => {
            arity(args, 2, 2)?;
            let re = regex(str_arg(args, 1)?, None)?;
            // One part past the cap is enough for the result to be refused.
            let most = ev.opts.limits.max_list_items.saturating_add(1);
            let parts: Vec<Value> = re.split(str_arg(args, 0)?).map(s).take(most).collect();
            Ok(Value::List(parts))
        }
        "string join" => {
            arity(args, 1, 4)?;
            let xs = list_arg(args, 0)?;
            let opt = |i: usize| -> Result<&str, String> {
                match args.get(i) {
                    None | Some(Value::Null) => Ok(""),
                    Some(Value::String(x)) => Ok(x),
                    Some(v) => Err(type_err("a string", v)),
                }
            };
            let (delim, prefix, suffix) = (opt(1)?, opt(2)?, opt(3)?);
            let mut parts = Vec::new();
            for x in xs {
                match x {
                    Value::String(t) => parts.push(t.as_str()),
                    Value::Null => {}
                    other => return Err(type_err("a list of strings", other)),
                }
            }
            // The delimiter is repeated once per part: a long one multiplies the input.
            let len = parts
                .iter()
                .fold(prefix.len().saturating_add(suffix.len()), |n, p| {
                    n.saturating_add(p.len())
                })
                .saturating_add(delim.len().saturating_mul(parts.len().saturating_sub(1)));
            ev.string_fits(len, span)?;
            Ok(s(format!("{prefix}{}{suffix}", parts.join(delim))))
        }
        _ => Err("unknown function".into()),
    }
}

/// Longest pattern, in bytes. Compiling a pattern takes far more memory than its text, before
/// the compiled size limit is checked: about a hundred bytes per byte of plain text, and up
/// to 15 KiB per byte for Unicode classes such as `\W`. At this length the worst case stays
/// around 15 MiB; real patterns (an e-mail address, a date, a list of keywords) are far
/// shorter.
const MAX_PATTERN_BYTES: usize = 1_000;

fn regex(pattern: &str, flags: Option<&Value>) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "a pattern may be at most {MAX_PATTERN_BYTES} bytes long"
        ));
    }
    let limited = |b: &mut regex::RegexBuilder| {
        b.size_limit(1 << 20).nest_limit(64);
    };
    let mut b = regex::RegexBuilder::new(pattern);
    limited(&mut b);
    match flags {
        None | Some(Value::Null) => {}
        Some(Value::String(f)) => {
            for c in f.chars() {
                match c {
                    'i' => b.case_insensitive(true),
                    's' => b.dot_matches_new_line(true),
                    'm' => b.multi_line(true),
                    'x' => b.ignore_whitespace(true),
                    'q' => {
                        let mut q = regex::RegexBuilder::new(&regex::escape(pattern));
                        limited(&mut q);
                        return q.build().map_err(|e| e.to_string());
                    }
                    other => return Err(format!("unknown regex flag '{other}'")),
                };
            }
        }
        Some(other) => return Err(type_err("a string of flags", other)),
    }
    b.build().map_err(|e| format!("invalid pattern: {e}"))
}

/// A piece of a replacement: text, or the text of a group of the match (`None` for a group
/// number too large to exist, which gives nothing).
enum Piece {
    Text(String),
    Group(Option<usize>),
}

/// Parses an XPath replacement: `$1` is the first group, `\$` a dollar sign, `\x` the
/// character `x`.
fn replacement(rep: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.push(chars.next().unwrap_or('\\')),
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    text.push('$');
                } else {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                    out.push(Piece::Group(digits.parse().ok()));
                }
            }
            c => text.push(c),
        }
    }
    out.push(Piece::Text(text));
    out
}

/// Replaces every match of `re` in `input` by `template`. Each match can add the whole
/// replacement, and a group can repeat the whole input: the result is checked against the
/// limits as it grows, before anything past them is allocated.
fn replace(
    ev: &mut Evaluator<'_>,
    re: &regex::Regex,
    input: &str,
    template: &[Piece],
    span: Span,
) -> Result<String, String> {
    let mut out = String::new();
    let push = |ev: &mut Evaluator<'_>, out: &mut String, text: &str| {
        ev.string_fits(out.len().saturating_add(text.len()), span)?;
        out.push_str(text);
        Ok::<(), String>(())
    };
    let mut last = 0;
    for caps in re.captures_iter(input) {
        let Some(m) = caps.get(0) else { continue };
        push(ev, &mut out, &input[last..m.start()])?;
        for piece in template {
            match piece {
                Piece::Text(t) => push(ev, &mut out, t)?,
                Piece::Group(Some(i)) => {
                    if let Some(g) = caps.get(*i) {
                        push(ev, &mut out, g.as_str())?;
                    }
                }
                Piece::Group(None) => {}
            }
        }
        last = m.end();
    }
    push(ev, &mut out, &input[last..])?;
    Ok(out)
}
