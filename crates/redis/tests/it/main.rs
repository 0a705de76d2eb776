//! RedisStore against real servers: the Redis at `REDIS_URL`, the cluster at
//! `REDIS_CLUSTER_URLS` (comma-separated; `.ci/run` starts one), and a
//! private `redis-server` this test starts and stops to simulate an outage.
//! `cargo test` skips them; `.ci/run` runs them. The crate's one test binary
//! but `tests/cluster_failover.rs` (see there why).

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use websession::{Session, SessionConfig, SessionManagerLayer, Sessions};
use websession_core::store::{
    conformance, ChangeSet, IdHash, Record, RevocationStore, SessionId, SessionStore,
    StoreErrorKind,
};
use websession_core::testing::now;
use websession_core::{Map, Value};
use websession_redis::{RedisOptions, RedisStore};

#[path = "../common/mod.rs"]
mod common;
use common::env;

/// TLS, ACL users, discovery from one node, key prefixes (issue 18).
mod production;

/// The `maxmemory-policy` check of the revocation keys (issue 25).
mod eviction;

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
            RedisStore::connect_cluster(&urls, RedisOptions::default())
                .await
                .expect("connect cluster")
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn redis_revocations_conform() {
    conformance::run_revocations(single().await.revocations()).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn redis_cluster_revocations_conform() {
    conformance::run_revocations(cluster().await.revocations()).await;
}

/// What one store revokes, another store (another process) on the same
/// Redis sees, in the documented keys; a store with another prefix keeps
/// its own revocations.
async fn revocations_are_shared<C: redis::aio::ConnectionLike + Send>(
    a: RedisStore,
    b: RedisStore,
    other: RedisStore,
    prefix: &str,
    raw: &mut C,
) {
    let (ra, rb, rother) = (a.revocations(), b.revocations(), other.revocations());
    let (user, session, t) = (new_user("rev"), new_id(), now());
    assert_eq!(ra.bump_generation(&user).await.expect("bump"), 1);
    ra.deny(&session, t + 60).await.expect("deny");
    let seen = rb.check(Some(&user), &session, t).await.expect("check");
    assert_eq!((seen.generation, seen.denied), (Some(1), true));
    assert_eq!(rb.bump_generation(&user).await.expect("bump"), 2);
    assert_eq!(ra.generation(&user).await.expect("generation"), 2);
    let apart = rother.check(Some(&user), &session, t).await.expect("check");
    assert_eq!((apart.generation, apart.denied), (Some(0), false));

    let hex = session.to_hex();
    let generation: u64 = redis::cmd("GET")
        .arg(format!("websession:gen:{{{user}}}"))
        .query_async(raw)
        .await
        .expect("generation key");
    assert_eq!(generation, 2);
    let bucket = format!("websession:denied:{{{}}}", &hex[..1]);
    let until: u64 = redis::cmd("ZSCORE")
        .arg(&bucket)
        .arg(&hex)
        .query_async(raw)
        .await
        .expect("denied member");
    assert_eq!(until, t + 60);
    rother.bump_generation(&user).await.expect("bump");
    let prefixed: u64 = redis::cmd("GET")
        .arg(format!("{prefix}gen:{{{user}}}"))
        .query_async(raw)
        .await
        .expect("prefixed generation key");
    assert_eq!(prefixed, 1);
    let () = redis::cmd("DEL")
        .arg(format!("{prefix}gen:{{{user}}}"))
        .query_async(raw)
        .await
        .expect("clean up");
    // Removed from its bucket, whichever of the 16 it is.
    assert!(rb.delete_expired_denials(t + 60).await.expect("delete") >= 1);
    assert!(!ra.check(None, &session, t).await.expect("check").denied);
    let gone: Option<u64> = redis::cmd("ZSCORE")
        .arg(&bucket)
        .arg(&hex)
        .query_async(raw)
        .await
        .expect("zscore");
    assert_eq!(gone, None);
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn revocations_are_shared_between_stores() {
    let prefix = rev_prefix();
    let other = single_with(RedisOptions::default().with_key_prefix(prefix.as_str())).await;
    revocations_are_shared(
        single().await,
        single().await,
        other,
        &prefix,
        &mut raw_single().await,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_revocations_are_shared_between_stores() {
    let prefix = rev_prefix();
    let other = cluster_with(RedisOptions::default().with_key_prefix(prefix.as_str())).await;
    revocations_are_shared(
        cluster().await,
        cluster().await,
        other,
        &prefix,
        &mut raw_cluster().await,
    )
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
    /// More arguments for redis-server (TLS, ACL users); later ones win.
    extra: Vec<String>,
    child: Option<Child>,
}

impl Server {
    fn start(port: u16, dir: &std::path::Path, extra: &[String]) -> Child {
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
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH")
    }

    async fn new() -> Self {
        Self::with_args(|_, _| Vec::new()).await
    }

    /// A server started with more arguments, made from its port and its
    /// directory.
    async fn with_args(extra: impl FnOnce(u16, &std::path::Path) -> Vec<String>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir =
            std::env::temp_dir().join(format!("websession-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let extra = extra(port, &dir);
        let server = Self {
            port,
            child: Some(Self::start(port, &dir, &extra)),
            dir,
            extra,
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
        self.child = Some(Self::start(self.port, &self.dir, &self.extra));
        self.wait_up().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
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
        .layer(SessionManagerLayer::new(
            Sessions::store(store.clone(), SessionConfig::default()).expect("config"),
        ));
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

// ---------------------------------------------------------------------------
// The user index, `cycle_id` and their races.

/// The user index key (see the crate docs' "Layout").
fn index_key(user: &str) -> String {
    format!("websession:user-sessions:{{{user}}}")
}

fn record_key(id: &IdHash) -> String {
    format!("websession:{{{}}}", id.to_hex())
}

fn new_id() -> IdHash {
    SessionId::generate().hash()
}

fn new_user(tag: &str) -> String {
    format!("{tag}-{}", &SessionId::generate().as_str()[..12])
}

fn owned(user: &str, t: u64, expires: u64) -> Record {
    Record::new(Map::new(), t, expires).with_user(Some(user.to_owned()))
}

async fn single() -> RedisStore {
    single_with(RedisOptions::default()).await
}

async fn single_with(options: RedisOptions) -> RedisStore {
    RedisStore::connect_with(&env("REDIS_URL"), options)
        .await
        .expect("connect")
}

/// A key prefix of its own, for a store whose revocations stay apart.
fn rev_prefix() -> String {
    format!("rev-test-{}:", &SessionId::generate().as_str()[..8])
}

fn cluster_urls() -> Vec<String> {
    common::urls("REDIS_CLUSTER_URLS")
}

async fn cluster() -> RedisStore {
    cluster_with(RedisOptions::default()).await
}

async fn cluster_with(options: RedisOptions) -> RedisStore {
    common::cluster_store("REDIS_CLUSTER_URLS", options).await
}

async fn raw_single() -> redis::aio::MultiplexedConnection {
    redis::Client::open(env("REDIS_URL").as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("conn")
}

async fn raw_cluster() -> redis::cluster_async::ClusterConnection {
    redis::cluster::ClusterClient::new(cluster_urls())
        .expect("cluster client")
        .get_async_connection()
        .await
        .expect("cluster conn")
}

/// The ids listed in `user`'s index.
async fn indexed<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    user: &str,
) -> BTreeSet<String> {
    redis::cmd("ZRANGE")
        .arg(index_key(user))
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .expect("members")
}

async fn ttl<C: redis::aio::ConnectionLike + Send>(conn: &mut C, key: &str) -> i64 {
    redis::cmd("TTL")
        .arg(key)
        .query_async(conn)
        .await
        .expect("ttl")
}

/// `id`'s score in `user`'s index (its expiry, or a later claim).
async fn score<C: redis::aio::ConnectionLike + Send>(conn: &mut C, user: &str, id: &IdHash) -> u64 {
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(index_key(user))
        .arg(id.to_hex())
        .query_async(conn)
        .await
        .expect("zscore");
    let score = score.expect("listed in the index");
    assert!(score.fract() == 0.0 && score >= 0.0, "score {score}");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let score = score as u64;
    score
}

fn hexes(ids: &[&IdHash]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_hex()).collect()
}

/// Sessions created while `delete_all_for` runs: whether or not that
/// revocation gets them, they stay indexed, so the next one does.
async fn revocation_races_creation(revoker: RedisStore, creator: RedisStore) {
    let t = now();
    let mut escaped = Vec::new();
    for round in 0..40u64 {
        let user = new_user("race");
        for _ in 0..8 {
            creator
                .create(&new_id(), &owned(&user, t, t + 600), t)
                .await
                .expect("create");
        }
        let late = new_id();
        let (revoked, created) = tokio::join!(revoker.delete_all_for(&user), async {
            tokio::time::sleep(Duration::from_micros(round * 150)).await;
            creator.create(&late, &owned(&user, t, t + 600), t).await
        });
        assert!(revoked.expect("revoke") >= 8, "round {round}");
        created.expect("create during the revocation");
        revoker.delete_all_for(&user).await.expect("revoke again");
        if creator.load(&late, t).await.expect("load").is_some() {
            escaped.push(round);
        }
    }
    assert!(
        escaped.is_empty(),
        "sessions created during a revocation escaped the next one (rounds {escaped:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis at REDIS_URL"]
async fn a_session_created_during_delete_all_for_stays_revocable() {
    revocation_races_creation(single().await, single().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_a_session_created_during_delete_all_for_stays_revocable() {
    revocation_races_creation(cluster().await, cluster().await).await;
}

/// The cluster node that serves `key`.
async fn node_of(key: &str) -> String {
    for url in cluster_urls() {
        let mut conn = redis::Client::open(url.as_str())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("node");
        // Any other node answers MOVED.
        if redis::cmd("EXISTS")
            .arg(key)
            .query_async::<i64>(&mut conn)
            .await
            .is_ok()
        {
            return url;
        }
    }
    panic!("no node serves {key}")
}

/// A fresh id whose record lives on none of `nodes`.
async fn id_off(nodes: &[&str]) -> IdHash {
    loop {
        let id = new_id();
        if !nodes.contains(&node_of(&record_key(&id)).await.as_str()) {
            return id;
        }
    }
}

/// A fresh user whose index lives on none of `nodes`.
async fn user_off(nodes: &[&str]) -> String {
    loop {
        let user = new_user("paused");
        if !nodes.contains(&node_of(&index_key(&user)).await.as_str()) {
            return user;
        }
    }
}

static HOLDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One test at a time may hold a node, so that no other cluster call waits
/// on two holds in a row (that could exceed the store's 2 s timeout).
struct HoldTurn;

impl HoldTurn {
    async fn take() -> Self {
        while HOLDING.swap(true, std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self
    }
}

impl Drop for HoldTurn {
    fn drop(&mut self) {
        HOLDING.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Holds every write (scripts included) that clients send to the node at
/// `url` for `ms` milliseconds; reads and the other nodes go on. This opens
/// the window between two steps of a cluster operation deterministically.
async fn hold_writes(_turn: &HoldTurn, url: &str, ms: u64) {
    let mut conn = redis::Client::open(url)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("node");
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("WRITE")
        .query_async::<()>(&mut conn)
        .await
        .expect("CLIENT PAUSE");
}

const HOLD_MS: u64 = 1200;
const SETTLE: Duration = Duration::from_millis(300);

/// Deterministic: `delete_all_for` has read the index and is held on the
/// node of the user's first session when a second session is created.
#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_delete_all_for_keeps_a_session_indexed_in_its_window() {
    let (revoker, creator) = (cluster().await, cluster().await);
    let t = now();
    let first = new_id();
    let held = node_of(&record_key(&first)).await;
    let user = user_off(&[&held]).await;
    let second = id_off(&[&held]).await;
    creator
        .create(&first, &owned(&user, t, t + 600), t)
        .await
        .expect("create");
    let turn = HoldTurn::take().await;
    hold_writes(&turn, &held, HOLD_MS).await;
    let revoking = {
        let user = user.clone();
        tokio::spawn(async move { revoker.delete_all_for(&user).await })
    };
    tokio::time::sleep(SETTLE).await;
    creator
        .create(&second, &owned(&user, t, t + 600), t)
        .await
        .expect("create during the revocation");
    assert!(
        !revoking.is_finished(),
        "timing: the revocation should still be held on {held}"
    );
    assert_eq!(revoking.await.expect("task").expect("revoke"), 1);
    assert_eq!(
        creator.delete_all_for(&user).await.expect("revoke again"),
        1,
        "the session created during the first revocation is still indexed"
    );
    assert_eq!(creator.load(&second, t).await.expect("load"), None);
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn the_user_index_follows_deletes_cycles_and_moves_and_expires() {
    let store = single().await;
    let mut raw = raw_single().await;
    let (user, other, t) = (new_user("shrink"), new_user("moved"), now());
    let ids: Vec<IdHash> = (0..4).map(|_| new_id()).collect();
    for id in &ids {
        store
            .create(id, &owned(&user, t, t + 600), t)
            .await
            .expect("create");
    }
    let [a, b, c, d] = [&ids[0], &ids[1], &ids[2], &ids[3]];
    assert_eq!(indexed(&mut raw, &user).await, hexes(&[a, b, c, d]));
    assert!(
        (590..=600).contains(&ttl(&mut raw, &index_key(&user)).await),
        "the index lives as long as its longest session"
    );

    store.delete(a).await.expect("delete");
    assert_eq!(
        indexed(&mut raw, &user).await,
        hexes(&[b, c, d]),
        "a deleted session leaves the index"
    );

    let b2 = new_id();
    store
        .cycle_id(b, &b2, &ChangeSet::touch(t + 600), t)
        .await
        .expect("cycle");
    assert_eq!(
        indexed(&mut raw, &user).await,
        hexes(&[&b2, c, d]),
        "a cycled session is listed under its new id only"
    );

    store
        .update(
            c,
            &ChangeSet::touch(t + 600).with_user(Some(other.clone())),
            t,
        )
        .await
        .expect("move");
    assert_eq!(
        indexed(&mut raw, &user).await,
        hexes(&[&b2, d]),
        "a session given to another user leaves the old user's index"
    );
    assert_eq!(indexed(&mut raw, &other).await, hexes(&[c]));

    store
        .update(d, &ChangeSet::touch(t + 900), t)
        .await
        .expect("extend");
    assert!(
        (890..=900).contains(&ttl(&mut raw, &index_key(&user)).await),
        "extending a session extends its index"
    );

    assert_eq!(store.delete_all_for(&user).await.expect("revoke"), 2);
    assert_eq!(store.delete_all_for(&other).await.expect("revoke"), 1);
    assert!(indexed(&mut raw, &user).await.is_empty());
    assert!(indexed(&mut raw, &other).await.is_empty());
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_the_user_index_expires_no_sooner_than_its_sessions() {
    let store = cluster().await;
    let mut raw = raw_cluster().await;
    let (user, other, t) = (new_user("ttl"), new_user("ttl-moved"), now());
    // Generous bounds: the TTL covers the session and doesn't outlive it by days.
    let covers = |ttl: i64, expires: u64| {
        let left = i64::try_from(expires - t).expect("small");
        (left - 10..=3 * left + 3600).contains(&ttl)
    };
    let id = new_id();
    store
        .create(&id, &owned(&user, t, t + 600), t)
        .await
        .expect("create");
    let got = ttl(&mut raw, &index_key(&user)).await;
    assert!(covers(got, t + 600), "TTL {got} after create");
    assert!(score(&mut raw, &user, &id).await >= t + 600);

    store
        .update(&id, &ChangeSet::touch(t + 5000), t)
        .await
        .expect("extend");
    let got = ttl(&mut raw, &index_key(&user)).await;
    assert!(covers(got, t + 5000), "TTL {got} after an extension");
    assert!(
        score(&mut raw, &user, &id).await >= t + 5000,
        "the index entry was extended before the session"
    );

    store
        .update(
            &id,
            &ChangeSet::touch(t + 3000).with_user(Some(other.clone())),
            t,
        )
        .await
        .expect("move");
    let got = ttl(&mut raw, &index_key(&other)).await;
    assert!(covers(got, t + 3000), "TTL {got} after a move");
    assert!(score(&mut raw, &other, &id).await >= t + 3000);

    let cycled = new_id();
    store
        .cycle_id(&id, &cycled, &ChangeSet::touch(t + 7000), t)
        .await
        .expect("cycle");
    let got = ttl(&mut raw, &index_key(&other)).await;
    assert!(covers(got, t + 7000), "TTL {got} after a cycle");
    assert!(score(&mut raw, &other, &cycled).await >= t + 7000);
    assert_eq!(store.delete_all_for(&other).await.expect("revoke"), 1);
    assert_eq!(store.delete_all_for(&user).await.expect("revoke"), 0);
}

/// When the index can't be written (here: its key holds a string), the
/// record write doesn't happen either: no live session ever escapes the index.
async fn index_failure_changes_nothing<C: redis::aio::ConnectionLike + Send>(
    store: RedisStore,
    raw: &mut C,
) {
    let (user, t) = (new_user("broken"), now());
    redis::cmd("SET")
        .arg(index_key(&user))
        .arg("not an index")
        .arg("EX")
        .arg(600)
        .query_async::<()>(raw)
        .await
        .expect("set");

    let id = new_id();
    store
        .create(&id, &owned(&user, t, t + 600), t)
        .await
        .expect_err("the index can't be written");
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        None,
        "create: no unindexed session"
    );

    let plain = Record::new(
        [("a".to_owned(), Value::Int(1))]
            .into_iter()
            .collect::<websession::Map>(),
        t,
        t + 600,
    );
    let id = new_id();
    store.create(&id, &plain, t).await.expect("create");
    store
        .update(
            &id,
            &ChangeSet::touch(t + 900)
                .with_set("b", Value::Int(2))
                .with_user(Some(user.clone())),
            t,
        )
        .await
        .expect_err("the index can't be written");
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        Some(plain.clone()),
        "update: nothing changed"
    );

    let new = new_id();
    store
        .cycle_id(
            &id,
            &new,
            &ChangeSet::touch(t + 900)
                .with_set("b", Value::Int(2))
                .with_user(Some(user.clone())),
            t,
        )
        .await
        .expect_err("the index can't be written");
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        Some(plain),
        "cycle: the old id still holds the unchanged record"
    );
    assert_eq!(
        store.load(&new, t).await.expect("load"),
        None,
        "cycle: the new id holds nothing"
    );
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn a_failed_index_write_changes_nothing() {
    index_failure_changes_nothing(single().await, &mut raw_single().await).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_a_failed_index_write_changes_nothing() {
    index_failure_changes_nothing(cluster().await, &mut raw_cluster().await).await;
}

/// Deterministic: the old id is deleted after the cluster `cycle_id` read it
/// and while it is held creating the new id. The delete wins: the cycle
/// fails and the new id holds nothing.
#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_cycle_id_loses_to_a_delete_in_its_window() {
    let (cycler, deleter) = (cluster().await, cluster().await);
    let t = now();
    let old = new_id();
    let old_node = node_of(&record_key(&old)).await;
    let new = id_off(&[&old_node]).await;
    let held = node_of(&record_key(&new)).await;
    let data: Map = [("secret".to_owned(), Value::Int(1))].into_iter().collect();
    cycler
        .create(&old, &Record::new(data, t, t + 600), t)
        .await
        .expect("create");
    let turn = HoldTurn::take().await;
    hold_writes(&turn, &held, HOLD_MS).await;
    let cycling = tokio::spawn(async move {
        cycler
            .cycle_id(&old, &new, &ChangeSet::touch(t + 600), t)
            .await
    });
    tokio::time::sleep(SETTLE).await;
    deleter.delete(&old).await.expect("delete (logout)");
    assert!(
        !cycling.is_finished(),
        "timing: the cycle should still be held on {held}"
    );
    let err = cycling
        .await
        .expect("task")
        .expect_err("the old id was deleted before the cycle finished");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert_eq!(
        deleter.load(&new, t).await.expect("load"),
        None,
        "the deleted session is not resurrected under the new id"
    );
    assert_eq!(deleter.load(&old, t).await.expect("load"), None);
}

/// Deterministic: an update of the old id lands while the cluster
/// `cycle_id` is held creating the new id; it is not lost.
#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_cycle_id_keeps_an_update_made_in_its_window() {
    let (cycler, updater) = (cluster().await, cluster().await);
    let t = now();
    let old = new_id();
    let old_node = node_of(&record_key(&old)).await;
    let new = id_off(&[&old_node]).await;
    let held = node_of(&record_key(&new)).await;
    cycler
        .create(&old, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    let turn = HoldTurn::take().await;
    hold_writes(&turn, &held, HOLD_MS).await;
    let cycling = tokio::spawn(async move {
        let changes = ChangeSet::touch(t + 700).with_set("cycled", Value::Int(1));
        cycler.cycle_id(&old, &new, &changes, t).await
    });
    tokio::time::sleep(SETTLE).await;
    updater
        .update(
            &old,
            &ChangeSet::touch(t + 600).with_set("late", Value::Int(2)),
            t,
        )
        .await
        .expect("an update of the old id, before the cycle finished");
    assert!(
        !cycling.is_finished(),
        "timing: the cycle should still be held on {held}"
    );
    cycling.await.expect("task").expect("cycle");
    let moved = updater.load(&new, t).await.expect("load").expect("live");
    assert_eq!(
        moved.data,
        [
            ("cycled".to_owned(), Value::Int(1)),
            ("late".to_owned(), Value::Int(2))
        ]
        .into_iter()
        .collect::<Map>(),
        "both the racing update and the cycle's own changes are kept"
    );
    assert_eq!(moved.expires_at, t + 700);
    assert_eq!(updater.load(&old, t).await.expect("load"), None);
}

/// Deterministic: `delete_all_for` has read the index (it lists `old`, not
/// the ids the session is then cycled to) and is held on the node of the
/// user's first session while `old` is cycled twice; it still reaches the
/// session, through the tombstones the cycles leave. With `logout_stale`,
/// the stale ids are also deleted meanwhile (a late logout with an old
/// cookie), which must not cut the chain.
async fn revocation_races_cycles(logout_stale: bool) {
    let (revoker, cycler) = (cluster().await, cluster().await);
    let t = now();
    let first = new_id();
    let held = node_of(&record_key(&first)).await;
    let user = user_off(&[&held]).await;
    let old = id_off(&[&held]).await;
    let mid = id_off(&[&held]).await;
    let new = id_off(&[&held]).await;
    // `first` expires sooner, so it comes first in the index: the
    // revocation is held there before it reaches `old`.
    cycler
        .create(&first, &owned(&user, t, t + 300), t)
        .await
        .expect("create");
    cycler
        .create(&old, &owned(&user, t, t + 600), t)
        .await
        .expect("create");
    let turn = HoldTurn::take().await;
    hold_writes(&turn, &held, HOLD_MS).await;
    let revoking = {
        let user = user.clone();
        tokio::spawn(async move { revoker.delete_all_for(&user).await })
    };
    tokio::time::sleep(SETTLE).await;
    cycler
        .cycle_id(&old, &mid, &ChangeSet::touch(t + 600), t)
        .await
        .expect("cycle during the revocation");
    cycler
        .cycle_id(&mid, &new, &ChangeSet::touch(t + 600), t)
        .await
        .expect("cycle again");
    if logout_stale {
        cycler.delete(&old).await.expect("delete the stale id");
        cycler.delete(&mid).await.expect("delete the stale id");
    }
    assert!(
        !revoking.is_finished(),
        "timing: the revocation should still be held on {held}"
    );
    assert_eq!(
        revoking.await.expect("task").expect("revoke"),
        2,
        "the first session and the cycled one"
    );
    assert_eq!(
        cycler.load(&new, t).await.expect("load"),
        None,
        "a session cycled during \"log out everywhere\" survived it"
    );
    assert_eq!(cycler.load(&first, t).await.expect("load"), None);
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_delete_all_for_reaches_a_session_cycled_in_its_window() {
    revocation_races_cycles(false).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_delete_all_for_reaches_a_cycled_session_whose_stale_ids_were_deleted() {
    revocation_races_cycles(true).await;
}

async fn hgetall<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
) -> std::collections::BTreeMap<String, String> {
    redis::cmd("HGETALL")
        .arg(key)
        .query_async(conn)
        .await
        .expect("hgetall")
}

/// A cluster `cycle_id` leaves the old id a tombstone (a pointer to the new
/// id, for revocations in flight) that every operation treats as absent.
#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_a_cycled_away_id_is_a_tombstone_and_absent() {
    let store = cluster().await;
    let mut raw = raw_cluster().await;
    let (user, t) = (new_user("tomb"), now());
    let (old, new) = (new_id(), new_id());
    store
        .create(&old, &owned(&user, t, t + 600), t)
        .await
        .expect("create");
    store
        .cycle_id(&old, &new, &ChangeSet::touch(t + 600), t)
        .await
        .expect("cycle");
    let tombstone: std::collections::BTreeMap<String, String> =
        [("m:moved".to_owned(), new.to_hex())].into_iter().collect();
    assert_eq!(hgetall(&mut raw, &record_key(&old)).await, tombstone);
    let left = ttl(&mut raw, &record_key(&old)).await;
    assert!((1..=600).contains(&left), "tombstone TTL {left}");

    assert_eq!(store.load(&old, t).await.expect("load"), None);
    let changes = ChangeSet::touch(t + 600).with_set("k", Value::Int(1));
    let err = store.update(&old, &changes, t).await.expect_err("absent");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    let elsewhere = new_id();
    let err = store
        .cycle_id(&old, &elsewhere, &changes, t)
        .await
        .expect_err("absent");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert_eq!(store.load(&elsewhere, t).await.expect("load"), None);
    store.delete(&old).await.expect("delete");
    assert_eq!(
        hgetall(&mut raw, &record_key(&old)).await,
        tombstone,
        "deleting an absent session leaves the pointer for revocations"
    );
    assert_eq!(
        store
            .update(&old, &changes, t)
            .await
            .expect_err("absent")
            .kind(),
        StoreErrorKind::NotFound,
        "no resurrection"
    );
    assert_eq!(store.load(&old, t).await.expect("load"), None);

    let fresh = Record::new(Map::new(), t, t + 60);
    store
        .create(&old, &fresh, t)
        .await
        .expect("no collision with a tombstone");
    assert_eq!(store.load(&old, t).await.expect("load"), Some(fresh));
    assert_eq!(store.delete_all_for(&user).await.expect("revoke"), 1);
    assert_eq!(store.load(&new, t).await.expect("load"), None);
}

/// `delete_others_of` keeps the session it is asked to keep, also when the
/// index still lists that session's earlier id (a Cluster's stale member,
/// whose tombstone leads to the kept id), and deletes the others under
/// their current ids.
async fn delete_others_of_spares_the_kept_session_and_its_old_ids(store: RedisStore) {
    let (user, t) = (new_user("others"), now());
    let (keep_before, keep, other_before, other, gone) =
        (new_id(), new_id(), new_id(), new_id(), new_id());
    for id in [&keep_before, &other_before, &gone] {
        store
            .create(id, &owned(&user, t, t + 600), t)
            .await
            .expect("create");
    }
    for (from, to) in [(&keep_before, &keep), (&other_before, &other)] {
        store
            .cycle_id(from, to, &ChangeSet::touch(t + 600), t)
            .await
            .expect("cycle");
    }
    store.delete(&gone).await.expect("delete");
    assert_eq!(
        store
            .delete_others_of(&user, &keep, t)
            .await
            .expect("delete_others_of"),
        1
    );
    let left: Vec<IdHash> = store
        .sessions_of(&user, t)
        .await
        .expect("sessions_of")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        left,
        vec![keep],
        "the kept session stays, the other is gone"
    );
    assert_eq!(store.load(&other, t).await.expect("load"), None);
    assert!(store.load(&keep, t).await.expect("load").is_some());
    assert_eq!(store.delete_all_for(&user).await.expect("revoke"), 1);
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn delete_others_of_spares_the_kept_session() {
    delete_others_of_spares_the_kept_session_and_its_old_ids(single().await).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_delete_others_of_spares_the_kept_session_and_its_old_ids() {
    delete_others_of_spares_the_kept_session_and_its_old_ids(cluster().await).await;
}

/// On a single Redis `delete_others_of` works through the index in batches
/// of 500: with the kept session first in the index (it expires soonest),
/// every batch skips it and the batches still get through them all; an
/// expired session is deleted but not counted.
#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn delete_others_of_works_through_batches() {
    let store = single().await;
    let mut raw = raw_single().await;
    let (user, t) = (new_user("batches"), now());
    let keep = new_id();
    store
        .create(&keep, &owned(&user, t, t + 300), t)
        .await
        .expect("create");
    let mut creates = tokio::task::JoinSet::new();
    for _ in 0..1001 {
        let (store, record) = (store.clone(), owned(&user, t, t + 600));
        creates.spawn(async move { store.create(&new_id(), &record, t).await });
    }
    while let Some(created) = creates.join_next().await {
        created.expect("task").expect("create");
    }
    let expired = new_id();
    store
        .create(&expired, &owned(&user, t, t + 400), t)
        .await
        .expect("create");
    // At `t + 450` the session that expires at `t + 400` is dead to the
    // caller, though Redis still holds it.
    assert_eq!(
        store
            .delete_others_of(&user, &keep, t + 450)
            .await
            .expect("delete_others_of"),
        1001
    );
    assert_eq!(indexed(&mut raw, &user).await, hexes(&[&keep]));
    assert_eq!(store.load(&expired, t).await.expect("load"), None);
    assert!(store.load(&keep, t).await.expect("load").is_some());
    store.delete(&keep).await.expect("delete");
}

/// A (forged) loop of tombstones ends the revocation with an error instead
/// of following it forever.
#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_delete_all_for_follows_a_bounded_chain_of_moves() {
    let store = cluster().await;
    let mut raw = raw_cluster().await;
    let user = new_user("loop");
    let (a, b) = (new_id(), new_id());
    for (from, to) in [(&a, &b), (&b, &a)] {
        redis::cmd("HSET")
            .arg(record_key(from))
            .arg("m:moved")
            .arg(to.to_hex())
            .query_async::<()>(&mut raw)
            .await
            .expect("hset");
        redis::cmd("EXPIRE")
            .arg(record_key(from))
            .arg(60)
            .query_async::<()>(&mut raw)
            .await
            .expect("expire");
    }
    redis::cmd("ZADD")
        .arg(index_key(&user))
        .arg(now() + 60)
        .arg(a.to_hex())
        .query_async::<()>(&mut raw)
        .await
        .expect("zadd");
    let err = store
        .delete_all_for(&user)
        .await
        .expect_err("endless chain");
    assert_eq!(err.kind(), StoreErrorKind::Backend);
}

/// A stored record that isn't UTF-8 (a value, a field name, the user) is
/// corrupt, not an outage: the engine then starts over and deletes it.
async fn non_utf8_is_corrupt<C: redis::aio::ConnectionLike + Send>(store: RedisStore, raw: &mut C) {
    let t = now();
    let cases: [(&[u8], &[u8]); 3] = [
        (b"d:k", b"\"\xff\xfe\""),
        (b"d:\xff", b"1"),
        (b"m:user", b"\xc3"),
    ];
    for (field, value) in cases {
        let id = new_id();
        redis::cmd("HSET")
            .arg(record_key(&id))
            .arg("m:expires")
            .arg(t + 600)
            .arg("m:created")
            .arg(t)
            .arg(field)
            .arg(value)
            .query_async::<()>(raw)
            .await
            .expect("hset");
        redis::cmd("EXPIRE")
            .arg(record_key(&id))
            .arg(600)
            .query_async::<()>(raw)
            .await
            .expect("expire");
        let err = store.load(&id, t).await.expect_err("not UTF-8");
        assert_eq!(
            err.kind(),
            StoreErrorKind::Corrupt,
            "{} = {}: {err}",
            String::from_utf8_lossy(field),
            String::from_utf8_lossy(value)
        );
        store.delete(&id).await.expect("delete");
        assert_eq!(store.load(&id, t).await.expect("load"), None);
    }
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn a_non_utf8_record_is_corrupt() {
    non_utf8_is_corrupt(single().await, &mut raw_single().await).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_a_non_utf8_record_is_corrupt() {
    non_utf8_is_corrupt(cluster().await, &mut raw_cluster().await).await;
}

/// A change set of more than 1000 items (the scripts write at most 1000
/// per command) applies whole: removals, writes and overwrites.
async fn large_change_sets_apply_whole(store: RedisStore) {
    let t = now();
    let id = new_id();
    let mut data = Map::new();
    for i in 0..2500 {
        data.insert(format!("k{i}"), Value::Int(i));
    }
    store
        .create(&id, &Record::new(data.clone(), t, t + 600), t)
        .await
        .expect("create");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(loaded.data, data);
    let mut changes = ChangeSet::touch(t + 900);
    for i in 0..1200 {
        changes = changes.with_removed(format!("k{i}"));
        data.remove(&format!("k{i}"));
    }
    for i in 1200..3700 {
        let v = Value::Str(format!("v{i}"));
        changes = changes.with_set(format!("k{i}"), v.clone());
        data.insert(format!("k{i}"), v);
    }
    store.update(&id, &changes, t).await.expect("update");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(loaded.data, data);
    assert_eq!(loaded.expires_at, t + 900);
    // Cleared, then 1500 keys written.
    let mut changes = ChangeSet::touch(t + 900);
    changes.cleared = true;
    let mut data = Map::new();
    for i in 0..1500 {
        changes = changes.with_set(format!("n{i}"), Value::Int(i));
        data.insert(format!("n{i}"), Value::Int(i));
    }
    store
        .update(&id, &changes, t)
        .await
        .expect("update cleared");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(loaded.data, data);
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn large_change_sets_apply_whole_single() {
    large_change_sets_apply_whole(single().await).await;
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn cluster_large_change_sets_apply_whole() {
    large_change_sets_apply_whole(cluster().await).await;
}

/// Calls made together share batches (one pipeline per scheduler turn);
/// each still gets its own reply, and one command's error reply (a key of
/// the wrong type) fails that call only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis at REDIS_URL"]
async fn batched_calls_get_their_own_replies_and_errors() {
    let store = single().await;
    let mut raw = raw_single().await;
    let t = now();
    let bad = new_id();
    let _: () = redis::cmd("SET")
        .arg(record_key(&bad))
        .arg("not a hash")
        .arg("EX")
        .arg(60)
        .query_async(&mut raw)
        .await
        .expect("set");
    for _ in 0..5 {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..300i64 {
            let s = store.clone();
            tasks.spawn(async move {
                let store = s;
                let id = new_id();
                let mut data = Map::new();
                data.insert("n".into(), Value::Int(i));
                store
                    .create(&id, &Record::new(data, t, t + 600), t)
                    .await
                    .expect("create");
                let changes = ChangeSet::touch(t + 700).with_set("n", Value::Int(i * 2));
                store.update(&id, &changes, t).await.expect("update");
                let r = store.load(&id, t).await.expect("load").expect("live");
                assert_eq!(
                    r.data.get("n").map(|v| v.to_value()),
                    Some(Value::Int(i * 2))
                );
                assert_eq!(r.expires_at, t + 700);
                assert!(store.load(&new_id(), t).await.expect("load").is_none());
            });
            let store = store.clone();
            tasks.spawn(async move {
                let changes = ChangeSet::touch(t + 700).with_set("n", Value::Int(1));
                let e = store
                    .update(&bad, &changes, t)
                    .await
                    .expect_err("wrong type");
                assert_eq!(e.kind(), StoreErrorKind::Backend);
                let e = store.load(&bad, t).await.expect_err("wrong type");
                assert_eq!(e.kind(), StoreErrorKind::Backend);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
    }
}

/// A server's counters: the requests it got from clients that a session
/// store sends (`HGETALL`, `EVALSHA`, `EVAL`, `SCRIPT LOAD`; not the
/// commands a script runs inside the server), its read events, and the
/// `WAIT`s it got.
async fn processed(raw: &mut redis::aio::MultiplexedConnection) -> (u64, u64, u64) {
    let info: String = redis::cmd("INFO")
        .arg("all")
        .query_async(raw)
        .await
        .expect("info");
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let requests = ["hgetall", "evalsha", "eval", "script|load"]
        .iter()
        .map(|c| field(&format!("cmdstat_{c}:calls=")))
        .sum();
    (
        requests,
        field("total_reads_processed:"),
        field("cmdstat_wait:calls="),
    )
}

/// A private server, a store on it, a raw connection to read its counters,
/// and a session created there whose update script is loaded.
/// Another store on the private `server`, with `options`.
async fn acked_on(server: &Server, options: RedisOptions) -> RedisStore {
    RedisStore::connect_with(&format!("redis://127.0.0.1:{}", server.port), options)
        .await
        .expect("connect")
}

async fn private_session() -> (
    Server,
    RedisStore,
    redis::aio::MultiplexedConnection,
    IdHash,
    u64,
) {
    let server = Server::new().await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::connect(&url).await.expect("connect");
    let raw = redis::Client::open(url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let t = now();
    let id = new_id();
    store
        .create(&id, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    // The first update loads its script (NOSCRIPT, SCRIPT LOAD, EVALSHA).
    store
        .update(&id, &ChangeSet::touch(t + 600), t)
        .await
        .expect("update");
    (server, store, raw, id, t)
}

/// One command (one round trip) per load and per update, counted by a
/// private server; and calls made together share a write: 64 concurrent
/// loads reach the server in a few reads, not 64.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn one_round_trip_per_load_and_update_and_concurrent_calls_share_writes() {
    let (_server, store, mut raw, id, t) = private_session().await;
    let touch = |i: i64| ChangeSet::touch(t + 600).with_set("n", Value::Int(i));

    let n = 100;
    let (c0, _, _) = processed(&mut raw).await;
    for _ in 0..n {
        store.load(&id, t).await.expect("load").expect("live");
    }
    let (c1, _, _) = processed(&mut raw).await;
    for i in 0..n {
        store.update(&id, &touch(i), t).await.expect("update");
    }
    let (c2, _, _) = processed(&mut raw).await;
    assert_eq!(c1 - c0, n as u64, "requests per load");
    assert_eq!(c2 - c1, n as u64, "requests per update");

    let (c3, r3, _) = processed(&mut raw).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let store = store.clone();
        tasks.spawn(async move { store.load(&id, t).await.expect("load").expect("live") });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    let (c4, r4, _) = processed(&mut raw).await;
    assert_eq!(c4 - c3, 64, "one request per load");
    // Each INFO is a read event of its own.
    assert!(
        r4 - r3 - 1 <= 4,
        "64 concurrent loads took {} reads",
        r4 - r3 - 1
    );
}

/// A revocation check sends the user's generation and the id's denial
/// together: one read event on the server per check.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn a_check_is_one_round_trip() {
    let (_server, store, mut raw, id, t) = private_session().await;
    let revocations = store.revocations();
    revocations.deny(&id, t + 60).await.expect("deny");
    let n = 50;
    let (_, r0, _) = processed(&mut raw).await;
    for _ in 0..n {
        let verdict = revocations
            .check(Some("alice"), &id, t)
            .await
            .expect("check");
        assert_eq!((verdict.generation, verdict.denied), (Some(0), true));
    }
    let (_, r1, _) = processed(&mut raw).await;
    // Each INFO is a read event of its own.
    assert_eq!(r1 - r0 - 1, n, "read events for {n} checks");
}

/// With [`RedisOptions::with_replica_ack`], a write and its `WAIT` travel
/// together: one read event on the server per write (the script and the
/// `WAIT` in one write on one connection), so the `WAIT` covers the script
/// whatever happens to the connection between two calls. The private
/// server has no replica, so every write is refused after `WAIT` answers 0,
/// and is applied all the same.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn a_write_and_its_wait_reach_the_server_in_one_read() {
    let (server, plain, mut raw, id, t) = private_session().await;
    let store = acked_on(
        &server,
        RedisOptions::default().with_replica_ack(1, Duration::from_millis(1)),
    )
    .await;
    let touch = |i: i64| ChangeSet::touch(t + 600).with_set("n", Value::Int(i));
    let n = 40;
    let (c0, r0, w0) = processed(&mut raw).await;
    for i in 1..=n {
        let e = store
            .update(&id, &touch(i), t)
            .await
            .expect_err("no replica");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
    }
    let (c1, r1, w1) = processed(&mut raw).await;
    assert_eq!(c1 - c0, n as u64, "one script per update");
    assert_eq!(w1 - w0, n as u64, "one WAIT per update");
    // The second INFO is a read event of its own.
    assert_eq!(r1 - r0 - 1, n as u64, "reads per update and its WAIT");
    // Refused, yet applied: the last value is there.
    let record = plain.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        record.data.get("n").map(|v| v.to_value()),
        Some(Value::Int(n))
    );
    drop(server);
}

/// The revocation writes wait for replicas as a session write does (issue
/// 25): with [`RedisOptions::with_replica_ack`], `bump_generation` and `deny`
/// each send one `WAIT`, in the same read event as the write, and fail as
/// [`StoreErrorKind::Unavailable`] when fewer replicas acknowledged (the
/// private server has none), applied all the same. `delete_expired_denials`
/// waits for none.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn revocation_writes_and_their_wait_reach_the_server_in_one_read() {
    let (server, plain, mut raw, _, t) = private_session().await;
    let store = acked_on(
        &server,
        RedisOptions::default().with_replica_ack(1, Duration::from_millis(1)),
    )
    .await;
    let (plain, acked) = (plain.revocations(), store.revocations());
    // Loads the deny script and runs the eviction check, outside the count;
    // the acked store (a store of its own) runs its own check too.
    plain.deny(&new_id(), t + 60).await.expect("deny");
    acked.check_eviction_policy().await.expect("eviction check");
    let user = new_user("acked");
    let ids: Vec<IdHash> = (0..20).map(|_| new_id()).collect();

    let (_, r0, w0) = processed(&mut raw).await;
    for (i, id) in ids.iter().enumerate() {
        let e = acked.deny(id, t + 60).await.expect_err("no replica");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
        assert!(
            format!("{e:?}").contains("acknowledged by 0 of 1 replicas"),
            "{e:?}"
        );
        let e = acked.bump_generation(&user).await.expect_err("no replica");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
        // Refused, yet applied on the primary.
        let verdict = plain.check(Some(&user), id, t).await.expect("check");
        assert_eq!(
            (verdict.generation, verdict.denied),
            (Some(i as u64 + 1), true)
        );
    }
    let (_, r1, w1) = processed(&mut raw).await;
    let writes = 2 * ids.len() as u64;
    assert_eq!(w1 - w0, writes, "one WAIT per deny and per bump");
    // One read event per write and its WAIT, one per check, one for INFO.
    assert_eq!(r1 - r0 - 1, writes + ids.len() as u64, "reads");

    let (_, _, w2) = processed(&mut raw).await;
    acked
        .delete_expired_denials(t + 61)
        .await
        .expect("no WAIT, so no refusal");
    let (_, _, w3) = processed(&mut raw).await;
    assert_eq!(w3 - w2, 0, "delete_expired_denials sends no WAIT");
    drop(server);
}
