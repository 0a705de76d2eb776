//! Dates as Flask and Werkzeug write and read them: `http_date` for the
//! `" d"` tag and the cookie's `Expires`, and a step-by-step port of the
//! parser Flask reads the tag with (Werkzeug's `parse_date`, through
//! Python's `email.utils`), so every year 1-9999 reads as Flask reads it.

use std::fmt::Write as _;

use time::OffsetDateTime;

const HTTP_DATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Formats a time as an HTTP date (`Tue, 14 Nov 2023 22:13:20 GMT`), as Werkzeug's `http_date`.
#[must_use]
pub fn http_date(t: OffsetDateTime) -> String {
    // Written out by hand: this runs on every response that sets a permanent
    // cookie, and is several times faster than a format description.
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // A time at the calendar's edge whose offset takes it past the edge in
    // UTC saturates to the edge.
    let t = t
        .checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or_else(|| {
            if t.year() > 0 {
                time::PrimitiveDateTime::MAX.assume_utc()
            } else {
                time::PrimitiveDateTime::MIN.assume_utc()
            }
        });
    if !(0..=9999).contains(&t.year()) {
        return t
            .format(HTTP_DATE)
            .unwrap_or_else(|_| String::from("Thu, 01 Jan 1970 00:00:00 GMT"));
    }
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

/// Where Python raises rather than returning `None` while parsing a date: an
/// `OverflowError` from `timedelta`/`datetime`, which neither Werkzeug nor
/// Flask catches (Flask answers 500 for such a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateOverflow;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTH_NAMES: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// `email._parseaddr._timezones`, in Python's `hhmm` form.
const ZONE_NAMES: [(&str, i128); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];
/// Python's default `sys.get_int_max_str_digits()`: `int()` of a longer
/// decimal string raises `ValueError`.
const PY_INT_MAX_STR_DIGITS: usize = 4300;

/// Python's `str.isspace()`, which `str.split()` splits on: Unicode
/// `White_Space` plus the four ASCII separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `int(text)` in base 10: sign, digits, single underscores between
/// digits. `None` where Python raises `ValueError`. Saturates at the `i128`
/// bounds, far outside every range the callers check. Only ASCII digits are
/// taken (Python also takes other Unicode decimal digits).
fn py_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut n: i128 = 0;
    let mut count = 0usize;
    for b in digits.bytes() {
        match b {
            b'_' => {}
            b'0'..=b'9' => {
                count += 1;
                n = n.saturating_mul(10).saturating_add(i128::from(b - b'0'));
            }
            _ => return None,
        }
    }
    if count > PY_INT_MAX_STR_DIGITS {
        return None;
    }
    Some(if negative { -n } else { n })
}

/// What `email._parseaddr._parsedate_tz` returns: the fields as Python ints
/// and the zone offset in seconds (`None` for a naive time).
struct ParsedDate {
    fields: [i128; 6],
    offset: Option<i128>,
}

