//! SqliteStore: the conformance suite, cleanup, and two processes' worth of
//! pools writing one file at once; the faults it survives in [`faults`].
//! The crate's one test binary.

mod faults;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use websession_core::store::{
    conformance, ChangeSet, ExpiredDeletion, IdHash, Record, RevocationStore, SessionId,
    SessionStore, StoreErrorKind,
};
use websession_core::testing::{map as data, now};
use websession_core::{Map, Value};
use websession_sqlite::{SqliteOptions, SqliteStore, TablePrefix};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("websession-sqlite-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("sessions.db")
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let path = temp_db("conformance");
    conformance::run(|| {
        let path = path.clone();
        async move {
            SqliteStore::connect(path.to_str().expect("utf8"))
                .await
                .expect("open")
        }
    })
    .await;
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    conformance::run_expired_deletion(&store).await;
}

/// The same suite with every load on a reader thread (direct reads off).
#[tokio::test]
async fn sqlite_store_conforms_with_reader_threads_only() {
    let path = temp_db("conformance-readers");
    conformance::run(|| {
        let path = path.clone();
        async move {
            SqliteStore::connect_with(
                path.to_str().expect("utf8"),
                SqliteOptions::default().with_direct_reads(false),
            )
            .await
            .expect("open")
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_revocations_conform() {
    let path = temp_db("revocations");
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    conformance::run_revocations(store.revocations()).await;
    // Reads on reader threads only.
    let threads = SqliteStore::connect_with(
        path.to_str().expect("utf8"),
        SqliteOptions::default().with_direct_reads(false),
    )
    .await
    .expect("open");
    conformance::run_revocations(threads.revocations()).await;
}

/// What one process revokes, another process on the same file sees; a
/// store with another prefix keeps its own revocations.
#[tokio::test]
async fn revocations_are_shared_through_the_file_and_kept_per_prefix() {
    let path = temp_db("revocations-shared");
    let url = path.to_str().expect("utf8");
    let (a, b) = (
        SqliteStore::connect(url).await.expect("open a"),
        SqliteStore::connect(url).await.expect("open b"),
    );
    let auth = SqliteStore::connect_with(
        url,
        SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_").expect("ok")),
    )
    .await
    .expect("open auth_");
    let (ra, rb, rauth) = (a.revocations(), b.revocations(), auth.revocations());
    let id = SessionId::generate().hash();
    let t = now();
    assert_eq!(ra.bump_generation("alice").await.expect("bump"), 1);
    ra.deny(&id, t + 60).await.expect("deny");
    let seen = rb.check(Some("alice"), &id, t).await.expect("check");
    assert_eq!((seen.generation, seen.denied), (Some(1), true));
    assert_eq!(rb.bump_generation("alice").await.expect("bump"), 2);
    assert_eq!(ra.generation("alice").await.expect("generation"), 2);
    let other = rauth.check(Some("alice"), &id, t).await.expect("check");
    assert_eq!((other.generation, other.denied), (Some(0), false));

    let raw = rusqlite::Connection::open(&path).expect("raw connection");
    let generation: i64 = raw
        .query_row(
            "SELECT generation FROM websession_generations WHERE user_id = 'alice'",
            [],
            |row| row.get(0),
        )
        .expect("generation row");
    assert_eq!(generation, 2);
    let until: i64 = raw
        .query_row(
            "SELECT until FROM websession_denied WHERE id = ?",
            [id.as_bytes()],
            |row| row.get(0),
        )
        .expect("denied row");
    assert_eq!(until, i64::try_from(t + 60).expect("fits"));
    rauth.bump_generation("bob").await.expect("bump");
    let prefixed: i64 = raw
        .query_row("SELECT count(*) FROM auth_generations", [], |row| {
            row.get(0)
        })
        .expect("count");
    assert_eq!(prefixed, 1);
    assert_eq!(ra.delete_expired_denials(t + 60).await.expect("delete"), 1);
    assert!(!rb.check(None, &id, t).await.expect("check").denied);
}

/// The same suite on tables with another prefix.
#[tokio::test]
async fn sqlite_store_conforms_with_a_table_prefix() {
    let path = temp_db("conformance-prefix");
    let options = || {
        SqliteOptions::default().with_table_prefix(TablePrefix::new("Auth_").expect("valid prefix"))
    };
    conformance::run(|| {
        let path = path.clone();
        async move {
            SqliteStore::connect_with(path.to_str().expect("utf8"), options())
                .await
                .expect("open")
        }
    })
    .await;
    let store = SqliteStore::connect_with(path.to_str().expect("utf8"), options())
        .await
        .expect("open");
    conformance::run_expired_deletion(&store).await;
}

/// Two stores with different prefixes share one file without seeing each
/// other's sessions, and the tables are the ones `schema_sql` names.
#[tokio::test]
async fn two_prefixes_share_a_file_and_keep_apart() {
    let path = temp_db("two-prefixes");
    let url = path.to_str().expect("utf8");
    let auth = SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_").expect("ok"));
    let a = SqliteStore::connect_with(url, auth.clone())
        .await
        .expect("open auth_");
    let b = SqliteStore::connect(url).await.expect("open default");
    let id = SessionId::generate().hash();
    let record = Record::new(data(&[("who", Value::from("a"))]), now(), now() + 3600);
    a.create(&id, &record, now())
        .await
        .expect("create in auth_");
    assert_eq!(
        a.load(&id, now()).await.expect("load"),
        Some(record.clone())
    );
    assert_eq!(b.load(&id, now()).await.expect("load"), None);
    // The same id is free in the other tables.
    b.create(&id, &record, now())
        .await
        .expect("create in websession_");
    a.delete(&id).await.expect("delete");
    assert_eq!(a.load(&id, now()).await.expect("load"), None);
    assert_eq!(b.load(&id, now()).await.expect("load"), Some(record));

    let raw = raw_connection(&path);
    let mut tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    tables.sort();
    assert_eq!(
        tables,
        [
            "auth_denied",
            "auth_generations",
            "auth_sessions",
            "auth_values",
            "websession_denied",
            "websession_generations",
            "websession_sessions",
            "websession_values"
        ]
    );
    // What schema_sql gives is what the store created: running it again
    // changes nothing (idempotent), on a fresh file it makes the same tables.
    raw.execute_batch(&SqliteStore::schema_sql(&auth))
        .expect("idempotent");
    let sessions: i64 = raw
        .query_row("SELECT count(*) FROM auth_sessions", [], |row| row.get(0))
        .expect("count");
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let path = temp_db("restart");
    let id = SessionId::generate().hash();
    let t = now();
    {
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open");
        let mut data = Map::new();
        data.insert("pet_name".into(), Value::from("Rex"));
        store
            .create(&id, &Record::new(data, t, t + 60), t)
            .await
            .expect("create");
    }
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("reopen");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        loaded.data.get("pet_name").map(|v| v.to_value()),
        Some(Value::from("Rex")),
    );
}

#[tokio::test]
async fn cleanup_deletes_only_expired_rows_and_stops_when_aborted() {
    let path = temp_db("cleanup");
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    let t = now();
    let (live, dead) = (SessionId::generate().hash(), SessionId::generate().hash());
    store
        .create(&live, &Record::new(Map::new(), t, t + 3600), t)
        .await
        .expect("create");
    store
        .create(&dead, &Record::new(Map::new(), t - 100, t - 1), t - 100)
        .await
        .expect("create");
    let task = store.spawn_cleanup(Duration::from_millis(20));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        store.delete_expired(t).await.expect("count"),
        0,
        "the task already deleted it"
    );
    assert!(store.load(&live, t).await.expect("load").is_some());
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());
}

#[tokio::test]
async fn two_pools_on_one_file_write_without_lock_errors() {
    let path = temp_db("contention");
    let a = Arc::new(
        SqliteStore::connect(path.to_str().expect("utf8"))
            .await
            .expect("a"),
    );
    let b = Arc::new(
        SqliteStore::connect(path.to_str().expect("utf8"))
            .await
            .expect("b"),
    );
    let t = now();
    let id = SessionId::generate().hash();
    a.create(&id, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let changes = ChangeSet::touch(t + 600).with_set(format!("k{i}"), Value::Int(i));
            store.update(&id, &changes, t).await
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("no lock error under contention");
    }
    assert_eq!(
        a.load(&id, t)
            .await
            .expect("load")
            .expect("live")
            .data
            .len(),
        200
    );
}

/// A connection of the test's own on the store's file (another client than
/// the store's), waiting for the store's locks as the store waits for its.
fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    let raw = rusqlite::Connection::open(path).expect("raw connection");
    raw.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    raw
}

