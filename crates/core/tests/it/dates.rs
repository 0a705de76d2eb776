//! Flask's `datetime` tag (`{" d": …}`) against vectors made by the real Flask
//! (`data/flask_date_vectors.json`, made by `interop/make_date_vectors.py`).
//!
//! Flask writes every year 1–9999 with four digits, and reads the text back
//! with Werkzeug's `parse_date` (`email.utils`), which maps years below 100 to
//! 1969–2068. Typed access must give what Flask reads; a date the handler
//! does not touch must be written back byte for byte.

use serde_json::Value as J;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use websession_core::{flask, json, FlaskCodec, Key, KeyRing, Value};

fn vectors() -> J {
    serde_json::from_str(&websession_core::testing::testdata_text(
        "flask_date_vectors.json",
    ))
    .expect("date vectors")
}

fn codec(meta: &J) -> FlaskCodec {
    let key = Key::from_utf8(meta["secret_key_utf8"].as_str().expect("key")).expect("key");
    FlaskCodec::new(&KeyRing::new(key)).with_max_age(u64::MAX)
}

fn timestamp(meta: &J) -> u64 {
    meta["timestamp"].as_u64().expect("timestamp")
}

/// The datetime Flask loaded (`None` for Python `None`).
fn loaded(case: &J) -> Option<OffsetDateTime> {
    let l = &case["loaded"];
    if l.is_null() {
        return None;
    }
    let offset = i32::try_from(l["utcoffset_seconds"].as_i64().expect("offset")).expect("offset");
    let t = OffsetDateTime::from_unix_timestamp(l["unix"].as_i64().expect("unix"))
        .expect("in range")
        .to_offset(UtcOffset::from_whole_seconds(offset).expect("offset"));
    assert_eq!(i64::from(t.year()), l["year"].as_i64().expect("year"));
    Some(t)
}

/// What typed access must answer: Flask's datetime as RFC 3339, or `None`.
fn typed(case: &J) -> Option<String> {
    loaded(case).map(|t| t.format(&Rfc3339).expect("rfc 3339"))
}

fn write(data: &websession_core::Map) -> String {
    let mut out = String::new();
    json::write_map(&mut out, data);
    out
}

