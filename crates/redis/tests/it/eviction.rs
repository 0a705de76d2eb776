//! The `maxmemory-policy` check that guards the revocation keys (issue 25):
//! generations and deny-lists have no TTL, so an `allkeys-*` policy can
//! evict them and silently undo revocations. Each test sets the policy
//! with `CONFIG SET` on servers of its own (the shared ones keep theirs).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use websession_core::store::{RevocationStore, SessionId, StoreError, StoreErrorKind};
use websession_core::testing::now;
use websession_redis::{redis, RedisOptions, RedisStore, UnsafeEvictionPolicy};

use super::{cluster_urls, env, Server};

/// The warnings and errors a test's tracing events said, one line each:
/// `LEVEL target: field=value ...` (a subscriber of its own, so the crate
/// needs no other dependency).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

/// Writes an event's fields as `name=value`.
struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        let mut line = format!("{} {}:", meta.level(), meta.target());
        event.record(&mut Fields(&mut line));
        self.0.lock().expect("logs").push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Logs {
    /// Collects the events of this thread (the tests run on one) until the
    /// guard is dropped.
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        // A second dispatcher for the whole run: with one, a callsite first
        // hit by another test's thread (no subscriber) caches "never" (see
        // websession's tests/it/metrics.rs).
        static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let logs = Self::default();
        let guard = tracing::subscriber::set_default(logs.clone());
        tracing::callsite::rebuild_interest_cache();
        (logs, guard)
    }

    fn text(&self) -> String {
        self.0.lock().expect("logs").join("\n")
    }

    /// The security warnings logged so far.
    fn warnings(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("logs")
            .iter()
            .filter(|l| l.starts_with("WARN websession::security:"))
            .cloned()
            .collect()
    }

    fn clear(&self) {
        self.0.lock().expect("logs").clear();
    }
}

/// A private redis-server without persistence.
async fn server(extra: &[&str]) -> Server {
    let extra: Vec<String> = ["--appendonly", "no"]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect();
    Server::with_args(|_, _| extra).await
}

async fn raw(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("conn")
}

async fn set_policy(conn: &mut redis::aio::MultiplexedConnection, policy: &str) {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg(policy)
        .query_async(conn)
        .await
        .expect("CONFIG SET");
}

fn strict() -> RedisOptions {
    RedisOptions::default().with_safe_eviction_required(true)
}

/// The refusal of a store that requires a safe policy: `Backend`, with the
/// policy as its source.
fn assert_refused(e: &StoreError, policy: &str) -> UnsafeEvictionPolicy {
    assert_eq!(e.kind(), StoreErrorKind::Backend, "{e:?}");
    let found = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<UnsafeEvictionPolicy>())
        .unwrap_or_else(|| panic!("the source is the policy: {e:?}"))
        .clone();
    assert_eq!(found.policy(), policy);
    found
}

/// Every revocation call of `store` fails, and none writes.
async fn every_call_is_refused(
    store: &RedisStore,
    conn: &mut redis::aio::MultiplexedConnection,
    policy: &str,
) {
    let revocations = store.revocations();
    let user = format!("evict-{}", SessionId::generate().as_str());
    let id = SessionId::generate().hash();
    let t = now();
    let refused = [
        revocations.bump_generation(&user).await.map(drop),
        revocations.deny(&id, t + 600).await,
        revocations.check(Some(&user), &id, t).await.map(drop),
        revocations.generation(&user).await.map(drop),
        revocations.delete_expired_denials(t).await.map(drop),
        revocations.check_eviction_policy().await,
    ];
    for result in refused {
        assert_refused(&result.expect_err("refused"), policy);
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("websession:*")
        .query_async(conn)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "a refused call wrote nothing: {keys:?}");
}

/// Revocations work on `store`: a bump and a denial, read back.
async fn revocations_work(store: &RedisStore) {
    let revocations = store.revocations();
    let user = format!("evict-{}", SessionId::generate().as_str());
    let id = SessionId::generate().hash();
    let t = now();
    revocations.check_eviction_policy().await.expect("checked");
    assert_eq!(revocations.bump_generation(&user).await.expect("bump"), 1);
    revocations.deny(&id, t + 600).await.expect("deny");
    let verdict = revocations.check(Some(&user), &id, t).await.expect("check");
    assert_eq!((verdict.generation, verdict.denied), (Some(1), true));
}