/// A store on a fresh file, and a raw connection on the same file for the
/// test's own SQL (triggers, row counts).
async fn store_and_raw(name: &str) -> (SqliteStore, rusqlite::Connection) {
    let path = temp_db(name);
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .expect("open");
    (store, raw_connection(&path))
}

fn value_rows(raw: &rusqlite::Connection, id: &IdHash) -> i64 {
    raw.query_row(
        "SELECT count(*) FROM websession_values WHERE id = ?",
        [id.as_bytes()],
        |row| row.get(0),
    )
    .expect("count")
}

/// The move is done before the values are written; a value the database
/// refuses after that must roll the move back too.
#[tokio::test]
async fn a_cycle_whose_change_set_is_refused_leaves_the_old_record_untouched() {
    let (store, raw) = store_and_raw("cycle-refused").await;
    raw.execute_batch(
        "CREATE TRIGGER refuse_key BEFORE INSERT ON websession_values
         WHEN NEW.key = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .expect("trigger");
    let t = now();
    let (old, new) = (SessionId::generate().hash(), SessionId::generate().hash());
    let record = Record::new(
        data(&[("a", Value::Int(1)), ("b", Value::from("x"))]),
        t,
        t + 600,
    )
    .with_user(Some("alice".into()));
    store.create(&old, &record, t).await.expect("create");
    let changes = ChangeSet::touch(t + 900)
        .with_removed("a")
        .with_set("c", Value::Int(3))
        .with_set("refused", Value::Int(4))
        .with_user(Some("bob".into()));
    let err = store
        .cycle_id(&old, &new, &changes, t)
        .await
        .expect_err("the trigger refuses the change set");
    assert_eq!(err.kind(), StoreErrorKind::Backend, "{err:?}");
    assert_eq!(
        store.load(&old, t).await.expect("load"),
        Some(record),
        "the old id is live and holds exactly what it held"
    );
    assert_eq!(store.load(&new, t).await.expect("load"), None);
    assert_eq!(value_rows(&raw, &new), 0, "no stray values under new");
    assert_eq!(
        store.delete_all_for("bob").await.expect("delete_all_for"),
        0,
        "the user change was rolled back too"
    );
    // The same store cycles fine once the change set is acceptable.
    store
        .cycle_id(&old, &new, &ChangeSet::touch(t + 900), t)
        .await
        .expect("cycle");
    assert!(store.load(&new, t).await.expect("load").is_some());
}

/// SQLite binds text with its length, so NUL is an ordinary character in
/// keys, values and user ids: no truncation, no collision with the prefix.
#[tokio::test]
async fn nul_round_trips_in_keys_values_and_user_ids() {
    let (store, _raw) = store_and_raw("nul").await;
    let t = now();
    let nested = Value::List(vec![
        Value::from("a\0b"),
        Value::Dict(data(&[("k\0", Value::from("\0"))])),
        Value::Tuple(vec![Value::Markup("<b>\0</b>".into())]),
        Value::Utf16(vec![0, 0xd800, 0]),
    ]);
    let record = Record::new(
        data(&[("key\0nul", Value::Int(1)), ("key", nested.clone())]),
        t,
        t + 600,
    )
    .with_user(Some("user\0nul".into()));
    let (id, prefix_user) = (SessionId::generate().hash(), SessionId::generate().hash());
    store.create(&id, &record, t).await.expect("create");
    store
        .create(
            &prefix_user,
            &Record::new(Map::new(), t, t + 600).with_user(Some("user".into())),
            t,
        )
        .await
        .expect("create");
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        Some(record.clone())
    );

    let changes = ChangeSet::touch(t + 600)
        .with_set("\0", Value::from("\0"))
        .with_removed("key\0nul")
        .with_user(Some("\0".into()));
    store.update(&id, &changes, t).await.expect("update");
    let mut expected = record.clone();
    expected.apply(&changes);
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        Some(expected.clone())
    );

    let new = SessionId::generate().hash();
    let changes = ChangeSet::touch(t + 600)
        .with_set("\0\0", nested)
        .with_user(Some("user\0nul".into()));
    store.cycle_id(&id, &new, &changes, t).await.expect("cycle");
    expected.apply(&changes);
    assert_eq!(store.load(&new, t).await.expect("load"), Some(expected));

    assert_eq!(
        store.delete_all_for("user\0nul").await.expect("delete"),
        1,
        "the NUL user id matches itself only"
    );
    assert!(
        store.load(&prefix_user, t).await.expect("load").is_some(),
        "a user id equal to the part before the NUL is a different user"
    );
}

