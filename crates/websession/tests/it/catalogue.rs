//! The bad-input catalogue (`testdata/bad_inputs.txt` in the workspace) against the axum and
//! actix-web apps in every mode.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::StatusCode;
use websession::store::SessionId;
use websession::SessionConfig;
use websession_core::FlaskCodec;

use crate::adapters::layer;
use crate::kit::{self, scenario};
use crate::store_mode::Probe;
use crate::support::Client;
use websession_core::testing::test_keys;

const CATALOGUE: &str = include_str!("../../../../testdata/bad_inputs.txt");

struct Case {
    name: String,
    cookie: Option<Vec<u8>>,
    write: Option<String>,
    outcome: String,
}

/// `\r`, `\n`, `\xNN` and `\uXXXX` escapes.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).expect("\\xNN"));
            }
            Some('u') => {
                let hex: String = if chars.peek() == Some(&'{') {
                    chars.next();
                    chars.by_ref().take_while(|&c| c != '}').collect()
                } else {
                    chars.by_ref().take(4).collect()
                };
                let c = char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("char");
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Some(other) => out.extend_from_slice(other.to_string().as_bytes()),
            None => out.push(b'\\'),
        }
    }
    out
}

fn cases() -> Vec<Case> {
    let codec = FlaskCodec::new(&test_keys());
    let now = websession::Clock::system().unix_seconds();
    CATALOGUE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.splitn(3, " | ").collect();
            let [name, spec, outcome] = parts[..] else {
                panic!("bad catalogue line: {line}")
            };
            let session = |value: &[u8]| [b"session=".as_slice(), value].concat();
            let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
            let (cookie, write) = match kind {
                "raw" => (Some(unescape(arg)), None),
                "repeat" => {
                    let (text, n) = arg.rsplit_once(':').expect("TEXT:N");
                    (
                        Some(session(text.repeat(n.parse().expect("N")).as_bytes())),
                        None,
                    )
                }
                "signed-json" => (
                    Some(session(codec.sign_json(arg.as_bytes(), now).as_bytes())),
                    None,
                ),
                "signed-bomb" => {
                    let n: usize = arg.parse().expect("N");
                    let json = format!(r#"{{"k":"{}"}}"#, "a".repeat(n));
                    (
                        Some(session(codec.sign_json(json.as_bytes(), now).as_bytes())),
                        None,
                    )
                }
                "signed-at" => (
                    Some(session(
                        codec
                            .sign_json(br#"{"user":"x"}"#, arg.parse().expect("unix"))
                            .as_bytes(),
                    )),
                    None,
                ),
                "unknown-id" => (
                    Some(session(SessionId::generate().as_str().as_bytes())),
                    None,
                ),
                "write" => (None, Some(String::from_utf8(unescape(arg)).expect("utf8"))),
                other => panic!("unknown cookie form {other}"),
            };
            Case {
                name: name.to_owned(),
                cookie,
                write,
                outcome: outcome.trim().to_owned(),
            }
        })
        .collect()
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn run(client: &dyn Client, probe: &Probe, label: &str) {
    let cases = cases();
    assert!(cases.len() >= 20, "the catalogue has {} cases", cases.len());
    for case in &cases {
        let ctx = format!("{label} / {}", case.name);
        let writes = probe.writes.load(Ordering::SeqCst);
        match case.outcome.as_str() {
            "empty" => {
                let r = client.get_bytes("/read", case.cookie.as_deref()).await;
                assert_eq!(r.status, StatusCode::OK, "{ctx}");
                assert_eq!(r.body, "{}", "{ctx}");
                assert!(r.set_cookie.is_empty(), "{ctx}: {:?}", r.set_cookie);
                assert_eq!(
                    probe.writes.load(Ordering::SeqCst),
                    writes,
                    "{ctx}: no store write"
                );
            }
            "one-cookie" => {
                let text = case.write.as_deref().expect("write case");
                let r = client
                    .get(&format!("/write?v={}", percent(text)), None)
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{ctx}");
                assert_eq!(r.set_cookie.len(), 1, "{ctx}: {:?}", r.set_cookie);
                assert!(r.set_cookie[0].starts_with("session="), "{ctx}");
                assert!(
                    !r.set_cookie[0].contains("evil"),
                    "{ctx}: injected {:?}",
                    r.set_cookie
                );
                let value = r.cookie_value("session").expect("cookie");
                let back = client.get("/read", Some(&format!("session={value}"))).await;
                let expected = {
                    let mut m = websession::Map::new();
                    m.insert("v".into(), websession::Value::from(text));
                    let mut out = String::new();
                    websession_core::json::write_map(&mut out, &m);
                    out
                };
                assert_eq!(
                    back.body, expected,
                    "{ctx}: the value comes back as written"
                );
            }
            other => panic!("{ctx}: unknown outcome {other}"),
        }
    }
}

scenario!(
    /// Every case of the catalogue, in every mode on both adapters.
    fn every_bad_input_gets_its_documented_outcome(mode, adapter) in [Signed, Sealed, Memory] {
        let probe = Arc::new(Probe::default());
        let sessions = layer(mode, &probe, SessionConfig::default()).expect("valid");
        let client = kit::client(adapter, sessions).await;
        run(&*client, &probe, &format!("{adapter:?} {mode:?}")).await;
    }
);
