//! Flask's tagged JSON (`flask/json/tag.py`), byte for byte.
//!
//! Written by hand rather than with `serde_json`, because Flask's JSON is not
//! strict JSON: Python writes `NaN`/`Infinity`, integers of any size, and
//! lone surrogate escapes, and spells floats with `repr()` (`1e+16`, `1e-05`).
//! `serde_json` rejects the first three and spells floats differently, so it
//! could neither read every Flask cookie nor write Flask's bytes.

use std::fmt::Write as _;

mod lazy;
mod read;
mod scan;
mod write;

pub use lazy::{LazyMap, ValueRef};
pub use read::{parse_map, parse_plain_map, parse_value};
pub use write::{write_map, write_map_as_loaded, write_plain_map, write_value, PlainJson};

/// Deepest nesting of lists/dicts accepted when parsing. Python's own limit is
/// about 1000; no real session comes near this one, and it bounds the stack.
pub(crate) const MAX_DEPTH: usize = 128;

const TAG_KEYS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

/// Python's `repr(float)`: the shortest digits that round-trip, positional for
/// exponents in `-4..16`, otherwise `d.ddde+XX`.
#[must_use]
pub(crate) fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::write::write_str;
    use super::*;
    use crate::error::PayloadError;
    use crate::value::Value;

    #[test]
    #[allow(clippy::approx_constant)] // the literal is the point: Python prints exactly this
    fn float_repr_matches_python() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (5e-324, "5e-324"),
            (3.141592653589793, "3.141592653589793"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.125, "123456789.125"),
            (-2.5e-10, "-2.5e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(python_float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn strings_escape_like_python() {
        let mut out = String::new();
        write_str(&mut out, "a\"\\/\n\r\t\u{8}\u{c}\u{1}\u{7f}é😀<>&'\u{ff21}");
        assert_eq!(
            out,
            r#""a\"\\/\n\r\t\b\f\u0001\u007f\u00e9\ud83d\ude00<>&'\uff21""#
        );
    }

    #[test]
    fn lone_surrogates_round_trip() {
        let text = r#"{"s":"a\ud800b\udc00\ud83d\ude00"}"#;
        let m = parse_map(text.as_bytes()).unwrap();
        assert!(matches!(m["s"], Value::Utf16(_)));
        let mut out = String::new();
        write_map(&mut out, &m);
        assert_eq!(out, text);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse_value(deep.as_bytes()),
            Err(PayloadError::TooDeep { limit: MAX_DEPTH })
        );
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_value(deep.as_bytes()).is_ok());
    }

    #[test]
    fn tag_collisions_round_trip() {
        for text in [
            r#"{" di":{" t__":[1,2]}}"#,
            r#"{"x":{" di":{" di__":{" b":"AA=="}}}}"#,
            r#"{" x":1}"#,
            r#"{"a":{" t":[1],"b":2}}"#,
        ] {
            let m = parse_map(text.as_bytes()).unwrap();
            let mut out = String::new();
            write_map(&mut out, &m);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(
            parse_value(b"18446744073709551621").unwrap(),
            Value::BigInt("18446744073709551621".into())
        );
        assert_eq!(
            parse_value(b"-9223372036854775808").unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(parse_value(b"1E400").unwrap(), Value::Float(f64::INFINITY));
        assert!(parse_value(b"01").is_err());
        assert!(parse_value(b"1.").is_err());
        assert!(parse_value(b"-").is_err());
    }

    #[test]
    fn date_tag_contents_keep_their_bytes() {
        for text in [
            r#"{" d":"Mon, 01 Jan 0001 00:00:00 GMT"}"#,
            r#"{" d":"not a date"}"#,
            r#"{" d":null}"#,
            r#"{" d":""}"#,
            r#"{" d":0}"#,
            r#"{" d":{" b":"YQ=="}}"#,
            r#"{" d":{" d":"garbage"}}"#,
            r#"{" d":"Sat, 01 Jan 2000 00:00:00 \ud800"}"#,
        ] {
            let v = parse_value(text.as_bytes()).unwrap();
            assert!(matches!(v, Value::RawDateTime { .. }), "{text}: {v:?}");
            let mut out = String::new();
            write_value(&mut out, &v);
            assert_eq!(out, text);
        }
        let v = parse_value(br#"{" d":"Tue, 01 Jan 1850 00:00:00 GMT"}"#).unwrap();
        assert!(matches!(v, Value::DateTime(d) if d.year() == 1850));
        for refused in [r#"{" d":1}"#, r#"{" d":true}"#, r#"{" d":[1]}"#] {
            assert_eq!(
                parse_value(refused.as_bytes()),
                Err(PayloadError::Tag { tag: " d" }),
                "{refused}"
            );
        }
    }

    // Found in review: a date at the calendar's edge with an offset that
    // pushes it past the edge in UTC panicked in `http_date`.
    #[test]
    fn dates_past_the_calendar_in_utc_do_not_panic() {
        for text in [
            r#"{" d":"Fri, 31 Dec 9999 23:59:59 -2359"}"#,
            r#"{" d":"Mon, 01 Jan 0001 00:00:00 +2359"}"#,
        ] {
            let v = parse_value(text.as_bytes()).expect("a value");
            let mut out = String::new();
            write_value(&mut out, &v);
            assert_eq!(out, text, "kept byte for byte");
            let mut loaded = String::new();
            write_map_as_loaded(&mut loaded, &[("d".to_owned(), v)].into_iter().collect());
        }
        let edge = time::PrimitiveDateTime::MAX
            .assume_offset(time::UtcOffset::from_hms(-23, 59, 0).expect("offset"));
        let _ = crate::date::http_date(edge);
    }
}