/// Each `allkeys-*` policy is logged once per store (target
/// `websession::security`) and otherwise changes nothing; under
/// `with_safe_eviction_required` (through any constructor, an app's own
/// client's too) every revocation call fails with the policy as the
/// error's source and writes nothing. `noeviction` and the `volatile-*`
/// policies (which evict only keys with a TTL; the revocation keys have
/// none) pass, silently.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn an_evicting_policy_is_logged_and_refused_when_required() {
    let server = server(&[]).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let mut conn = raw(server.port).await;
    let (logs, _guard) = Logs::capture();

    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        set_policy(&mut conn, policy).await;
        logs.clear();
        // Warn-only (the default): revocations go on, one warning.
        let store = RedisStore::connect(&url).await.expect("connect");
        revocations_work(&store).await;
        revocations_work(&store.clone()).await;
        let warnings = logs.warnings();
        assert_eq!(warnings.len(), 1, "one warning per store: {warnings:?}");
        assert!(
            warnings[0].contains(policy) && warnings[0].contains("revocation keys"),
            "{warnings:?}"
        );
        let () = redis::cmd("FLUSHDB")
            .query_async(&mut conn)
            .await
            .expect("flush");

        // Required: refused, through every constructor path.
        let store = RedisStore::connect_with(&url, strict())
            .await
            .expect("connect");
        every_call_is_refused(&store, &mut conn, policy).await;
        let found = assert_refused(
            &store
                .revocations()
                .check_eviction_policy()
                .await
                .expect_err("refused"),
            policy,
        );
        assert_eq!(found.node(), "the Redis server");
        let client = redis::Client::open(url.as_str()).expect("client");
        let store = RedisStore::from_client(client, strict())
            .await
            .expect("from client");
        every_call_is_refused(&store, &mut conn, policy).await;
    }

    for policy in [
        "noeviction",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        set_policy(&mut conn, policy).await;
        logs.clear();
        let store = RedisStore::connect_with(&url, strict())
            .await
            .expect("connect");
        revocations_work(&store).await;
        assert!(logs.warnings().is_empty(), "{policy}: {}", logs.text());
    }
    // The check ran once per store: a policy changed later isn't seen.
    let store = RedisStore::connect_with(&url, strict())
        .await
        .expect("connect");
    revocations_work(&store).await;
    set_policy(&mut conn, "allkeys-lru").await;
    revocations_work(&store).await;
}

/// A user that may not run `CONFIG GET`: with `+info` (the documented ACL
/// line) the policy is read from `INFO memory`, and refused; with neither,
/// the store logs that it could not check and goes on, requirement or not.
#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn without_config_the_policy_is_read_from_info_or_reported_unchecked() {
    let server = server(&[]).await;
    let mut admin = raw(server.port).await;
    set_policy(&mut admin, "allkeys-lru").await;
    let password = "not-in-logs";
    // The documented line, and the same without `+info`.
    let documented = super::production::documented_acl();
    assert!(documented.iter().any(|w| w == "+info"), "{documented:?}");
    for (user, info) in [("documented", true), ("noinfo", false)] {
        let mut setuser = redis::cmd("ACL");
        setuser.arg("SETUSER").arg(user);
        for word in &documented[3..] {
            if word != "+info" || info {
                setuser.arg(word.replace("PASSWORD", password));
            }
        }
        let () = setuser.query_async(&mut admin).await.expect("ACL SETUSER");
    }
    let url = |user: &str| format!("redis://{user}:{password}@127.0.0.1:{}", server.port);
    let (logs, _guard) = Logs::capture();

    let store = RedisStore::connect_with(&url("documented"), strict())
        .await
        .expect("connect");
    every_call_is_refused(&store, &mut admin, "allkeys-lru").await;
    assert_eq!(logs.warnings().len(), 1, "{}", logs.text());

    logs.clear();
    let store = RedisStore::connect_with(&url("noinfo"), strict())
        .await
        .expect("connect");
    revocations_work(&store).await;
    let warnings = logs.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("could not check"), "{warnings:?}");
    assert!(!logs.text().contains(password), "no password in the logs");
}

