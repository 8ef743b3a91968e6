//! String functions, with XPath-style regular expressions for `matches`, `replace`
//! and `split`.

use super::{R, Table, arity, cap, list_arg, s, slice_bounds, str_arg, type_err};
use crate::eval::MAX_LIST;
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

pub(super) fn call(name: &str, args: &[Value]) -> R {
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
            let rep = replacement(str_arg(args, 2)?);
            Ok(s(re
                .replace_all(str_arg(args, 0)?, rep.as_str())
                .into_owned()))
        }
        "split" => {
            arity(args, 2, 2)?;
            let re = regex(str_arg(args, 1)?, None)?;
            let parts: Vec<Value> = re
                .split(str_arg(args, 0)?)
                .map(s)
                .take(MAX_LIST + 1)
                .collect();
            cap(parts.len())?;
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
            Ok(s(format!("{prefix}{}{suffix}", parts.join(delim))))
        }
        _ => Err("unknown function".into()),
    }
}

fn regex(pattern: &str, flags: Option<&Value>) -> Result<regex::Regex, String> {
    let mut b = regex::RegexBuilder::new(pattern);
    b.size_limit(1 << 20).nest_limit(64);
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
                        return regex::Regex::new(&regex::escape(pattern))
                            .map_err(|e| e.to_string());
                    }
                    other => return Err(format!("unknown regex flag '{other}'")),
                };
            }
        }
        Some(other) => return Err(type_err("a string of flags", other)),
    }
    b.build().map_err(|e| format!("invalid pattern: {e}"))
}

/// XPath replacement (`$1`, `\$`) to the regex crate's syntax (`${1}`, `$$`).
fn replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => out.push('\\'),
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
