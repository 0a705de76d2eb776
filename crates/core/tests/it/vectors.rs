//! Every case of the Flask vectors against `FlaskCodec`.

use serde_json::Value as J;
use websession_core::{json, FlaskCodec};

pub(crate) use websession_core::testing::{
    flask_vector_cases as cases, vector_key_ring as key_ring, STRICT_DEVIATIONS,
};

fn codec(case: &J) -> FlaskCodec {
    FlaskCodec::new(&key_ring(case)).with_max_age(case["max_age"].as_u64().expect("max_age"))
}

#[test]
fn decode_outcomes_match_flask() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["kind"] != "http") {
        let id = case["id"].as_str().expect("id");
        let cookie = case["cookie"].as_str().expect("cookie");
        let now = case["now"].as_u64().expect("now");
        let outcome = case["expected"]["outcome"].as_str().expect("outcome");
        let result = codec(case).decode(cookie, now);
        // What a server reads: the lazy map holds the same data, or fails the same way.
        match (&result, codec(case).decode_lazy(cookie, now)) {
            (Ok(full), Ok(lazy)) => {
                // Compared as text: NaN != NaN as values.
                let (mut a, mut b) = (String::new(), String::new());
                json::write_map(&mut a, &full.data);
                json::write_map(&mut b, &lazy.data.into_map());
                assert_eq!(a, b, "{id}: lazy");
            }
            (Err(a), Err(b)) => assert_eq!(a, &b, "{id}: lazy"),
            (a, b) => panic!("{id}: full {:?}, lazy {:?}", a.is_ok(), b.is_ok()),
        }
        match (outcome, result) {
            ("valid", Ok(decoded)) => {
                // What Flask holds, as Flask writes it after loading.
                let mut text = String::new();
                json::write_map_as_loaded(&mut text, &decoded.data);
                assert_eq!(
                    text,
                    case["expected"]["loaded_session_tagged_json"]
                        .as_str()
                        .expect("json"),
                    "{id}"
                );
                // A date tag Flask would rewrite (pub-045: "not a date" is None,
                // pub-046: a +0200 offset) is written back as it came.
                let payload = case["cookie_parts"]["payload_json"].as_str();
                if let Some(payload) = payload.filter(|p| p.contains(r#"" d""#)) {
                    let mut again = String::new();
                    json::write_map(&mut again, &decoded.data);
                    assert_eq!(again, payload, "{id}: date bytes kept");
                }
                if let Some(index) = case["cookie_parts"]["signed_with_key_index"].as_u64() {
                    // Vector index is into fallbacks + [current]; ours is current, newest fallback, ...
                    let n_fallbacks =
                        case["secret_key_fallbacks"].as_array().expect("f").len() as u64;
                    let expected = if index == n_fallbacks {
                        0
                    } else {
                        n_fallbacks - index
                    };
                    assert_eq!(decoded.key_index as u64, expected, "{id}: key index");
                }
            }
            ("valid", Err(e)) => {
                assert!(
                    STRICT_DEVIATIONS.contains(&id),
                    "{id}: Flask accepts it, we said {e}"
                );
            }
            ("invalid" | "error", Err(_)) => {}
            (_, Ok(d)) => panic!("{id}: Flask refused it ({outcome}), we accepted {d:?}"),
            (other, _) => panic!("{id}: unknown outcome {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 85);
}

#[test]
fn error_reasons_match_itsdangerous_names() {
    for case in cases()
        .iter()
        .filter(|c| c["expected"]["outcome"] == "invalid")
    {
        let id = case["id"].as_str().expect("id");
        let reason = case["expected"]["reason"].as_str().expect("reason");
        let err = codec(case)
            .decode(
                case["cookie"].as_str().expect("cookie"),
                case["now"].as_u64().expect("now"),
            )
            .expect_err(id);
        let ours = err.itsdangerous_name();
        // itsdangerous reports a bad signature of a timed cookie as BadTimeSignature.
        let same = ours == reason || (reason == "BadTimeSignature" && ours == "BadSignature");
        assert!(same, "{id}: Flask said {reason}, we said {ours} ({err})");
    }
}

#[test]
fn encoding_is_byte_identical() {
    let mut exact = 0;
    for case in cases().iter().filter(|c| c["encode_exact"] == true) {
        let id = case["id"].as_str().expect("id");
        let text = case["session_tagged_json"].as_str().expect("json");
        let ts = case["timestamp"].as_u64().expect("ts");
        let codec = codec(case);
        assert_eq!(
            codec.sign_json(text.as_bytes(), ts),
            case["cookie"].as_str().expect("cookie"),
            "{id}: sign_json"
        );
        // Through the value model: parse Flask's JSON, write it back, sign.
        let data = json::parse_map(text.as_bytes()).expect(id);
        assert_eq!(
            codec.encode(&data, ts),
            case["cookie"].as_str().expect("cookie"),
            "{id}: encode"
        );
        exact += 1;
    }
    assert_eq!(exact, 39);
}

#[test]
fn untouched_values_survive_a_round_trip() {
    // Decode every valid cookie and encode it again at the same time: the
    // payload must be Flask's own bytes (Flask would read back equal values).
    for case in cases().iter().filter(|c| c["kind"] == "roundtrip") {
        let id = case["id"].as_str().expect("id");
        let codec = codec(case);
        let decoded = codec
            .decode(
                case["cookie"].as_str().expect("c"),
                case["now"].as_u64().expect("now"),
            )
            .expect(id);
        let again = codec.encode(&decoded.data, case["timestamp"].as_u64().expect("ts"));
        if case["expected"]["lossless"] == true {
            assert_eq!(again, case["cookie"].as_str().expect("c"), "{id}");
        }
        // Compare as text: NaN != NaN as a value.
        let back = codec
            .decode(&again, case["now"].as_u64().expect("now"))
            .expect(id)
            .data;
        let (mut a, mut b) = (String::new(), String::new());
        json::write_map(&mut a, &back);
        json::write_map(&mut b, &decoded.data);
        assert_eq!(a, b, "{id}");
    }
}
