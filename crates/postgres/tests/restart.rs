//! PostgreSQL stopped and started again under load (`.ci/run` runs it with
//! `--include-ignored`; it needs root, `pg_ctlcluster` and the cluster at
//! `DATABASE_URL`).
//!
//! This file is its own test binary on purpose: cargo runs test binaries one
//! after another, but the tests inside one binary in parallel, so the
//! restart would break whatever `tests/it` runs at the same time.
//! Keep it the only test here.
//!
//! While PostgreSQL is down every call must fail with `Unavailable` (the
//! adapters' 503) within the store's timeout, never panic; once it is back
//! the same store object must serve again (its connections are replaced);
//! every write that returned `Ok` must be there afterwards. A guard starts
//! the cluster again if the test fails halfway.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use websession_core::store::{ChangeSet, IdHash, Record, SessionStore, StoreErrorKind};
use websession_core::testing::{id, now};
use websession_core::{Map, Value};
use websession_postgres::{PostgresOptions, PostgresStore};

/// The store's per-call timeout in this test; every call must end within it
/// (plus scheduling slack).
const TIMEOUT: Duration = Duration::from_secs(2);

fn url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test")
}

/// The cluster's version: its directory under /etc/postgresql.
fn version() -> String {
    let mut dirs: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql: this test drives the local cluster with pg_ctlcluster")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    dirs.sort();
    dirs.pop().expect("a cluster under /etc/postgresql")
}

fn pg_ctlcluster(action: &str) -> bool {
    Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version(), "main", action])
        .status()
        .is_ok_and(|s| s.success())
}

fn is_ready() -> bool {
    Command::new("pg_isready")
        .args(["-q", "-d", &url()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts the cluster again when dropped, whatever happened to the test.
struct Restarter;

impl Drop for Restarter {
    fn drop(&mut self) {
        if !is_ready() {
            pg_ctlcluster("start");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !is_ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What one writer saw.
#[derive(Default)]
struct Seen {
    /// Keys whose write returned `Ok`.
    acked: BTreeSet<String>,
    /// Calls that failed, with their kind and when.
    errors: Vec<(StoreErrorKind, Instant)>,
    /// The slowest call.
    slowest: Duration,
    /// Successful calls, and when the last one ended.
    ok: usize,
    last_ok: Option<Instant>,
}

async fn writer(store: PostgresStore, session: IdHash, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut i = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("w{i}");
        let t = now();
        let changes = ChangeSet::touch(t + 3600).with_set(key.clone(), Value::Int(i));
        let started = Instant::now();
        let result = match store.load(&session, t).await {
            Ok(Some(_)) => store.update(&session, &changes, t).await,
            Ok(None) => panic!("the session vanished"),
            Err(e) => Err(e),
        };
        seen.slowest = seen.slowest.max(started.elapsed());
        match result {
            Ok(()) => {
                seen.acked.insert(key);
                seen.ok += 1;
                seen.last_ok = Some(Instant::now());
            }
            Err(e) => seen.errors.push((e.kind(), Instant::now())),
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL at DATABASE_URL, root and pg_ctlcluster; stops the cluster"]
async fn a_restart_gives_unavailable_then_recovers_without_losing_acknowledged_writes() {
    let _restarter = Restarter;
    let store = PostgresStore::connect_with(
        &url(),
        PostgresOptions::default().with_response_timeout(TIMEOUT),
    )
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    let t = now();
    let sessions: Vec<IdHash> = (0..8).map(|_| id()).collect();
    for s in &sessions {
        store
            .create(s, &Record::new(Map::new(), t, t + 3600), t)
            .await
            .expect("create");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = sessions
        .iter()
        .map(|s| tokio::spawn(writer(store.clone(), *s, stop.clone())))
        .collect();

    tokio::time::sleep(Duration::from_millis(800)).await;
    let stopped = tokio::task::spawn_blocking(|| pg_ctlcluster("stop"))
        .await
        .expect("join");
    assert!(stopped, "pg_ctlcluster stop");
    let down_at = Instant::now();
    // Down: a call fails with Unavailable, in time.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let probe_started = Instant::now();
    let probe = store.load(&sessions[0], now()).await;
    let probe_took = probe_started.elapsed();
    let up_from = Instant::now();
    let started = tokio::task::spawn_blocking(|| pg_ctlcluster("start"))
        .await
        .expect("join");
    assert!(started, "pg_ctlcluster start");
    let up_at = Instant::now();
    // Up again: the writers go on with the same store for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for w in writers {
        seen.push(w.await.expect("a writer panicked"));
    }

    let probe_err = probe.expect_err("a load while PostgreSQL is stopped fails");
    assert_eq!(
        probe_err.kind(),
        StoreErrorKind::Unavailable,
        "{probe_err:?}"
    );
    assert!(
        probe_took < TIMEOUT + Duration::from_secs(1),
        "{probe_took:?}"
    );
    let errors: Vec<_> = seen.iter().flat_map(|s| &s.errors).collect();
    assert!(
        errors.iter().any(|(_, at)| *at > down_at && *at < up_from),
        "the writers saw the outage"
    );
    for (kind, _) in &errors {
        assert_eq!(*kind, StoreErrorKind::Unavailable, "every failure is a 503");
    }
    for s in &seen {
        assert!(
            s.slowest < 2 * TIMEOUT + Duration::from_secs(1),
            "a load and an update each end within the timeout: {:?}",
            s.slowest
        );
        assert!(
            s.last_ok.is_some_and(|t| t > up_at),
            "every writer was served again after the restart, by the same store \
             ({} calls ok, {} failed)",
            s.ok,
            s.errors.len()
        );
    }
    // Nothing acknowledged is lost.
    let errors_total = errors.len();
    let mut acked_total = 0;
    for (session, s) in sessions.iter().zip(&seen) {
        let record = store
            .load(session, now())
            .await
            .expect("load after the restart")
            .expect("the session survived");
        for key in &s.acked {
            assert!(
                record.data.contains_key(key),
                "acknowledged write {key} lost"
            );
        }
        acked_total += s.acked.len();
        store.delete(session).await.expect("delete");
    }
    eprintln!(
        "restart: {acked_total} writes acknowledged and kept, {errors_total} calls failed \
         with Unavailable while down (probe {probe_took:?}); down {:?}, start took {:?}",
        up_from - down_at,
        up_at - up_from
    );
}
