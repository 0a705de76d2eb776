//! The `http` cases of the Flask vectors: the same requests must give the
//! same status, `Set-Cookie` and `Vary` headers, and body as real Flask.

use serde_json::Value as J;
use std::time::Duration;
use websession::{Refresh, SameSite, SessionConfig, Sessions};
use websession_core::testing::{flask_vector_cases, vector_key_ring};

use crate::support::{app, send, TestClock};

fn config_for(case: &J, clock: &TestClock) -> SessionConfig {
    let mut c = SessionConfig::flask().with_clock(clock.clock());
    for (k, v) in case["config"].as_object().expect("config") {
        c = match k.as_str() {
            "SESSION_COOKIE_NAME" => c.with_cookie(|c| c.with_name(v.as_str().expect("name"))),
            "SESSION_COOKIE_DOMAIN" => {
                c.with_cookie(|c| c.with_domain(v.as_str().expect("domain")))
            }
            "SESSION_COOKIE_PATH" | "APPLICATION_ROOT" => {
                c.with_cookie(|c| c.with_path(v.as_str().expect("path")))
            }
            "SESSION_COOKIE_SECURE" if v == true => c.with_cookie(|c| c.with_secure(true)),
            "SESSION_COOKIE_HTTPONLY" if v == false => c.with_cookie(|c| c.with_http_only(false)),
            "SESSION_COOKIE_PARTITIONED" if v == true => c.with_cookie(|c| c.with_partitioned()),
            "SESSION_REFRESH_EACH_REQUEST" => c.with_lifetime(|l| {
                l.with_refresh(if v == true {
                    Refresh::EveryRequest
                } else {
                    Refresh::OnChange
                })
            }),
            "PERMANENT_SESSION_LIFETIME" => c.with_lifetime(|l| {
                l.with_permanent_lifetime(Duration::from_secs(v.as_u64().expect("secs")))
            }),
            "SESSION_COOKIE_SAMESITE" => c.with_cookie(|c| {
                c.with_same_site(match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("strict") => Some(SameSite::Strict),
                    Some("lax") => Some(SameSite::Lax),
                    Some("none") => Some(SameSite::None),
                    _ => None,
                })
            }),
            other => panic!("config key {other} not mapped"),
        };
    }
    c
}

/// `/write` takes its data from the path; the vectors write `{}` or `{'user': 'alice'}`.
fn write_path(step: &J) -> String {
    let repr = step["view_writes_python_repr"].as_str().expect("repr");
    let data: serde_json::Map<String, J> =
        serde_json::from_str(&repr.replace('\'', "\"")).expect("simple repr");
    let mut path = String::from(if step["view_sets_permanent"] == true {
        "/permanent"
    } else {
        "/extract"
    });
    if let Some((k, v)) = data.iter().next() {
        assert_eq!(data.len(), 1);
        path = format!("/set/{k}/{}", v.as_str().expect("str"));
        if step["view_sets_permanent"] == true {
            path = "/permanent".into(); // writes user=alice and permanent=True
            assert_eq!((k.as_str(), v.as_str()), ("user", Some("alice")));
        }
    }
    path
}

#[tokio::test]
async fn http_cases_match_flask_headers() {
    let mut steps_checked = 0;
    for case in flask_vector_cases().iter().filter(|c| c["kind"] == "http") {
        let id = case["id"].as_str().expect("id");
        let keys = vector_key_ring(case);
        let clock = TestClock::at(0);
        let config = config_for(case, &clock);
        let name = config.cookie().name().to_owned();
        let app = app(Sessions::signed(keys, config));
        for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
            clock.set(step["now"].as_i64().expect("now"));
            let path = match step["request_path"].as_str().expect("path") {
                "/write" => write_path(step),
                other => other.to_owned(),
            };
            let cookie = step["request_cookie"]
                .as_str()
                .map(|v| format!("{name}={v}"));
            let reply = send(&app, &path, cookie.as_deref()).await;
            let ctx = format!("{id} step {i} ({path})");
            assert_eq!(
                reply.status.as_u16() as u64,
                step["response_status"].as_u64().expect("status"),
                "{ctx}"
            );
            let expected: Vec<String> = step["response_set_cookie"]
                .as_array()
                .expect("set-cookie")
                .iter()
                .map(|v| v.as_str().expect("str").to_owned())
                .collect();
            assert_eq!(reply.set_cookie, expected, "{ctx}");
            let vary = step["response_vary"]
                .as_str()
                .map(|v| vec![v.to_owned()])
                .unwrap_or_default();
            assert_eq!(reply.vary, vary, "{ctx}");
            if ["/read", "/modify"].contains(&step["request_path"].as_str().expect("p")) {
                assert_eq!(
                    reply.body,
                    step["response_body"].as_str().expect("body"),
                    "{ctx}"
                );
            }
            assert_eq!(
                reply.cache_control, None,
                "{ctx}: Flask config adds no Cache-Control"
            );
            steps_checked += 1;
        }
    }
    assert_eq!(steps_checked, 24);
}
