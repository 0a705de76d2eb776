//! What production needs (issue 18): TLS against a private `redis-server`
//! with a throwaway CA (`.ci/throwaway-ca`), an ACL user with only the
//! documented rights, Cluster discovery from one node, key prefixes on a
//! Cluster.

use std::collections::BTreeSet;
#[cfg(feature = "rustls")]
use std::path::Path;

use websession_core::store::{conformance, Record, SessionId, SessionStore, StoreErrorKind};
use websession_core::testing::now;
use websession_core::Map;
#[cfg(feature = "rustls")]
use websession_redis::RedisOptions;
use websession_redis::RedisStore;

use super::{cluster_urls, env, node_of, Server};

#[cfg(feature = "rustls")]
/// Makes the throwaway CA, server certificate and unrelated CA in `dir`.
fn throwaway_ca(dir: &Path) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/throwaway-ca");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(dir)
        .status()
        .expect("bash .ci/throwaway-ca (needs openssl)");
    assert!(status.success(), "throwaway-ca failed");
}

#[cfg(feature = "rustls")]
fn arg(path: &Path, name: &str) -> String {
    path.join(name).to_str().expect("utf8").to_owned()
}

#[cfg(feature = "rustls")]
/// A private redis-server that speaks TLS only, on a free port, with a
/// certificate from a throwaway CA.
async fn tls_server() -> Server {
    Server::with_args(|port, dir| {
        throwaway_ca(dir);
        [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &arg(dir, "server.pem"),
            "--tls-key-file",
            &arg(dir, "server.key"),
            "--tls-ca-cert-file",
            &arg(dir, "ca.pem"),
            "--tls-auth-clients",
            "no",
            "--appendonly",
            "no",
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .await
}

#[cfg(feature = "rustls")]
fn pem(server: &Server, name: &str) -> Vec<u8> {
    std::fs::read(server.dir.join(name)).expect("pem")
}

/// A session written and read back through `store`.
async fn round_trip(store: &RedisStore) {
    let id = SessionId::generate().hash();
    let t = now();
    let mut data = Map::new();
    data.insert("k".into(), websession_core::Value::Str("v".into()));
    store
        .create(&id, &Record::new(data.clone(), t, t + 60), t)
        .await
        .expect("create");
    let record = store.load(&id, t).await.expect("load").expect("found");
    assert_eq!(record.data, data);
    store.delete(&id).await.expect("delete");
}

#[cfg(feature = "rustls")]
#[tokio::test]
#[ignore = "starts its own redis-server with TLS (needs openssl)"]
async fn rediss_with_a_private_ca_works_and_another_ca_is_refused() {
    let server = tls_server().await;
    let trusted = RedisOptions::default().with_root_certificates_pem(pem(&server, "ca.pem"));
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("rediss://{host}:{}", server.port);
        let store = RedisStore::connect_with(&url, trusted.clone())
            .await
            .expect("connect over TLS");
        round_trip(&store).await;
    }
    let url = format!("rediss://127.0.0.1:{}", server.port);
    conformance::run(|| {
        let (url, trusted) = (url.clone(), trusted.clone());
        async move {
            RedisStore::connect_with(&url, trusted.clone())
                .await
                .expect("connect")
        }
    })
    .await;

    // A CA that signed nothing here, and the system's roots: refused.
    let other = RedisOptions::default().with_root_certificates_pem(pem(&server, "other-ca.pem"));
    for options in [other, RedisOptions::default()] {
        let e = RedisStore::connect_with(&url, options)
            .await
            .expect_err("an untrusted certificate is refused");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
        let why = format!("{:?}", std::error::Error::source(&e));
        assert!(why.contains("UnknownIssuer"), "{why}");
    }
    // No certificate in the PEM: a configuration error, before any I/O.
    let e = RedisStore::connect_with(
        &url,
        RedisOptions::default().with_root_certificates_pem("nothing"),
    )
    .await
    .expect_err("no CA");
    assert_eq!(e.kind(), StoreErrorKind::Backend);
    // Plaintext to a TLS-only port fails as unreachable.
    let e = RedisStore::connect_with(
        &format!("redis://127.0.0.1:{}", server.port),
        RedisOptions::default().with_connect_timeout(std::time::Duration::from_millis(500)),
    )
    .await
    .expect_err("plaintext");
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
}

/// The `ACL SETUSER` line of the crate docs, as documented.
pub(super) fn documented_acl() -> Vec<String> {
    let docs = include_str!("../../src/lib.rs");
    let start = docs
        .find("//! ACL SETUSER sessions")
        .expect("the crate docs show the ACL line");
    let block = &docs[start..];
    let block = &block[..block.find("//! ```").expect("end of the block")];
    block
        .lines()
        .flat_map(|l| l.trim_start_matches("//!").split_whitespace())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
#[ignore = "starts its own redis-server"]
async fn an_acl_user_with_the_documented_rights_is_enough_and_a_wrong_password_is_refused() {
    let server = Server::with_args(|_, _| Vec::new()).await;
    let password = "hunter2-not-in-logs";
    let admin_url = format!("redis://127.0.0.1:{}", server.port);
    let mut admin = redis::Client::open(admin_url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("admin");
    let acl = documented_acl();
    assert_eq!(&acl[..3], ["ACL", "SETUSER", "sessions"]);
    let mut setuser = redis::cmd("ACL");
    for word in &acl[1..] {
        setuser.arg(word.replace("PASSWORD", password));
    }
    let () = setuser.query_async(&mut admin).await.expect("ACL SETUSER");

    let url = format!("redis://sessions:{password}@127.0.0.1:{}", server.port);
    conformance::run(|| {
        let url = url.clone();
        async move {
            RedisStore::connect(&url)
                .await
                .expect("connect as sessions")
        }
    })
    .await;
    let store = RedisStore::connect(&url).await.expect("connect");
    round_trip(&store).await;
    conformance::run_revocations(store.revocations()).await;
    assert!(
        !format!("{store:?}").contains(password),
        "no password in Debug: {store:?}"
    );

    // The user is really restricted: other keys and other commands are refused.
    let mut limited = redis::Client::open(url.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("limited");
    let other_key: redis::RedisResult<Option<String>> = redis::cmd("HGET")
        .arg("other-app:x")
        .arg("f")
        .query_async(&mut limited)
        .await;
    assert!(other_key.is_err(), "a key outside ~websession:* is refused");
    let flush: redis::RedisResult<()> = redis::cmd("FLUSHALL").query_async(&mut limited).await;
    assert!(flush.is_err(), "FLUSHALL is refused");

    let wrong = format!("redis://sessions:wrong@127.0.0.1:{}", server.port);
    let e = RedisStore::connect(&wrong)
        .await
        .expect_err("wrong password");
    assert_eq!(e.kind(), StoreErrorKind::Backend, "{e:?}");
    assert!(!format!("{e:?} {e}").contains("wrong@"), "{e:?}");
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS"]
async fn a_cluster_is_discovered_from_any_one_node() {
    let all: BTreeSet<String> = cluster_urls().into_iter().collect();
    assert_eq!(all.len(), 3, "the CI cluster has three primaries");
    for seed in &all {
        let store = RedisStore::connect_cluster(&[seed.as_str()], RedisOptions::default())
            .await
            .expect("connect through one node");
        // Sessions until every primary holds one, each read back.
        let mut reached = BTreeSet::new();
        for _ in 0..200 {
            let id = SessionId::generate().hash();
            let t = now();
            store
                .create(&id, &Record::new(Map::new(), t, t + 60), t)
                .await
                .expect("create");
            assert!(store.load(&id, t).await.expect("load").is_some());
            reached.insert(node_of(&format!("websession:{{{}}}", id.to_hex())).await);
            store.delete(&id).await.expect("delete");
            if reached == all {
                break;
            }
        }
        assert_eq!(reached, all, "through {seed}, every primary is reached");
    }
}

#[tokio::test]
#[ignore = "needs a Redis Cluster at REDIS_CLUSTER_URLS and Redis at REDIS_URL"]
async fn a_prefix_keeps_the_cluster_hash_tags() {
    let urls = cluster_urls();
    let prefix = "shop:sessions:";
    let make = || {
        let urls = urls.clone();
        async move {
            let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
            RedisStore::connect_cluster(&urls, RedisOptions::default().with_key_prefix(prefix))
                .await
                .expect("cluster")
        }
    };
    conformance::run(make).await;
    let single = env("REDIS_URL");
    conformance::run(|| {
        let single = single.clone();
        async move {
            RedisStore::connect_with(&single, RedisOptions::default().with_key_prefix(prefix))
                .await
                .expect("single")
        }
    })
    .await;

    let store = make().await;
    let user = format!("prefix-user-{}", SessionId::generate().as_str());
    let mut nodes = BTreeSet::new();
    let t = now();
    for _ in 0..12 {
        let id = SessionId::generate().hash();
        let record = Record::new(Map::new(), t, t + 60).with_user(Some(user.clone()));
        store.create(&id, &record, t).await.expect("create");
        let key = format!("{prefix}{{{}}}", id.to_hex());
        let node = node_of(&key).await;
        let mut conn = redis::Client::open(node.as_str())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("node");
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("exists");
        assert!(exists, "the session is at {key}");
        // The slot is the id hash's: the prefix is outside the hash tag.
        let slot = |k: String| {
            let mut c = conn.clone();
            async move {
                redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(k)
                    .query_async::<u16>(&mut c)
                    .await
                    .expect("keyslot")
            }
        };
        assert_eq!(slot(key).await, slot(id.to_hex()).await);
        nodes.insert(node);
    }
    assert!(nodes.len() > 1, "sessions spread over the nodes: {nodes:?}");
    let index = format!("{prefix}user-sessions:{{{user}}}");
    let node = node_of(&index).await;
    let mut conn = redis::Client::open(node.as_str())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("node");
    let listed: u64 = redis::cmd("ZCARD")
        .arg(&index)
        .query_async(&mut conn)
        .await
        .expect("zcard");
    assert_eq!(listed, 12, "the user index is under the prefix");
    assert_eq!(store.delete_all_for(&user).await.expect("revoke"), 12);
}
