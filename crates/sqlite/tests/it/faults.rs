//! Faults the SQLite store survives (issue 15): the file's write lock held by
//! another connection, and a full disk (a small `max_page_count`). Each gives
//! a typed error (Unavailable: the adapters answer 503) in bounded time,
//! leaves the file intact, and the store recovers without a restart once the
//! cause is gone. And (issue 25, module `crash`) a writing process killed
//! with SIGKILL, again and again: the file stays intact and no answered
//! write is lost.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use websession_core::store::{
    ChangeSet, Record, RevocationStore, SessionId, SessionStore, StoreErrorKind,
};
use websession_core::testing::{map as data, now};
use websession_core::Value;
use websession_sqlite::{SqliteOptions, SqliteStore};

mod crash;

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "websession-sqlite-faults-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("sessions.db")
}

/// Another connection on the file, as another process would hold one.
fn other_connection(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("other connection");
    conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
    conn
}

fn integrity_ok(path: &Path) {
    let conn = other_connection(path);
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(result, "ok", "the database file is intact");
}

#[tokio::test]
async fn a_write_lock_held_elsewhere_is_unavailable_in_bounded_time_then_recovers() {
    let path = temp_db("locked");
    let timeout = Duration::from_millis(300);
    let store = SqliteStore::connect_with(
        path.to_str().expect("utf8"),
        SqliteOptions::default().with_busy_timeout(timeout),
    )
    .await
    .expect("open");
    let t = now();
    let id = SessionId::generate().hash();
    let record = Record::new(data(&[("pet", Value::from("Rex"))]), t, t + 600);
    store.create(&id, &record, t).await.expect("create");

    let other = other_connection(&path);
    other.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    other
        .execute(
            "UPDATE websession_sessions SET expires_at = expires_at WHERE id = ?1",
            [id.as_bytes()],
        )
        .expect("hold the write lock");

    // Several writes at once (they share a batch or queue behind one): each
    // fails, typed, within about the busy timeout.
    let started = Instant::now();
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let changes = ChangeSet::touch(t + 600).with_set("pet", Value::Int(i));
                store.update(&id, &changes, t).await
            })
        })
        .collect();
    let created = SessionId::generate().hash();
    let create = store.create(&created, &record, t).await;
    for write in writes {
        let err = write
            .await
            .expect("task")
            .expect_err("the write lock is held");
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    }
    let err = create.expect_err("the write lock is held");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    let waited = started.elapsed();
    assert!(
        waited < timeout * 4,
        "failed in bounded time ({waited:?} for a {timeout:?} busy timeout)"
    );
    let revocations = store.revocations();
    let err = revocations
        .bump_generation("alice")
        .await
        .expect_err("the write lock is held");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    // WAL: reads go on while another connection writes.
    assert_eq!(
        store.load(&id, t).await.expect("load while locked"),
        Some(record.clone())
    );
    let verdict = revocations
        .check(Some("alice"), &id, t)
        .await
        .expect("check while locked");
    assert_eq!((verdict.generation, verdict.denied), (Some(0), false));

    other.execute_batch("ROLLBACK").expect("release");
    drop(other);
    let changes = ChangeSet::touch(t + 900).with_set("pet", Value::from("Fido"));
    store.update(&id, &changes, t).await.expect("recovered");
    store.create(&created, &record, t).await.expect("recovered");
    let mut expected = record.clone();
    expected.apply(&changes);
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        Some(expected),
        "the failed writes left nothing behind; the later one is there"
    );
    assert_eq!(store.load(&created, t).await.expect("load"), Some(record));
    assert_eq!(
        revocations
            .bump_generation("alice")
            .await
            .expect("recovered"),
        1,
        "the failed bump left nothing behind"
    );
    integrity_ok(&path);
}

/// Another process writing the file with a short transaction only delays
/// the store's writes: nothing fails while the lock comes free in time.
#[tokio::test]
async fn a_short_lock_elsewhere_only_delays_writes() {
    let path = temp_db("short-lock");
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    let t = now();
    let id = SessionId::generate().hash();
    store
        .create(
            &id,
            &Record::new(websession_core::Map::new(), t, t + 600),
            t,
        )
        .await
        .expect("create");
    let other = other_connection(&path);
    other.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        other.execute_batch("COMMIT").expect("release");
    });
    let changes = ChangeSet::touch(t + 600).with_set("k", Value::Int(1));
    store
        .update(&id, &changes, t)
        .await
        .expect("waits for the lock, then writes");
    release.join().expect("thread");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        loaded.data.get("k").map(|v| v.to_value()),
        Some(Value::Int(1)),
    );
}

#[tokio::test]
async fn a_full_disk_is_unavailable_without_corruption_then_recovers() {
    let path = temp_db("full");
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    let t = now();
    let big = "x".repeat(2000);
    let mut earlier = Vec::new();
    for i in 0..20 {
        let id = SessionId::generate().hash();
        let record = Record::new(
            data(&[("i", Value::Int(i)), ("big", Value::from(big.as_str()))]),
            t,
            t + 600,
        );
        store.create(&id, &record, t).await.expect("create");
        earlier.push((id, record));
    }

    // The "disk" is full: no page beyond those in use.
    let limit = store.set_max_size(Some(0)).await.expect("limit");
    assert!(limit > 0, "SQLite keeps the pages in use: {limit}");
    let mut failed = None;
    let mut written = Vec::new();
    for i in 0..200 {
        let id = SessionId::generate().hash();
        let record = Record::new(data(&[("big", Value::from(big.as_str()))]), t, t + 600);
        // Concurrent writes too, so some fail inside a shared batch.
        let changes =
            ChangeSet::touch(t + 600).with_set(format!("k{i}"), Value::from(big.as_str()));
        let (a, b) = tokio::join!(
            store.create(&id, &record, t),
            store.update(&earlier[0].0, &changes, t)
        );
        match (a, b) {
            (Ok(()), Ok(())) => written.push((id, record)),
            (a, b) => {
                failed = Some((a.err(), b.err()));
                break;
            }
        }
    }
    let (a, b) = failed.expect("the database filled up");
    for err in a.into_iter().chain(b) {
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
    }
    integrity_ok(&path);
    for (id, record) in earlier.iter().skip(1).chain(&written) {
        assert_eq!(
            store.load(id, t).await.expect("load").as_ref(),
            Some(record),
            "earlier sessions are intact"
        );
    }

    // Room again: writes succeed without a restart.
    store.set_max_size(None).await.expect("lift the limit");
    let id = SessionId::generate().hash();
    let record = Record::new(data(&[("big", Value::from(big.as_str()))]), t, t + 600);
    store.create(&id, &record, t).await.expect("recovered");
    assert_eq!(store.load(&id, t).await.expect("load"), Some(record));
    store
        .update(
            &earlier[1].0,
            &ChangeSet::touch(t + 600).with_set("after", Value::Int(1)),
            t,
        )
        .await
        .expect("recovered");
    integrity_ok(&path);
}
