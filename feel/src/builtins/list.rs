//! List functions: membership, aggregates (`min`, `sum`, `median`, …), slicing and
//! editing, set operations, `flatten` and `sort`.

use super::{R, Table, arity, int_arg, list_arg, list_or_varargs, n, slice_bounds, type_err};
use crate::error::Span;
use crate::eval::{Evaluator, compare, values_equal};
use crate::value::Value;
use rust_decimal::Decimal;
use std::cmp::Ordering;

pub(super) const FUNCTIONS: Table = &[
    ("list contains", &["list", "element"]),
    ("count", &["list"]),
    ("min", &["list"]),
    ("max", &["list"]),
    ("sum", &["list"]),
    ("product", &["list"]),
    ("mean", &["list"]),
    ("median", &["list"]),
    ("all", &["list"]),
    ("any", &["list"]),
    ("sublist", &["list", "start position", "length"]),
    ("append", &["list", "items"]),
    ("concatenate", &["lists"]),
    ("insert before", &["list", "position", "newItem"]),
    ("remove", &["list", "position"]),
    ("reverse", &["list"]),
    ("index of", &["list", "match"]),
    ("union", &["lists"]),
    ("distinct values", &["list"]),
    ("duplicate values", &["list"]),
    ("flatten", &["list"]),
    ("sort", &["list", "precedes"]),
    ("is empty", &["list"]),
];

pub(super) fn call(ev: &mut Evaluator<'_>, name: &str, args: Vec<Value>, span: Span) -> R {
    match name {
        "list contains" => {
            arity(&args, 2, 2)?;
            let xs = list_arg(&args, 0)?;
            Ok(Value::Bool(
                xs.iter().any(|x| values_equal(x, &args[1]) == Some(true)),
            ))
        }
        "count" => {
            arity(&args, 1, 1)?;
            Ok(Value::int(
                i64::try_from(list_arg(&args, 0)?.len()).unwrap_or(i64::MAX),
            ))
        }
        "is empty" => {
            arity(&args, 1, 1)?;
            Ok(Value::Bool(list_arg(&args, 0)?.is_empty()))
        }
        "min" | "max" => {
            let xs = list_or_varargs(args);
            let mut best: Option<&Value> = None;
            for x in &xs {
                best = Some(match best {
                    None => x,
                    Some(b) => {
                        let o = compare(x, b).ok_or_else(|| {
                            format!("cannot compare {} with {}", x.type_name(), b.type_name())
                        })?;
                        let better = if name == "min" {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        };
                        if better { x } else { b }
                    }
                });
            }
            match best {
                Some(b) if compare(b, b).is_some() => Ok(b.clone()),
                Some(b) => Err(format!("cannot order values of type {}", b.type_name())),
                None => Ok(Value::Null),
            }
        }
        "sum" | "product" | "mean" => {
            let xs = list_or_varargs(args);
            let nums = numbers(&xs)?;
            if nums.is_empty() {
                return Ok(Value::Null);
            }
            let total = if name == "product" {
                nums.iter().try_fold(Decimal::ONE, |a, b| a.checked_mul(*b))
            } else {
                nums.iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
            }
            .ok_or("numeric overflow")?;
            if name == "mean" {
                let count = Decimal::from(nums.len());
                return total
                    .checked_div(count)
                    .map(n)
                    .ok_or_else(|| "numeric overflow".into());
            }
            Ok(n(total))
        }
        "median" => {
            let xs = list_or_varargs(args);
            let mut nums = numbers(&xs)?;
            if nums.is_empty() {
                return Ok(Value::Null);
            }
            nums.sort();
            let mid = nums.len() / 2;
            if nums.len() % 2 == 1 {
                Ok(n(nums[mid]))
            } else {
                let sum = nums[mid - 1]
                    .checked_add(nums[mid])
                    .ok_or("numeric overflow")?;
                Ok(n(sum / Decimal::TWO))
            }
        }
        "all" | "any" => {
            let xs = list_or_varargs(args);
            let want = name == "any";
            let mut undecided = false;
            for x in &xs {
                match x {
                    Value::Bool(b) if *b == want => return Ok(Value::Bool(want)),
                    Value::Bool(_) => {}
                    _ => undecided = true,
                }
            }
            Ok(if undecided {
                Value::Null
            } else {
                Value::Bool(!want)
            })
        }
        "sublist" => {
            arity(&args, 2, 3)?;
            let xs = list_arg(&args, 0)?;
            let (from, to) = slice_bounds(xs.len(), &args, 1, 2)?;
            Ok(Value::List(xs[from..to].to_vec()))
        }
        "append" => {
            if args.is_empty() {
                return Err("expects a list".into());
            }
            let mut it = args.into_iter();
            let Some(Value::List(mut xs)) = it.next() else {
                return Err("expected a list as first argument".into());
            };
            xs.extend(it);
            Ok(Value::List(xs))
        }
        "concatenate" | "union" => {
            let mut out: Vec<Value> = Vec::new();
            for a in args {
                match a {
                    Value::List(xs) => {
                        for x in xs {
                            if name == "union"
                                && out.iter().any(|y| values_equal(y, &x) == Some(true))
                            {
                                continue;
                            }
                            out.push(x);
                        }
                    }
                    other => return Err(type_err("lists", &other)),
                }
            }
            Ok(Value::List(out))
        }
        "insert before" => {
            arity(&args, 3, 3)?;
            let mut xs = list_arg(&args, 0)?.to_vec();
            let p = position(xs.len(), int_arg(&args, 1)?, true)?;
            xs.insert(p, args[2].clone());
            Ok(Value::List(xs))
        }
        "remove" => {
            arity(&args, 2, 2)?;
            let mut xs = list_arg(&args, 0)?.to_vec();
            let p = position(xs.len(), int_arg(&args, 1)?, false)?;
            xs.remove(p);
            Ok(Value::List(xs))
        }
        "reverse" => {
            arity(&args, 1, 1)?;
            Ok(Value::List(
                list_arg(&args, 0)?.iter().rev().cloned().collect(),
            ))
        }
        "index of" => {
            arity(&args, 2, 2)?;
            let xs = list_arg(&args, 0)?;
            Ok(Value::List(
                xs.iter()
                    .enumerate()
                    .filter(|(_, x)| values_equal(x, &args[1]) == Some(true))
                    .map(|(i, _)| Value::int(i64::try_from(i + 1).unwrap_or(i64::MAX)))
                    .collect(),
            ))
        }
        "distinct values" | "duplicate values" => {
            arity(&args, 1, 1)?;
            let xs = list_arg(&args, 0)?;
            let mut seen: Vec<Value> = Vec::new();
            let mut dups: Vec<Value> = Vec::new();
            for x in xs {
                ev.tick(span);
                if seen.iter().any(|y| values_equal(y, x) == Some(true)) {
                    if !dups.iter().any(|y| values_equal(y, x) == Some(true)) {
                        dups.push(x.clone());
                    }
                } else {
                    seen.push(x.clone());
                }
            }
            Ok(Value::List(if name == "distinct values" {
                seen
            } else {
                dups
            }))
        }
        "flatten" => {
            arity(&args, 1, 1)?;
            let mut out = Vec::new();
            flatten_into(list_arg(&args, 0)?, &mut out, 0)?;
            Ok(Value::List(out))
        }
        "sort" => {
            arity(&args, 1, 2)?;
            let xs = list_arg(&args, 0)?.to_vec();
            match args.get(1) {
                Some(Value::Function(f)) => {
                    let f = f.clone();
                    let mut failed = false;
                    let sorted = merge_sort(xs, &mut |a, b| {
                        if failed {
                            return false;
                        }
                        match ev.call_function(&f, vec![a.clone(), b.clone()], span) {
                            Value::Bool(x) => x,
                            _ => {
                                failed = true;
                                false
                            }
                        }
                    });
                    if failed {
                        return Err("the precedes function must return a boolean".into());
                    }
                    Ok(Value::List(sorted))
                }
                None | Some(Value::Null) => {
                    if let Some(first) = xs.first() {
                        for x in &xs {
                            if compare(first, x).is_none() {
                                return Err(format!(
                                    "cannot sort a list mixing {} and {}",
                                    first.type_name(),
                                    x.type_name()
                                ));
                            }
                        }
                    }
                    Ok(Value::List(merge_sort(xs, &mut |a, b| {
                        compare(a, b) == Some(Ordering::Less)
                    })))
                }
                Some(other) => Err(type_err("a function", other)),
            }
        }
        _ => Err("unknown function".into()),
    }
}

