//! `examples/fastapi_bridge`: the FastAPI app (`app.py`, real FastAPI on
//! uvicorn) beside the example's Rust router, one cart shared between them.

use std::path::PathBuf;

use websession::{Key, KeyRing, SessionConfig, Sessions};
use websession_interop::{get_http, Flask as Python};

const SECRET: &str = "a shared secret of at least 32 bytes!";

#[tokio::test]
#[ignore = "needs Python with the pinned FastAPI and uvicorn (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn a_cart_is_shared_by_fastapi_and_rust() {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/fastapi_bridge/app.py");
    let fastapi = Python::start_script(script, &[], &[("SECRET_KEY", SECRET)]).await;
    let sessions = Sessions::starlette(
        KeyRing::new(Key::from_utf8(SECRET).expect("key")),
        SessionConfig::starlette(),
    )
    .expect("valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rust_port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            websession_examples::fastapi_bridge::router(sessions),
        )
        .await;
    });
    // One browser: the cookie the last response set goes with the next request.
    let mut cookie = None::<String>;
    let visit = async |port: u16, path: &'static str, cookie: &mut Option<String>| {
        let r = get_http(port, path, cookie.as_deref()).await;
        if let Some(c) = r.session() {
            *cookie = Some(c);
        }
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body
    };
    let fa = fastapi.port;
    assert_eq!(
        visit(fa, "/login?user=alice", &mut cookie).await,
        r#"{"served_by":"fastapi","user":"alice","cart":[]}"#
    );
    assert_eq!(
        visit(rust_port, "/add?item=tea", &mut cookie).await,
        r#"{"served_by":"rust","user":"alice","cart":["tea"]}"#
    );
    assert_eq!(
        visit(fa, "/add?item=cake", &mut cookie).await,
        r#"{"served_by":"fastapi","user":"alice","cart":["tea","cake"]}"#
    );
    assert_eq!(
        visit(rust_port, "/cart", &mut cookie).await,
        r#"{"served_by":"rust","user":"alice","cart":["tea","cake"]}"#
    );
    assert_eq!(
        visit(rust_port, "/checkout", &mut cookie).await,
        r#"{"served_by":"rust","user":"alice","cart":[]}"#
    );
    assert_eq!(
        visit(fa, "/cart", &mut cookie).await,
        r#"{"served_by":"fastapi","user":"alice","cart":[]}"#
    );
}