#[test]
fn flask_dates_of_every_year_read_as_flask_reads_them() {
    let v = vectors();
    let (codec, ts) = (codec(&v["meta"]), timestamp(&v["meta"]));
    let mut failures = Vec::new();
    for case in v["years"].as_array().expect("years") {
        let name = case["python_repr"].as_str().expect("repr");
        let data = codec
            .decode(case["cookie"].as_str().expect("cookie"), ts)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .data;
        let got = data["d"].deserialize_into::<Option<String>>();
        if got.as_ref().ok() != Some(&typed(case)) {
            failures.push(format!(
                "{name}: Flask reads {}, we read {got:?}",
                case["loaded"]["python_repr"]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn flask_date_cookies_re_encode_byte_identical() {
    let v = vectors();
    let (codec, ts) = (codec(&v["meta"]), timestamp(&v["meta"]));
    let mut failures = Vec::new();
    for case in v["years"].as_array().expect("years") {
        let name = case["python_repr"].as_str().expect("repr");
        let cookie = case["cookie"].as_str().expect("cookie");
        let data = codec.decode(cookie, ts).expect(name).data;
        let payload = case["payload"].as_str().expect("payload");
        if write(&data) != payload || codec.encode(&data, ts) != cookie {
            failures.push(format!("{name}: {payload} became {}", write(&data)));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn changing_another_key_keeps_the_date_bytes() {
    let v = vectors();
    let (codec, ts) = (codec(&v["meta"]), timestamp(&v["meta"]));
    let mut failures = Vec::new();
    for case in v["years"].as_array().expect("years") {
        let name = case["python_repr"].as_str().expect("repr");
        let mut data = codec
            .decode(case["cookie"].as_str().expect("cookie"), ts)
            .expect(name)
            .data;
        data.insert("other".into(), Value::from("changed by the handler"));
        // Flask's own bytes for a session holding the original datetime and the new key.
        let expected = case["cookie_with_other"].as_str().expect("cookie");
        let cookie = codec.encode(&data, ts);
        if cookie != expected {
            let (payload, _) = flask::peek(&cookie, 1 << 20).expect("our cookie");
            failures.push(format!(
                "{name}: wrote {}, Flask writes {}",
                String::from_utf8_lossy(&payload),
                case["payload_with_other"]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn odd_date_texts_read_as_flask_reads_them() {
    let v = vectors();
    let mut failures = Vec::new();
    for case in v["texts"].as_array().expect("texts") {
        let id = case["id"].as_str().expect("id");
        let payload = case["payload"].as_str().expect("payload");
        let parsed = json::parse_map(payload.as_bytes());
        match (case["outcome"].as_str().expect("outcome"), parsed) {
            ("error", Err(_)) => {}
            ("error", Ok(m)) => failures.push(format!(
                "{id} {payload}: Flask raises {}, we read {m:?}",
                case["error"]
            )),
            (_, Err(e)) => failures.push(format!(
                "{id} {payload}: Flask reads {}, we refuse it: {e}",
                case["loaded_python_repr"]
            )),
            (_, Ok(m)) => {
                let got = m["d"].deserialize_into::<Option<String>>();
                if got.as_ref().ok() != Some(&typed(case)) {
                    failures.push(format!(
                        "{id} {payload}: Flask reads {}, we read {got:?}",
                        case["loaded_python_repr"]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn odd_date_texts_are_written_back_byte_identical() {
    let v = vectors();
    let mut failures = Vec::new();
    for case in v["texts"].as_array().expect("texts") {
        if case["outcome"] != "valid" {
            continue;
        }
        let id = case["id"].as_str().expect("id");
        let payload = case["payload"].as_str().expect("payload");
        let Ok(mut data) = json::parse_map(payload.as_bytes()) else {
            failures.push(format!("{id} {payload}: refused"));
            continue;
        };
        if write(&data) != payload {
            failures.push(format!("{id}: {payload} became {}", write(&data)));
        }
        // Another key changes: the date's bytes stay.
        data.insert("z".into(), Value::Int(1));
        let expected = format!("{},\"z\":1}}", &payload[..payload.len() - 1]);
        if write(&data) != expected {
            failures.push(format!("{id}: {expected} became {}", write(&data)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn dates_give_flask_datetime_and_flask_rewrite() {
    let v = vectors();
    let (codec, ts) = (codec(&v["meta"]), timestamp(&v["meta"]));
    let mut failures = Vec::new();
    let years = v["years"].as_array().expect("years").iter().map(|case| {
        let data = codec
            .decode(case["cookie"].as_str().expect("cookie"), ts)
            .map(|d| d.data)
            .ok();
        (case, data)
    });
    let texts = v["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .filter(|case| case["outcome"] == "valid")
        .map(|case| {
            let payload = case["payload"].as_str().expect("payload");
            (case, json::parse_map(payload.as_bytes()).ok())
        });
    for (case, data) in years.chain(texts) {
        let name = &case["payload"];
        let Some(data) = data else {
            failures.push(format!("{name}: refused"));
            continue;
        };
        // The same instant and the same UTC offset as Python's datetime.
        let (ours, flask) = (data["d"].as_datetime(), loaded(case));
        let same = ours.map(|t| (t, t.offset())) == flask.map(|t| (t, t.offset()));
        if !same {
            failures.push(format!(
                "{name}: Flask reads {}, as_datetime gives {ours:?}",
                case["loaded"]["python_repr"]
            ));
        }
        let mut rewritten = String::new();
        json::write_map_as_loaded(&mut rewritten, &data);
        if rewritten != case["flask_rewrites"].as_str().expect("rewrite") {
            failures.push(format!(
                "{name}: Flask rewrites it as {}, we as {rewritten}",
                case["flask_rewrites"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
}

#[test]
fn years_below_100_read_as_1969_to_2068_like_flask() {
    // The rule, stated once: email.utils maps every year int below 100 (so
    // Flask's own four-digit `0001`..`0099`) to 2000-2068 (0-68) or 1969-1999 (69-99).
    let v = vectors();
    for case in v["years"].as_array().expect("years") {
        let written = case["year"].as_i64().expect("year");
        let read = case["loaded"]["year"].as_i64().expect("year");
        let rule = match written {
            0..=68 => written + 2000,
            69..=99 => written + 1900,
            _ => written,
        };
        assert_eq!(read, rule, "{}", case["python_repr"]);
        assert!(case["payload"]
            .as_str()
            .expect("payload")
            .contains(&format!(" {written:04} ")));
    }
}