fn numbers(xs: &[Value]) -> Result<Vec<Decimal>, String> {
    xs.iter()
        .map(|x| match x {
            Value::Number(d) => Ok(*d),
            other => Err(type_err("numbers", other)),
        })
        .collect()
}

/// 1-based position (negative from the end) to a 0-based index; `insert` allows one past
/// the end.
fn position(len: usize, p: i64, insert: bool) -> Result<usize, String> {
    let len_i = i64::try_from(len).map_err(|_| "too long")?;
    let limit = if insert { len_i + 1 } else { len_i };
    let idx = if p > 0 {
        p - 1
    } else if p < 0 {
        len_i + p
    } else {
        return Err("position must not be 0".into());
    };
    if idx < 0 || idx >= limit {
        return Err(format!("position {p} is out of range"));
    }
    usize::try_from(idx).map_err(|_| "out of range".into())
}

fn flatten_into(xs: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("list is nested too deeply".into());
    }
    for x in xs {
        match x {
            Value::List(inner) => flatten_into(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

/// Stable merge sort that tolerates inconsistent comparators (user functions may be).
fn merge_sort(mut xs: Vec<Value>, precedes: &mut dyn FnMut(&Value, &Value) -> bool) -> Vec<Value> {
    if xs.len() <= 1 {
        return xs;
    }
    let right = xs.split_off(xs.len() / 2);
    let left = merge_sort(xs, precedes);
    let right = merge_sort(right, precedes);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => {
                // Take from the right only if it strictly precedes: keeps equal items stable.
                if precedes(b, a) {
                    out.extend(r.next());
                } else {
                    out.extend(l.next());
                }
            }
            (Some(_), None) => out.extend(l.next()),
            (None, Some(_)) => out.extend(r.next()),
            (None, None) => return out,
        }
    }
}