/// A cluster node with `--cluster-enabled`, on a free port.
async fn cluster_node() -> Server {
    Server::with_args(|_, dir| {
        [
            "--appendonly",
            "no",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            dir.join("nodes.conf").to_str().expect("utf8"),
            "--cluster-node-timeout",
            "1000",
            // The primary lists a replica in `CLUSTER SLOTS` only once the
            // replica's offset is past 0, which on an idle primary waits for
            // its replication ping (every 10 s by default).
            "--repl-ping-replica-period",
            "1",
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .await
}

async fn cluster_info(conn: &mut redis::aio::MultiplexedConnection, what: &str) -> String {
    redis::cmd("CLUSTER")
        .arg(what)
        .query_async(conn)
        .await
        .expect("cluster")
}

/// On a Cluster, every node the connection knows is checked, replicas
/// included (a replica is promoted with its own policy): a private
/// cluster of one primary (every slot) and its replica, where only the
/// replica runs `allkeys-lru`.
#[tokio::test]
#[ignore = "starts its own redis-servers"]
async fn a_cluster_replica_with_an_evicting_policy_is_found() {
    let (primary, replica) = (cluster_node().await, cluster_node().await);
    let (mut p, mut r) = (raw(primary.port).await, raw(replica.port).await);
    let () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query_async(&mut p)
        .await
        .expect("addslots");
    let () = redis::cmd("CLUSTER")
        .arg("MEET")
        .arg("127.0.0.1")
        .arg(primary.port)
        .query_async(&mut r)
        .await
        .expect("meet");
    let primary_id = cluster_info(&mut p, "MYID").await;
    let mut replicated = false;
    for _ in 0..200 {
        replicated = redis::cmd("CLUSTER")
            .arg("REPLICATE")
            .arg(&primary_id)
            .query_async::<()>(&mut r)
            .await
            .is_ok();
        if replicated {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(replicated, "the replica follows the primary");
    // Up when both see the cluster ok and the primary lists the replica
    // for the slots (what the store's connection discovers). That takes
    // about 5 s here; the deadline leaves room for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut up = false;
    while Instant::now() < deadline {
        let slots: redis::Value = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut p)
            .await
            .expect("slots");
        up = cluster_info(&mut p, "INFO")
            .await
            .contains("cluster_state:ok")
            && cluster_info(&mut r, "INFO")
                .await
                .contains("cluster_state:ok")
            && format!("{slots:?}").contains(&format!("int({})", replica.port));
        if up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the cluster is up with its replica");
    let seed = format!("redis://127.0.0.1:{}", primary.port);
    let connect = || async {
        RedisStore::connect_cluster(&[seed.as_str()], strict())
            .await
            .expect("connect cluster")
    };
    revocations_work(&connect().await).await;

    set_policy(&mut r, "allkeys-lru").await;
    let (logs, _guard) = Logs::capture();
    let store = connect().await;
    let e = store
        .revocations()
        .bump_generation("cluster-evict")
        .await
        .expect_err("refused");
    let found = assert_refused(&e, "allkeys-lru");
    assert_eq!(found.node(), format!("127.0.0.1:{}", replica.port));
    assert_eq!(logs.warnings().len(), 1, "{}", logs.text());
    let gen: Option<u64> = redis::cmd("GET")
        .arg("websession:gen:{cluster-evict}")
        .query_async(&mut p)
        .await
        .expect("get");
    assert_eq!(gen, None, "nothing written");
}

/// The servers CI runs (the Redis at `REDIS_URL`, the cluster at
/// `REDIS_CLUSTER_URLS`) keep the revocation keys: a store that requires
/// it works on them.
#[tokio::test]
#[ignore = "needs Redis at REDIS_URL and a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn the_ci_servers_pass_the_eviction_check() {
    let single = RedisStore::connect_with(&env("REDIS_URL"), strict())
        .await
        .expect("single");
    revocations_work(&single).await;
    let urls = cluster_urls();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let cluster = RedisStore::connect_cluster(&urls, strict())
        .await
        .expect("cluster");
    revocations_work(&cluster).await;
}
