//! A Redis Cluster with replicas loses a primary under load (issue 15):
//! the cluster at `REDIS_CLUSTER_REPLICA_URLS` (comma-separated; three
//! primaries and three replicas, `.ci/redis-cluster-replicas` starts one).
//! Writers update their own sessions on every primary's slots; one primary
//! is killed (`SIGKILL`), its replica takes over, and the killed node is
//! restarted once the failover is done, to rejoin as a replica (as a
//! supervisor would). Then every session is read back and the acknowledged
//! writes that are gone are counted: once without, once with
//! [`RedisOptions::with_replica_ack`]. Revokers bump generations and deny
//! session ids on every primary meanwhile, and the acknowledged revocations
//! that are gone are counted too (issue 25: a failover must not undo a
//! revocation the store acknowledged). Last, the cost of the `WAIT` is
//! measured on the healthy cluster. `cargo test` skips it; `.ci/run` runs it.
//!
//! The test leaves the cluster with three primaries and three replicas in
//! sync (different ones than it found), so it can run again.
//!
//! A test binary of its own on purpose: cargo runs test binaries one after
//! another but the tests of one binary in parallel, and this one kills and
//! restarts Redis processes and times writes (the cost of `WAIT`), which
//! the suite in `tests/it` running beside it would disturb.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use websession_core::store::{
    ChangeSet, IdHash, Record, RevocationStore, SessionId, SessionStore, StoreErrorKind,
};
use websession_core::testing::now;
use websession_core::{Map, Value};
use websession_redis::{RedisOptions, RedisStore};

/// Sessions per primary.
const PER_PRIMARY: usize = 4;
/// Writing before the kill.
const BEFORE_KILL: Duration = Duration::from_millis(1500);
/// Writing after every writer has recovered.
const AFTER_RECOVERY: Duration = Duration::from_millis(1000);
/// The kill to the first successful write on each of the killed primary's
/// sessions, at most.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);
/// The `WAIT` timeout of the opt-in.
const ACK_TIMEOUT: Duration = Duration::from_millis(500);

mod common;

/// The tests of this file share one cluster, and one of them kills its
/// nodes: they take turns.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn urls() -> Vec<String> {
    common::urls("REDIS_CLUSTER_REPLICA_URLS")
}

async fn store() -> RedisStore {
    store_with(RedisOptions::default()).await
}

async fn store_with(options: RedisOptions) -> RedisStore {
    common::cluster_store("REDIS_CLUSTER_REPLICA_URLS", options).await
}

