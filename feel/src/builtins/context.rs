//! Context functions: reading, putting (also along a path), merging and building
//! contexts from entries.

use super::{R, Table, arity, list_arg, list_or_varargs, s, type_err};
use crate::value::{Context, Value};

pub(super) const FUNCTIONS: Table = &[
    ("get value", &["context", "key"]),
    ("get entries", &["context"]),
    ("context put", &["context", "key", "value"]),
    ("context merge", &["contexts"]),
    ("context", &["entries"]),
];

pub(super) fn call(name: &str, args: Vec<Value>) -> R {
    match name {
        "get value" => {
            arity(&args, 2, 2)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            match &args[1] {
                Value::String(k) => Ok(c.get(k).cloned().unwrap_or(Value::Null)),
                Value::List(keys) => {
                    let mut cur = Value::Context(c.clone());
                    for k in keys {
                        let Value::String(k) = k else {
                            return Err(type_err("a list of strings", k));
                        };
                        cur = match cur {
                            Value::Context(c) => c.get(k).cloned().unwrap_or(Value::Null),
                            _ => Value::Null,
                        };
                    }
                    Ok(cur)
                }
                other => Err(type_err("a string", other)),
            }
        }
        "get entries" => {
            arity(&args, 1, 1)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            Ok(Value::List(
                c.iter()
                    .map(|(k, v)| {
                        let mut e = Context::new();
                        e.insert("key", s(k.clone()));
                        e.insert("value", v.clone());
                        Value::Context(e)
                    })
                    .collect(),
            ))
        }
        "context put" => {
            arity(&args, 3, 3)?;
            let Value::Context(c) = &args[0] else {
                return Err(type_err("a context", &args[0]));
            };
            let keys: Vec<&str> = match &args[1] {
                Value::String(k) => vec![k.as_str()],
                Value::List(ks) if !ks.is_empty() => ks
                    .iter()
                    .map(|k| match k {
                        Value::String(k) => Ok(k.as_str()),
                        other => Err(type_err("a list of strings", other)),
                    })
                    .collect::<Result<_, _>>()?,
                other => return Err(type_err("a string or a non-empty list of strings", other)),
            };
            Ok(Value::Context(put_path(c.clone(), &keys, args[2].clone())))
        }
        "context merge" => {
            let xs = list_or_varargs(args);
            let mut out = Context::new();
            for x in xs {
                let Value::Context(c) = x else {
                    return Err(type_err("a list of contexts", &x));
                };
                for (k, v) in c.iter() {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Context(out))
        }
        "context" => {
            arity(&args, 1, 1)?;
            let mut out = Context::new();
            for e in list_arg(&args, 0)? {
                let Value::Context(c) = e else {
                    return Err(type_err("a list of {key, value} contexts", e));
                };
                let (Some(Value::String(k)), Some(v)) = (c.get("key"), c.get("value")) else {
                    return Err("each entry needs a string 'key' and a 'value'".into());
                };
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Context(out))
        }
        _ => Err("unknown function".into()),
    }
}

fn put_path(mut c: Context, keys: &[&str], v: Value) -> Context {
    match keys {
        [] => c,
        [k] => {
            c.insert(*k, v);
            c
        }
        [k, rest @ ..] => {
            let inner = match c.get(k) {
                Some(Value::Context(x)) => x.clone(),
                _ => Context::new(),
            };
            c.insert(*k, Value::Context(put_path(inner, rest, v)));
            c
        }
    }
}
