//! RedisStore against real servers: the Redis at `REDIS_URL`, the cluster at
//! `REDIS_CLUSTER_URLS` (comma-separated; `.ci/run` starts one), and a
//! private `redis-server` this test starts and stops to simulate an outage.
//! `cargo test` skips them; `.ci/run` runs them.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use websession::{Session, SessionConfig, SessionManagerLayer};
use websession_core::store::{
    conformance, ChangeSet, Record, SessionId, SessionStore, StoreErrorKind,
};
use websession_core::{Map, Value};
use websession_redis::RedisStore;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set for this test (see .ci/run)"))
}

fn now() -> u64 {
    websession_core::Clock::system().unix_seconds()
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn redis_store_conforms() {
    let url = env("REDIS_URL");
    conformance::run(|| {
        let url = url.clone();
        async move { RedisStore::connect(&url).await.expect("connect") }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn redis_cluster_store_conforms() {
    let urls = env("REDIS_CLUSTER_URLS");
    conformance::run(|| {
        let urls = urls.clone();
        async move {
            let urls: Vec<&str> = urls.split(',').collect();
            RedisStore::connect_cluster(&urls)
                .await
                .expect("connect cluster")
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn ttl_matches_the_deadline_and_keys_are_hashed() {
    let url = env("REDIS_URL");
    let store = RedisStore::connect(&url).await.expect("connect");
    let id = SessionId::generate();
    let t = now();
    store
        .create(&id.hash(), &Record::new(Map::new(), t, t + 100), t)
        .await
        .expect("create");
    let client = redis::Client::open(url.as_str()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let key = format!("websession:{{{}}}", id.hash().to_hex());
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("ttl");
    assert!((95..=100).contains(&ttl), "TTL {ttl}");
    let raw_id_keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", id.as_str()))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(raw_id_keys.is_empty(), "no key holds the raw id");
}

/// A redis-server of our own, with an append-only file so acknowledged
/// writes survive its restart.
struct Server {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(port: u16, dir: &std::path::Path) -> Child {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
            ])
            .args([
                "--appendfsync",
                "always",
                "--dir",
                dir.to_str().expect("utf8"),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH")
    }

    async fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir =
            std::env::temp_dir().join(format!("websession-redis-outage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let server = Self {
            port,
            child: Some(Self::start(port, &dir)),
            dir,
        };
        server.wait_up().await;
        server
    }

    async fn wait_up(&self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn restart(&mut self) {
        self.child = Some(Self::start(self.port, &self.dir));
        self.wait_up().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn an_outage_gives_503s_loses_no_acknowledged_write_and_recovers() {
    let mut server = Server::new().await;
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{}", server.port))
        .await
        .expect("connect");
    let app = Router::new()
        .route(
            "/set/{v}",
            get(
                |s: Session, axum::extract::Path(v): axum::extract::Path<String>| async move {
                    s.insert("v", v).expect("insert");
                    "ok"
                },
            ),
        )
        .route(
            "/get",
            get(|s: Session| async move { s.get::<String>("v").expect("get").unwrap_or_default() }),
        )
        .layer(
            SessionManagerLayer::with_store(store.clone()).with_config(SessionConfig::default()),
        );
    let call = |path: &str, cookie: Option<String>| {
        let app = app.clone();
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let req = req.body(Body::empty()).expect("req");
        async move {
            let res = app.oneshot(req).await.expect("infallible");
            let status = res.status();
            let cookie = res.headers().get("set-cookie").map(|v| {
                v.to_str()
                    .expect("a")
                    .split(';')
                    .next()
                    .expect("c")
                    .to_owned()
            });
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .expect("body");
            (
                status,
                cookie,
                String::from_utf8(body.to_vec()).expect("utf8"),
            )
        }
    };
    let (status, cookie, _) = call("/set/acknowledged", None).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.expect("cookie");

    server.stop();
    let (status, set, body) = call("/get", Some(cookie.clone())).await;
    assert_eq!(
        (status, set, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, None, ""),
        "fail closed, opaque"
    );
    let t = now();
    let err = store
        .load(&SessionId::generate().hash(), t)
        .await
        .expect_err("down");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);

    server.restart().await;
    // The same store (no app restart) recovers once the server is back.
    let mut recovered = None;
    for _ in 0..50 {
        let (status, _, body) = call("/get", Some(cookie.clone())).await;
        if status == StatusCode::OK {
            recovered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        recovered.as_deref(),
        Some("acknowledged"),
        "the acknowledged write survived"
    );
    let id = SessionId::generate().hash();
    store
        .create(&id, &Record::new(Map::new(), t, t + 60), t)
        .await
        .expect("writes work again");
    store
        .update(
            &id,
            &ChangeSet::touch(t + 60).with_set("k", Value::Int(1)),
            t,
        )
        .await
        .expect("update");
}
