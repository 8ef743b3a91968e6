//! The canonical JSON both audit chains hash, by version.
//!
//! An event's hash must be recomputable from what the database gives back, and `jsonb` does not
//! give back what was sent: it keeps numbers as exact decimals and writes them in plain
//! notation, so `1e16` comes back as `10000000000000000` and `1.5e-7` as `0.00000015`.
//!
//! - **Version 1** (events written before this module): object keys sorted, numbers as
//!   `serde_json` writes them. It is stable for the integers and strings most events carry, and
//!   breaks on the notations above.
//! - **Version 2**: RFC 8785 (JSON Canonicalization Scheme). Every number is written as the
//!   IEEE-754 double it denotes, in ECMAScript's shortest form, so `1e16`, `1.0e16` and
//!   `10000000000000000` are all `10000000000000000`; object keys are sorted by UTF-16 code
//!   units; strings are escaped minimally.
//!
//! Each event stores its version, so chains written under version 1 still verify.

use std::cmp::Ordering;

use serde_json::Value;

/// How an event's canonical JSON is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashVersion {
    /// Keys sorted, numbers as `serde_json` writes them.
    KeysSorted,
    /// RFC 8785.
    Jcs,
}

impl HashVersion {
    /// The version new events are written with.
    pub const CURRENT: HashVersion = HashVersion::Jcs;

    /// The number stored in `hash_version`.
    pub fn number(self) -> i16 {
        match self {
            Self::KeysSorted => 1,
            Self::Jcs => 2,
        }
    }

    /// The version a stored number names; `None` for a number no build of ours wrote.
    pub fn of(number: i16) -> Option<Self> {
        match number {
            1 => Some(Self::KeysSorted),
            2 => Some(Self::Jcs),
            _ => None,
        }
    }
}

/// `value` as the canonical JSON of `version`.
pub fn canonical(value: &Value, version: HashVersion) -> String {
    let mut out = String::new();
    match version {
        HashVersion::KeysSorted => write_keys_sorted(value, &mut out),
        HashVersion::Jcs => write_jcs(value, &mut out),
    }
    out
}

fn write_keys_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            write_object(entries, out, write_keys_sorted);
        }
        Value::Array(items) => write_array(items, out, write_keys_sorted),
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_jcs(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| utf16_order(a.0, b.0));
            write_object(entries, out, write_jcs);
        }
        Value::Array(items) => write_array(items, out, write_jcs),
        // Without serde_json's `arbitrary_precision` every number has an f64 value.
        Value::Number(number) => out.push_str(&ecmascript_number(number.as_f64().unwrap_or(0.0))),
        // serde_json escapes exactly what RFC 8785 asks: `"`, `\`, and control characters
        // (as \b \t \n \f \r or \u00xx in lower case); everything else is written as is.
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_object(entries: Vec<(&String, &Value)>, out: &mut String, write: fn(&Value, &mut String)) {
    out.push('{');
    for (index, (key, value)) in entries.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        write(value, out);
    }
    out.push('}');
}

fn write_array(items: &[Value], out: &mut String, write: fn(&Value, &mut String)) {
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write(item, out);
    }
    out.push(']');
}

fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `x` as ECMAScript's `Number.prototype.toString` writes it (RFC 8785 §3.2.2.3).
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        // JSON has no NaN or infinity; -0 is written as 0.
        return "0".to_owned();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as ECMAScript requires.
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("LowerExp always writes an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("LowerExp writes a decimal exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    // x = 0.d1d2…dk × 10^n
    let n = exponent + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let mantissa = if k == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!("{mantissa}e{sign}{}", e.abs())
    };
    if x < 0.0 { format!("-{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_are_written_as_ecmascript_does() {
        // RFC 8785 appendix B and the notations PostgreSQL's jsonb turns numbers into.
        for (x, written) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (4.5, "4.5"),
            (0.002, "0.002"),
            (0.000_001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e16, "10000000000000000"),
            (1e21, "1e+21"),
            (999_999_999_999_999_900_000.0, "999999999999999900000"),
            (333_333_333.333_333_3, "333333333.3333333"),
            (1e30, "1e+30"),
            (5e-324, "5e-324"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (9_007_199_254_740_992.0, "9007199254740992"),
            (295_147_905_179_352_830_000.0, "295147905179352830000"),
        ] {
            assert_eq!(ecmascript_number(x), written, "{x:e}");
        }
    }

    #[test]
    fn a_number_hashes_the_same_in_every_notation_jsonb_may_return() {
        let sent: Value = serde_json::from_str(r#"{"amount": 1e16, "rate": 1.5e-7}"#).unwrap();
        let read_back: Value =
            serde_json::from_str(r#"{"rate": 0.00000015, "amount": 10000000000000000}"#).unwrap();
        assert_eq!(
            canonical(&sent, HashVersion::Jcs),
            canonical(&read_back, HashVersion::Jcs)
        );
        assert_ne!(
            canonical(&sent, HashVersion::KeysSorted),
            canonical(&read_back, HashVersion::KeysSorted),
            "version 1 is what broke"
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // By code point (and in UTF-8) U+FB33 comes before U+1D11E; in UTF-16 after it.
        let value = json!({ "\u{1D11E}": 1, "\u{FB33}": 2, "b": [true, null, "é\"\n"], "a": {} });
        assert_eq!(
            canonical(&value, HashVersion::Jcs),
            "{\"a\":{},\"b\":[true,null,\"é\\\"\\n\"],\"\u{1D11E}\":1,\"\u{FB33}\":2}"
        );
    }

    #[test]
    fn stored_versions_round_trip() {
        for version in [HashVersion::KeysSorted, HashVersion::Jcs] {
            assert_eq!(HashVersion::of(version.number()), Some(version));
        }
        assert_eq!(HashVersion::of(7), None);
    }
}
