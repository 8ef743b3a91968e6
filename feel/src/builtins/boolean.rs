//! Boolean functions: `not`, and Camunda's `is defined` and `get or else`.

use super::{R, Table, arity, type_err};
use crate::value::Value;

pub(super) const FUNCTIONS: Table = &[
    ("not", &["negand"]),
    ("is defined", &["value"]),
    ("get or else", &["value", "default"]),
];

pub(super) fn call(name: &str, args: Vec<Value>) -> R {
    match name {
        "not" => {
            arity(&args, 1, 1)?;
            match &args[0] {
                Value::Bool(b) => Ok(Value::Bool(!b)),
                Value::Null => Ok(Value::Null),
                other => Err(type_err("a boolean", other)),
            }
        }
        "is defined" => {
            arity(&args, 1, 1)?;
            Ok(Value::Bool(!args[0].is_null()))
        }
        "get or else" => {
            arity(&args, 2, 2)?;
            let mut it = args.into_iter();
            let v = it.next().unwrap_or(Value::Null);
            Ok(if v.is_null() {
                it.next().unwrap_or(Value::Null)
            } else {
                v
            })
        }
        _ => Err("unknown function".into()),
    }
}
