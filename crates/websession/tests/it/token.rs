//! The session in a header instead of a cookie (issue 18): `Transport::header`
//! and `Transport::bearer`, in every mode, through the tower layer.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use websession::store::MemoryStore;
use websession::{ConfigError, SessionConfig, Transport};

use crate::support::{app, sessions_for, Mode};

const MODES: [Mode; 3] = [Mode::Signed, Mode::Sealed, Mode::Memory];

fn token_app(mode: Mode, transport: Transport) -> Router {
    let config = SessionConfig::default().with_transport(transport);
    app(sessions_for(mode, &Arc::new(MemoryStore::new()), config))
}

async fn send(
    app: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::get(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    (
        parts.status,
        parts.headers,
        String::from_utf8(body).expect("utf8"),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ascii"))
}

#[tokio::test]
async fn a_token_header_carries_the_session_both_ways() {
    for mode in MODES {
        let app = token_app(mode, Transport::header("x-session-token"));
        let (status, headers, _) = send(&app, "/write?v=hello", &[]).await;
        assert_eq!(status, StatusCode::OK, "{mode:?}");
        assert!(headers.get("set-cookie").is_none(), "{mode:?}: no cookie");
        assert_eq!(
            header(&headers, "vary"),
            Some("x-session-token"),
            "{mode:?}"
        );
        let token = header(&headers, "x-session-token")
            .expect("a token")
            .to_owned();
        assert!(
            !token.is_empty() && !token.contains(';'),
            "{mode:?}: {token}"
        );

        let (_, headers, body) = send(&app, "/read", &[("x-session-token", &token)]).await;
        assert_eq!(body, r#"{"v":"hello"}"#, "{mode:?}");
        assert!(
            headers.get("x-session-token").is_none(),
            "{mode:?}: unchanged, not re-sent"
        );

        // The cookie is not where the session is read from any more.
        let (_, _, body) = send(&app, "/read", &[("cookie", &format!("session={token}"))]).await;
        assert_eq!(body, "{}", "{mode:?}");

        // Ending the session sends an empty token.
        let (_, headers, _) = send(&app, "/clear", &[("x-session-token", &token)]).await;
        assert_eq!(header(&headers, "x-session-token"), Some(""), "{mode:?}");
        if matches!(mode, Mode::Memory) {
            let (_, _, body) = send(&app, "/read", &[("x-session-token", &token)]).await;
            assert_eq!(body, "{}", "the store record is gone");
        }

        // A tampered token opens an empty session.
        let tampered = format!("{token}x");
        let (status, _, body) = send(&app, "/read", &[("x-session-token", &tampered)]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "{}"), "{mode:?}");
    }
}

#[tokio::test]
async fn a_bearer_token_is_read_from_authorization() {
    for mode in MODES {
        let app = token_app(mode, Transport::bearer("x-session-token"));
        let (_, headers, _) = send(&app, "/write?v=hi", &[]).await;
        assert_eq!(header(&headers, "vary"), Some("authorization"), "{mode:?}");
        let token = header(&headers, "x-session-token")
            .expect("a token")
            .to_owned();
        for auth in [format!("Bearer {token}"), format!("bearer   {token} ")] {
            let (_, _, body) = send(&app, "/read", &[("authorization", &auth)]).await;
            assert_eq!(body, r#"{"v":"hi"}"#, "{mode:?}: {auth}");
        }
        for auth in [
            token.clone(),
            format!("Basic {token}"),
            "Bearer ".to_owned(),
        ] {
            let (_, _, body) = send(&app, "/read", &[("authorization", &auth)]).await;
            assert_eq!(body, "{}", "{mode:?}: {auth}");
        }
        // Rotation hands out the new token the same way.
        let (_, headers, _) = send(
            &app,
            "/cycle",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
        let rotated = header(&headers, "x-session-token").expect("a new token");
        let (_, _, body) = send(
            &app,
            "/read",
            &[("authorization", &format!("Bearer {rotated}"))],
        )
        .await;
        assert_eq!(body, r#"{"v":"hi"}"#, "{mode:?}");
        if matches!(mode, Mode::Memory) {
            assert_ne!(rotated, token, "a new store id");
            let (_, _, body) = send(
                &app,
                "/read",
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
            assert_eq!(body, "{}", "the old id no longer works");
        }
    }
}

#[test]
fn token_header_names_are_checked() {
    for bad in [
        "",
        "cookie",
        "set-cookie",
        "authorization",
        "x session",
        "x-tøken",
        "vary",
    ] {
        let config = SessionConfig::default().with_transport(Transport::Header(bad.into()));
        assert_eq!(
            config.validate(),
            Err(ConfigError::TokenHeader(bad.into())),
            "{bad:?}"
        );
    }
    // Names are kept lowercase by the constructors.
    let config = SessionConfig::default().with_transport(Transport::header("X-Session-Token"));
    assert!(config.validate().is_ok());
    let config = SessionConfig::default().with_transport(Transport::bearer("X-New-Token"));
    assert!(config.validate().is_ok());
}