async fn node(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    tokio::time::timeout(
        Duration::from_secs(1),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()
}

async fn info(url: &str, section: &str) -> Option<String> {
    let mut conn = node(url).await?;
    redis::cmd("INFO")
        .arg(section)
        .query_async::<String>(&mut conn)
        .await
        .ok()
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The primary (URL) that serves `key`: the live node that doesn't answer
/// `MOVED`.
async fn primary_of(key: &str) -> String {
    for url in urls() {
        if let Some(mut conn) = node(&url).await {
            if redis::cmd("EXISTS")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                .is_ok()
            {
                return url;
            }
        }
    }
    panic!("no node serves {key}")
}

fn record_key(id: &IdHash) -> String {
    format!("websession:{{{}}}", id.to_hex())
}

fn generation_key(user: &str) -> String {
    format!("websession:gen:{{{user}}}")
}

/// The deny-list bucket of `id`: named by the first hex digit of its hash.
fn bucket_key(id: &IdHash) -> String {
    let digit = id.to_hex().chars().next().expect("hex");
    format!("websession:denied:{{{digit}}}")
}

/// The replica (URL) of `primary`.
async fn replica_of(primary: &str) -> String {
    let repl = info(primary, "replication").await.expect("primary info");
    let port = field(&repl, "slave0")
        .and_then(|s| s.split(',').find_map(|kv| kv.strip_prefix("port=")))
        .expect("the primary has a replica")
        .to_owned();
    format!("redis://127.0.0.1:{port}")
}

/// A user whose generation key is on `primary`.
async fn user_on(primary: &str, tag: &str) -> String {
    loop {
        let user = format!("{tag}-{}", SessionId::generate().as_str());
        if primary_of(&generation_key(&user)).await == primary {
            return user;
        }
    }
}

/// The hex digits whose deny-list bucket is on `primary`.
async fn digits_on(primary: &str) -> Vec<char> {
    let mut digits = Vec::new();
    for digit in "0123456789abcdef".chars() {
        if primary_of(&format!("websession:denied:{{{digit}}}")).await == primary {
            digits.push(digit);
        }
    }
    assert!(!digits.is_empty(), "some deny-list bucket is on {primary}");
    digits
}

/// A fresh session id whose deny-list bucket is one of `digits`.
fn id_in(digits: &[char]) -> IdHash {
    loop {
        let id = SessionId::generate().hash();
        if id.to_hex().starts_with(digits) {
            return id;
        }
    }
}

/// Waits until every node answers, sees the cluster ok, and every replica
/// is linked to its primary and synced: three primaries, three replicas.
async fn wait_healthy(within: Duration) {
    let start = Instant::now();
    loop {
        let mut ok = true;
        let mut replicas = 0;
        for url in urls() {
            match (info(&url, "replication").await, node(&url).await) {
                (Some(repl), Some(mut conn)) => {
                    let cluster: String = redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    ok &= cluster.contains("cluster_state:ok");
                    if field(&repl, "role") == Some("slave")
                        && field(&repl, "master_link_status") == Some("up")
                        && field(&repl, "master_sync_in_progress") == Some("0")
                    {
                        replicas += 1;
                    }
                }
                _ => ok = false,
            }
        }
        if ok && replicas == 3 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "the cluster isn't back to 3 primaries + 3 synced replicas after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Writer {
    id: IdHash,
    primary: String,
}

#[derive(Default)]
struct Log {
    /// The last value the store acknowledged.
    acked: i64,
    ok: u64,
    /// When each failure happened, and its kind.
    errors: Vec<(Instant, StoreErrorKind)>,
    /// When each success happened (only the first after the kill matters).
    first_ok_after: Option<Instant>,
}

struct Outcome {
    writes_acked: u64,
    lost_writes: i64,
    sessions_lost: usize,
    failover: Duration,
    healthy: Duration,
    recovery: Duration,
    victim_errors: usize,
    /// Acknowledged revocations (denials, and generations lowered) that
    /// were gone after the failover.
    revocations_lost: usize,
    revocations_acked: usize,
}

/// What a revoker on one primary had acknowledged, and its failures.
#[derive(Default)]
struct Revoked {
    /// The last generation `bump_generation` returned `Ok` with.
    generation: u64,
    /// How many bumps returned `Ok`.
    bumps: usize,
    /// The ids `deny` returned `Ok` for.
    denied: Vec<IdHash>,
    errors: usize,
}

/// One kill under load; returns what the writers saw.
async fn kill_under_load(store: RedisStore, label: &str, needs_replica: bool) -> Outcome {
    let t = now();
    // PER_PRIMARY sessions on each primary.
    let mut writers: Vec<Writer> = Vec::new();
    let mut per: std::collections::HashMap<String, usize> = Default::default();
    while writers.len() < 3 * PER_PRIMARY {
        let id = SessionId::generate().hash();
        let primary = primary_of(&record_key(&id)).await;
        let n = per.entry(primary.clone()).or_default();
        if *n < PER_PRIMARY {
            *n += 1;
            store
                .create(&id, &Record::new(Map::new(), t, t + 600), t)
                .await
                .expect("create");
            writers.push(Writer { id, primary });
        }
    }
    let victim = writers[0].primary.clone();
    let replica = replica_of(&victim).await;
    let server = info(&victim, "server").await.expect("victim info");
    let pid = field(&server, "process_id").expect("pid").to_owned();
    let mut conn = node(&victim).await.expect("victim");
    let mut config = Vec::new();
    for name in [
        "port",
        "dir",
        "cluster-config-file",
        "cluster-node-timeout",
        "logfile",
        "pidfile",
    ] {
        let (_, value): (String, String) = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(&mut conn)
            .await
            .expect("config get");
        config.push((name, value));
    }
    drop(conn);

    let stop = Arc::new(AtomicBool::new(false));
    let killed_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let mut tasks = Vec::new();
    for w in &writers {
        let (store, id, stop, killed_at) = (
            store.clone(),
            w.id,
            Arc::clone(&stop),
            Arc::clone(&killed_at),
        );
        tasks.push(tokio::spawn(async move {
            let mut log = Log::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = now();
                let changes = ChangeSet::touch(t + 600).with_set("n", Value::Int(n));
                let result = store.update(&id, &changes, t).await;
                let at = Instant::now();
                match result {
                    Ok(()) => {
                        log.acked = n;
                        log.ok += 1;
                        let killed = *killed_at.lock().expect("lock");
                        if log.first_ok_after.is_none() && killed.is_some_and(|k| at > k) {
                            log.first_ok_after = Some(at);
                        }
                    }
                    Err(e) => log.errors.push((at, e.kind())),
                }
            }
            log
        }));
    }

    // A revoker per primary: a user whose generation is there, and ids
    // whose deny-list bucket is there.
    let mut primaries: Vec<String> = per.keys().cloned().collect();
    primaries.sort();
    let mut revokers = Vec::new();
    for primary in &primaries {
        let (user, digits) = (user_on(primary, label).await, digits_on(primary).await);
        let (revocations, stop) = (store.revocations(), Arc::clone(&stop));
        let task = tokio::spawn({
            let user = user.clone();
            async move {
                let mut revoked = Revoked::default();
                while !stop.load(Ordering::Relaxed) {
                    match revocations.bump_generation(&user).await {
                        Ok(generation) => {
                            revoked.generation = generation;
                            revoked.bumps += 1;
                        }
                        Err(_) => revoked.errors += 1,
                    }
                    let id = id_in(&digits);
                    match revocations.deny(&id, now() + 600).await {
                        Ok(()) => revoked.denied.push(id),
                        Err(_) => revoked.errors += 1,
                    }
                }
                revoked
            }
        });
        revokers.push((primary.clone(), user, task));
    }

    tokio::time::sleep(BEFORE_KILL).await;
    let status = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -9 {pid}");
    let kill = Instant::now();
    *killed_at.lock().expect("lock") = Some(kill);

    // The replica takes over; then the killed node comes back (it must not
    // before: with no persistence it would come back empty as the primary).
    loop {
        let role = info(&replica, "replication").await;
        if role.as_deref().and_then(|r| field(r, "role")) == Some("master") {
            break;
        }
        assert!(kill.elapsed() < RECOVERY_BOUND, "{label}: no failover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failover = kill.elapsed();
    let mut restart = std::process::Command::new("redis-server");
    restart.args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"]);
    restart.args(["--save", "", "--appendonly", "no", "--daemonize", "yes"]);
    for (name, value) in &config {
        restart.arg(format!("--{name}")).arg(value);
    }
    assert!(restart.status().expect("restart").success(), "restart");

    // The node rejoins as a replica; the writers go on (the recovery bound
    // is checked on their logs).
    wait_healthy(RECOVERY_BOUND).await;
    let healthy = kill.elapsed();
    tokio::time::sleep(AFTER_RECOVERY).await;
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for task in tasks {
        logs.push(task.await.expect("writer"));
    }

    let mut revoked = Vec::new();
    for (primary, user, task) in revokers {
        revoked.push((primary, user, task.await.expect("revoker")));
    }

    let mut outcome = Outcome {
        writes_acked: 0,
        lost_writes: 0,
        sessions_lost: 0,
        failover,
        healthy,
        recovery: Duration::ZERO,
        victim_errors: 0,
        revocations_lost: 0,
        revocations_acked: 0,
    };
    let revocations = store.revocations();
    for (primary, user, log) in &revoked {
        assert!(
            *primary == victim || log.errors == 0,
            "{label}: revocations on {primary} (not the killed {victim}) saw {} errors",
            log.errors
        );
        assert!(
            log.generation > 0 && !log.denied.is_empty(),
            "{label}: the revoker on {primary} got nothing acknowledged"
        );
        outcome.revocations_acked += log.bumps + log.denied.len();
        let stored = revocations.generation(user).await.expect("generation");
        let t = now();
        let mut lost = usize::from(stored < log.generation);
        for id in &log.denied {
            if !revocations.check(None, id, t).await.expect("check").denied {
                lost += 1;
            }
        }
        assert!(
            lost == 0 || *primary == victim,
            "{label}: lost revocations on a primary that wasn't killed"
        );
        outcome.revocations_lost += lost;
    }
    for (w, log) in writers.iter().zip(&logs) {
        outcome.writes_acked += log.ok;
        let on_victim = w.primary == victim;
        if on_victim {
            outcome.victim_errors += log.errors.len();
            let first = log.first_ok_after.unwrap_or_else(|| {
                panic!("{label}: a session of the killed primary never recovered")
            });
            outcome.recovery = outcome.recovery.max(first - kill);
        } else {
            assert!(
                log.errors.is_empty(),
                "{label}: a session on {} (not the killed {victim}) saw errors: {:?}",
                w.primary,
                log.errors.iter().map(|(_, k)| k).collect::<Vec<_>>()
            );
        }
        let t = now();
        let record = store
            .load(&w.id, t)
            .await
            .expect("load after failover")
            .expect("the session is there");
        let stored = match record.data.get("n").map(|v| v.to_value()) {
            Some(Value::Int(n)) => n,
            _ => 0,
        };
        if stored < log.acked {
            assert!(
                on_victim,
                "{label}: lost writes on a primary that wasn't killed"
            );
            outcome.lost_writes += log.acked - stored;
            outcome.sessions_lost += 1;
        }
    }
    // Without the ack, writes resume once the replica has taken over; with
    // it, once the new primary has a replica again (the killed node, back
    // and synced): `WAIT 1` can't succeed before.
    let bound = if needs_replica {
        outcome.healthy + RECOVERY_BOUND
    } else {
        RECOVERY_BOUND
    };
    assert!(
        outcome.recovery <= bound,
        "{label}: writing again took {:?} after the kill (bound {bound:?})",
        outcome.recovery
    );
    println!(
        "{label}: {} writes acknowledged on {} sessions; killed {victim} (pid {pid}), \
         its replica took over after {:.2?}, the killed node was back as a synced replica after {:.2?}; the killed primary's sessions: {} failed writes, \
         writing again {:.2?} after the kill; other sessions: no errors; \
         acknowledged writes lost: {} (on {} sessions); revocations: {} acknowledged \
         (generations and denials), {} lost",
        outcome.writes_acked,
        writers.len(),
        outcome.failover,
        outcome.healthy,
        outcome.victim_errors,
        outcome.recovery,
        outcome.lost_writes,
        outcome.sessions_lost,
        outcome.revocations_acked,
        outcome.revocations_lost
    );
    outcome
}

/// Mean and p99 of `ops` sequential updates of one session, and the
/// throughput of 16 writers doing `ops` updates between them.
async fn cost(store: &RedisStore, ops: usize) -> (Duration, Duration, f64) {
    let t = now();
    let id = SessionId::generate().hash();
    store
        .create(&id, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let changes = ChangeSet::touch(t + 600).with_set("n", Value::Int(i as i64));
        let start = Instant::now();
        store.update(&id, &changes, t).await.expect("update");
        times.push(start.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / ops as u32;
    let p99 = times[ops * 99 / 100];
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = SessionId::generate().hash();
            store
                .create(&id, &Record::new(Map::new(), t, t + 600), t)
                .await
                .expect("create");
            for i in 0..ops / 16 {
                let changes = ChangeSet::touch(t + 600).with_set("n", Value::Int(i as i64));
                store.update(&id, &changes, t).await.expect("update");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let rate = (ops / 16 * 16) as f64 / start.elapsed().as_secs_f64();
    (mean, p99, rate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis Cluster with replicas at REDIS_CLUSTER_REPLICA_URLS; kills a node"]
async fn cluster_failover_loses_no_acknowledged_write_with_replica_ack() {
    let _turn = CLUSTER.lock().await;
    wait_healthy(Duration::from_secs(30)).await;
    let plain = kill_under_load(store().await, "without WAIT", false).await;
    wait_healthy(Duration::from_secs(30)).await;
    let acked = kill_under_load(
        store_with(RedisOptions::default().with_replica_ack(1, ACK_TIMEOUT)).await,
        "with WAIT 1 500",
        true,
    )
    .await;
    assert_eq!(
        acked.lost_writes, 0,
        "with the replica ack, acknowledged writes were lost"
    );
    assert_eq!(
        acked.revocations_lost, 0,
        "with the replica ack, acknowledged revocations were undone"
    );
    let _ = (plain.lost_writes, plain.revocations_lost); // reported, not asserted: asynchronous replication may lose 0 or more
    wait_healthy(Duration::from_secs(30)).await;

    let ops = 2000;
    let (mean, p99, rate) = cost(&store().await, ops).await;
    let ack_store = store_with(RedisOptions::default().with_replica_ack(1, ACK_TIMEOUT)).await;
    let (ack_mean, ack_p99, ack_rate) = cost(&ack_store, ops).await;
    println!(
        "cost of WAIT ({ops} sequential updates, then {ops} by 16 writers): \
         without: mean {mean:.2?}, p99 {p99:.2?}, {rate:.0} updates/s; \
         with WAIT 1: mean {ack_mean:.2?}, p99 {ack_p99:.2?}, {ack_rate:.0} updates/s"
    );
}

/// The primaries of the cluster (URLs), each with its replica.
async fn primaries() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for url in urls() {
        let repl = info(&url, "replication").await.expect("info");
        if field(&repl, "role") == Some("master") {
            let replica = replica_of(&url).await;
            found.push((url, replica));
        }
    }
    assert_eq!(found.len(), 3, "three primaries");
    found
}

/// A connection that reads a replica's data (`READONLY`).
async fn replica_reader(url: &str) -> redis::aio::MultiplexedConnection {
    let mut conn = node(url).await.expect("replica");
    let () = redis::cmd("READONLY")
        .query_async(&mut conn)
        .await
        .expect("READONLY");
    conn
}

/// A revocation write waits for the replica as a session write does (issue
/// 25): with [`RedisOptions::with_replica_ack`]`(1, …)`, `bump_generation`
/// and `deny` return once the replica of their key's primary has them (it
/// is read there right after, on every primary); asking for more replicas
/// than a shard has fails them as [`StoreErrorKind::Unavailable`] (applied
/// on the primary all the same).
#[tokio::test]
#[ignore = "needs a Redis Cluster with replicas at REDIS_CLUSTER_REPLICA_URLS"]
async fn cluster_revocation_writes_wait_for_their_replica() {
    let _turn = CLUSTER.lock().await;
    wait_healthy(Duration::from_secs(30)).await;
    let plain = store().await.revocations();
    let acked = store_with(RedisOptions::default().with_replica_ack(1, ACK_TIMEOUT))
        .await
        .revocations();
    let too_many =
        store_with(RedisOptions::default().with_replica_ack(2, Duration::from_millis(50)))
            .await
            .revocations();
    for (primary, replica) in primaries().await {
        let mut on_replica = replica_reader(&replica).await;
        let user = user_on(&primary, "acked").await;
        let digits = digits_on(&primary).await;
        let until = now() + 600;

        assert_eq!(acked.bump_generation(&user).await.expect("bump"), 1);
        let generation: Option<u64> = redis::cmd("GET")
            .arg(generation_key(&user))
            .query_async(&mut on_replica)
            .await
            .expect("GET on the replica");
        assert_eq!(generation, Some(1), "the bump is on {replica}");
        let id = id_in(&digits);
        acked.deny(&id, until).await.expect("deny");
        let score: Option<u64> = redis::cmd("ZSCORE")
            .arg(bucket_key(&id))
            .arg(id.to_hex())
            .query_async(&mut on_replica)
            .await
            .expect("ZSCORE on the replica");
        assert_eq!(score, Some(until), "the denial is on {replica}");

        let e = too_many
            .bump_generation(&user)
            .await
            .expect_err("one replica");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
        assert!(
            format!("{e:?}").contains("acknowledged by 1 of 2 replicas"),
            "{e:?}"
        );
        assert_eq!(plain.generation(&user).await.expect("generation"), 2);
        let id = id_in(&digits);
        let e = too_many.deny(&id, until).await.expect_err("one replica");
        assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
        assert!(plain.check(None, &id, now()).await.expect("check").denied);
    }
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL"]
async fn replica_ack_without_replicas_fails_the_write_as_unavailable() {
    // A lone Redis has no replica: every write fails as Unavailable, and
    // (as documented) it was applied all the same.
    let url = common::env("REDIS_URL");
    let store = RedisStore::connect_with(
        &url,
        RedisOptions::default().with_replica_ack(1, Duration::from_millis(50)),
    )
    .await
    .expect("connect");
    let t = now();
    let id = SessionId::generate().hash();
    let e = store
        .create(&id, &Record::new(Map::new(), t, t + 60), t)
        .await
        .expect_err("no replica acknowledged");
    assert_eq!(e.kind(), StoreErrorKind::Unavailable);
    assert!(store.load(&id, t).await.expect("load").is_some());
    store
        .delete(&id)
        .await
        .expect_err("no replica acknowledged");
    assert!(store.load(&id, t).await.expect("load").is_none());
}