/// A port of `email._parseaddr._parsedate_tz` (Python 3.11), step by step.
/// `None` where Python returns `None` or `int()` raises `ValueError`.
/// Long on purpose: it follows Python's function statement by statement, so
/// the two can be read side by side.
fn parsedate_tz(text: &str) -> Option<ParsedDate> {
    let mut data: Vec<String> = text
        .split(is_py_space)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let first = data.first()?;
    // The day name and its comma are optional, and ignored.
    if first.ends_with(',') || DAY_NAMES.contains(&first.to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = first.rfind(',') {
        data[0] = first[i + 1..].to_owned();
    }
    if data.len() == 3 {
        // RFC 850: `06-Nov-94 08:49:37 GMT`.
        let stuff: Vec<String> = data[0].split('-').map(str::to_owned).collect();
        if stuff.len() == 3 {
            let rest = data.split_off(1);
            data = stuff;
            data.extend(rest);
        }
    }
    if data.len() == 4 {
        // The zone may be glued to the time: `00:00:00+0200`.
        let s = &data[3];
        match s.find('+').or_else(|| s.find('-')) {
            Some(i) if i > 0 => {
                let (time, zone) = (s[..i].to_owned(), s[i..].to_owned());
                data[3] = time;
                data.push(zone);
            }
            _ => data.push(String::new()),
        }
    }
    if data.len() < 5 {
        return None;
    }
    data.truncate(5);
    let mut it = data.into_iter();
    let (mut dd, mut mm, mut yy, mut tm, mut tz) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    mm = mm.to_lowercase();
    if !MONTH_NAMES.contains(&mm.as_str()) {
        (dd, mm) = (mm, dd.to_lowercase());
        if !MONTH_NAMES.contains(&mm.as_str()) {
            return None;
        }
    }
    let mut month = MONTH_NAMES.iter().position(|m| *m == mm)? + 1;
    if month > 12 {
        month -= 12;
    }
    if dd.ends_with(',') {
        dd.pop();
    }
    if yy.find(':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if yy.ends_with(',') {
        yy.pop();
        if yy.is_empty() {
            return None;
        }
    }
    if !yy.starts_with(|c: char| c.is_ascii_digit()) {
        std::mem::swap(&mut yy, &mut tz);
    }
    if tm.ends_with(',') {
        tm.pop();
    }
    let colon: Vec<&str> = tm.split(':').collect();
    let dotted: Vec<&str> = match colon[..] {
        [one] if one.contains('.') => one.split('.').collect(),
        _ => Vec::new(),
    };
    let (thh, tmm, tss) = match (&colon[..], &dotted[..]) {
        ([h, m], _) | ([_], [h, m]) => (*h, *m, "0"),
        ([h, m, s], _) | ([_], [h, m, s]) => (*h, *m, *s),
        _ => return None,
    };
    let mut year = py_int(&yy)?;
    let day = py_int(&dd)?;
    let (hour, minute, second) = (py_int(thh)?, py_int(tmm)?, py_int(tss)?);
    // Two-digit years, "according to the POSIX standard": 69-99 are 1969-1999,
    // 0-68 are 2000-2068. This takes every int below 100, so Flask's own
    // `0050` reads back as 2050.
    if year < 100 {
        year = year.saturating_add(if year > 68 { 1900 } else { 2000 });
    }
    let tz = tz.to_uppercase();
    let offset = match ZONE_NAMES.iter().find(|(name, _)| *name == tz) {
        Some(&(_, hhmm)) => Some(hhmm),
        None => py_int(&tz).filter(|&hhmm| !(hhmm == 0 && tz.starts_with('-'))),
    };
    let offset = offset.map(|hhmm| {
        let abs = hhmm.saturating_abs();
        hhmm.signum()
            * (abs / 100)
                .saturating_mul(3600)
                .saturating_add(abs % 100 * 60)
    });
    Some(ParsedDate {
        fields: [year, month as i128, day, hour, minute, second],
        offset,
    })
}

/// Werkzeug's `parse_date` (through `email.utils.parsedate_to_datetime`), as
/// Flask's `TagDateTime` reads a `{" d": …}` string: the aware datetime Python
/// gets, `Ok(None)` where it gets `None`, and [`DateOverflow`] where Python
/// raises an exception nobody catches.
pub(crate) fn parse_date(text: &str) -> Result<Option<OffsetDateTime>, DateOverflow> {
    let Some(p) = parsedate_tz(text) else {
        return Ok(None);
    };
    // `datetime.timezone(datetime.timedelta(seconds=offset))` is evaluated
    // before `datetime(...)`: timedelta overflows beyond 999999999 days,
    // timezone refuses a whole day or more.
    let offset = match p.offset {
        None => time::UtcOffset::UTC,
        Some(secs) => {
            if secs.div_euclid(86_400).unsigned_abs() > 999_999_999 {
                return Err(DateOverflow);
            }
            let Some(offset) = i32::try_from(secs)
                .ok()
                .filter(|s| s.unsigned_abs() < 86_400)
                .and_then(|s| time::UtcOffset::from_whole_seconds(s).ok())
            else {
                return Ok(None);
            };
            offset
        }
    };
    // `datetime(...)` converts every field to a C int first (OverflowError),
    // then checks the ranges (ValueError, which parse_date turns into None).
    let mut f = [0i32; 6];
    for (out, field) in f.iter_mut().zip(p.fields) {
        *out = i32::try_from(field).map_err(|_| DateOverflow)?;
    }
    let [year, month, day, hour, minute, second] = f;
    let small = |v: i32| u8::try_from(v).ok();
    let date = (1..=9999)
        .contains(&year)
        .then(|| {
            let month = time::Month::try_from(small(month)?).ok()?;
            time::Date::from_calendar_date(year, month, small(day)?).ok()
        })
        .flatten();
    let time = small(hour)
        .zip(small(minute))
        .zip(small(second))
        .and_then(|((h, m), s)| time::Time::from_hms(h, m, s).ok());
    Ok(date
        .zip(time)
        .map(|(d, t)| time::PrimitiveDateTime::new(d, t).assume_offset(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_matches_the_format_description() {
        for unix in [
            0i64,
            1_700_000_000,
            946_684_800,
            253_402_300_799,
            951_782_400,
            -86_400,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(http_date(t), t.format(HTTP_DATE).unwrap(), "{unix}");
        }
    }

    #[test]
    fn dates_parse_in_rfc2822_forms() {
        let d = parse_date("Sat, 01 Jan 2000 00:00:00 GMT")
            .unwrap()
            .unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        let d = parse_date("Sat, 01 Jan 2000 02:00:00 +0200")
            .unwrap()
            .unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        assert_eq!(d.offset().whole_seconds(), 7200, "Python keeps the offset");
        assert_eq!(http_date(d), "Sat, 01 Jan 2000 00:00:00 GMT");
        assert_eq!(parse_date("not a date"), Ok(None));
    }

    #[test]
    fn dates_before_1900_and_short_years_read_as_python_reads_them() {
        let year = |text: &str| parse_date(text).unwrap().map(|d| d.year());
        assert_eq!(year("Tue, 01 Jan 1850 00:00:00 GMT"), Some(1850));
        assert_eq!(year("Fri, 01 Jan 0100 00:00:00 GMT"), Some(100));
        assert_eq!(year("Mon, 01 Jan 0001 00:00:00 GMT"), Some(2001));
        assert_eq!(year("Sat, 01 Jan 0050 00:00:00 GMT"), Some(2050));
        assert_eq!(year("Sun, 01 Jan 0068 00:00:00 GMT"), Some(2068));
        assert_eq!(year("Tue, 01 Jan 0069 00:00:00 GMT"), Some(1969));
        assert_eq!(year("Thu, 01 Jan 0099 00:00:00 GMT"), Some(1999));
        assert_eq!(year("Sat, 01 Jan 10000 00:00:00 GMT"), None);
        assert_eq!(
            parse_date("Sat, 01 Jan 2147483648 00:00:00 GMT"),
            Err(DateOverflow)
        );
    }

    #[test]
    fn http_date_writes_four_digit_years() {
        let at = |y, m, d| {
            time::Date::from_calendar_date(y, m, d)
                .unwrap()
                .midnight()
                .assume_utc()
        };
        assert_eq!(
            http_date(at(1, time::Month::January, 1)),
            "Mon, 01 Jan 0001 00:00:00 GMT"
        );
        assert_eq!(
            http_date(at(1850, time::Month::January, 1)),
            "Tue, 01 Jan 1850 00:00:00 GMT"
        );
        assert_eq!(
            http_date(at(9999, time::Month::December, 31)),
            "Fri, 31 Dec 9999 00:00:00 GMT"
        );
    }

    #[test]
    fn python_ints() {
        assert_eq!(py_int("0050"), Some(50));
        assert_eq!(py_int("+5"), Some(5));
        assert_eq!(py_int("-1_000"), Some(-1000));
        for bad in ["", "+", "_1", "1_", "1__0", "1a", "--1", "\u{663}"] {
            assert_eq!(py_int(bad), None, "{bad:?}");
        }
        assert_eq!(py_int(&"9".repeat(4300)), Some(i128::MAX));
        assert_eq!(py_int(&"9".repeat(4301)), None);
    }
}
