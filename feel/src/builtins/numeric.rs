//! Numeric functions: rounding at a scale, `abs`, `modulo`, `sqrt`, `log`, `exp`,
//! `odd`, `even`.

use super::{R, Table, arity, int_arg, n, num_arg, type_err};
use crate::temporal::{DayTimeDuration, YearMonthDuration};
use crate::value::Value;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

pub(super) const FUNCTIONS: Table = &[
    ("decimal", &["n", "scale"]),
    ("floor", &["n", "scale"]),
    ("ceiling", &["n", "scale"]),
    ("round up", &["n", "scale"]),
    ("round down", &["n", "scale"]),
    ("round half up", &["n", "scale"]),
    ("round half down", &["n", "scale"]),
    ("abs", &["n"]),
    ("modulo", &["dividend", "divisor"]),
    ("sqrt", &["number"]),
    ("log", &["number"]),
    ("exp", &["number"]),
    ("odd", &["number"]),
    ("even", &["number"]),
];

pub(super) fn call(name: &str, args: &[Value]) -> R {
    match name {
        "decimal" | "round up" | "round down" | "round half up" | "round half down" => {
            arity(args, 2, 2)?;
            let strategy = match name {
                "decimal" => RoundingStrategy::MidpointNearestEven,
                "round up" => RoundingStrategy::AwayFromZero,
                "round down" => RoundingStrategy::ToZero,
                "round half up" => RoundingStrategy::MidpointAwayFromZero,
                _ => RoundingStrategy::MidpointTowardZero,
            };
            round(num_arg(args, 0)?, int_arg(args, 1)?, strategy).map(n)
        }
        "floor" | "ceiling" => {
            arity(args, 1, 2)?;
            let scale = if args.len() == 2 && !args[1].is_null() {
                int_arg(args, 1)?
            } else {
                0
            };
            let strategy = if name == "floor" {
                RoundingStrategy::ToNegativeInfinity
            } else {
                RoundingStrategy::ToPositiveInfinity
            };
            round(num_arg(args, 0)?, scale, strategy).map(n)
        }
        "abs" => {
            arity(args, 1, 1)?;
            match &args[0] {
                Value::Number(x) => Ok(n(x.abs())),
                Value::DayTimeDuration(d) => Ok(Value::DayTimeDuration(DayTimeDuration(d.0.abs()))),
                Value::YearMonthDuration(d) => Ok(Value::YearMonthDuration(YearMonthDuration(
                    d.0.saturating_abs(),
                ))),
                other => Err(type_err("a number", other)),
            }
        }
        "modulo" => {
            arity(args, 2, 2)?;
            let (a, b) = (num_arg(args, 0)?, num_arg(args, 1)?);
            if b.is_zero() {
                return Err("division by zero".into());
            }
            // Sign follows the divisor: a - b * floor(a / b).
            let r = a.checked_rem(b).ok_or("numeric overflow")?;
            let r = if !r.is_zero() && (r.is_sign_negative() != b.is_sign_negative()) {
                r + b
            } else {
                r
            };
            Ok(n(r))
        }
        "sqrt" => {
            arity(args, 1, 1)?;
            let x = num_arg(args, 0)?;
            x.sqrt()
                .map(n)
                .ok_or_else(|| "square root of a negative number".into())
        }
        "log" => {
            arity(args, 1, 1)?;
            let x = num_arg(args, 0)?;
            if x <= Decimal::ZERO {
                return Err("logarithm of a number that is not positive".into());
            }
            x.checked_ln()
                .map(n)
                .ok_or_else(|| "numeric overflow".into())
        }
        "exp" => {
            arity(args, 1, 1)?;
            num_arg(args, 0)?
                .checked_exp()
                .map(n)
                .ok_or_else(|| "numeric overflow".into())
        }
        "odd" | "even" => {
            arity(args, 1, 1)?;
            let x = num_arg(args, 0)?;
            if !x.is_integer() {
                return Err(format!("expected an integer but found {x}"));
            }
            let odd = !(x % Decimal::TWO).is_zero();
            Ok(Value::Bool(if name == "odd" { odd } else { !odd }))
        }
        _ => Err("unknown function".into()),
    }
}

fn round(x: Decimal, scale: i64, strategy: RoundingStrategy) -> Result<Decimal, String> {
    if !(-28..=28).contains(&scale) {
        return Err(format!("scale {scale} is out of range"));
    }
    if scale >= 0 {
        let dp = u32::try_from(scale).map_err(|_| "bad scale")?;
        return Ok(x.round_dp_with_strategy(dp, strategy));
    }
    // Negative scale: round to tens, hundreds, ...
    let factor = Decimal::TEN
        .checked_powi(-scale)
        .ok_or("scale out of range")?;
    let scaled = x.checked_div(factor).ok_or("numeric overflow")?;
    scaled
        .round_dp_with_strategy(0, strategy)
        .checked_mul(factor)
        .ok_or_else(|| "numeric overflow".into())
}