/// Found in review: a row of the wrong type made `load` panic (sqlx's
/// `Row::get`); corrupt data is `Corrupt`, never a panic or an outage.
#[tokio::test]
async fn rows_of_the_wrong_type_are_corrupt_not_a_panic() {
    let (store, raw) = store_and_raw("corrupt-types").await;
    let t = now();
    for (column, value) in [("value", "X'00FF'"), ("key", "X'FF'")] {
        let id = SessionId::generate().hash();
        store
            .create(
                &id,
                &Record::new(data(&[("a", Value::Int(1))]), t, t + 600),
                t,
            )
            .await
            .expect("create");
        raw.execute(
            &format!("UPDATE websession_values SET {column} = {value} WHERE id = ?"),
            [id.as_bytes()],
        )
        .expect("corrupt it");
        let err = store.load(&id, t).await.expect_err("corrupt");
        assert_eq!(err.kind(), StoreErrorKind::Corrupt, "{column}");
    }
    let id = SessionId::generate().hash();
    store
        .create(&id, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    raw.execute(
        "UPDATE websession_sessions SET user_id = X'FF00' WHERE id = ?",
        [id.as_bytes()],
    )
    .expect("corrupt it");
    let err = store.load(&id, t).await.expect_err("corrupt");
    assert_eq!(err.kind(), StoreErrorKind::Corrupt, "user_id");
}
