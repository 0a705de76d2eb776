//! SqliteStore: the conformance suite, cleanup, and two processes' worth of
//! pools writing one file at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use websession_core::store::{conformance, ChangeSet, Record, SessionId, SessionStore};
use websession_core::{Map, Value};
use websession_sqlite::SqliteStore;

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("websession-sqlite-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("sessions.db")
}

fn now() -> u64 {
    websession_core::Clock::system().unix_seconds()
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let path = temp_db("conformance");
    conformance::run(|| {
        let path = path.clone();
        async move {
            SqliteStore::open(path.to_str().expect("utf8"))
                .await
                .expect("open")
        }
    })
    .await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let path = temp_db("restart");
    let id = SessionId::generate().hash();
    let t = now();
    {
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("open");
        let mut data = Map::new();
        data.insert("pet_name".into(), Value::from("Rex"));
        store
            .create(&id, &Record::new(data, t, t + 60), t)
            .await
            .expect("create");
    }
    let store = SqliteStore::open(path.to_str().expect("utf8"))
        .await
        .expect("reopen");
    assert_eq!(
        store.load(&id, t).await.expect("load").expect("live").data["pet_name"],
        Value::from("Rex")
    );
}

#[tokio::test]
async fn cleanup_deletes_only_expired_rows_and_stops_when_aborted() {
    let path = temp_db("cleanup");
    let store = SqliteStore::open(path.to_str().expect("utf8"))
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
        SqliteStore::open(path.to_str().expect("utf8"))
            .await
            .expect("a"),
    );
    let b = Arc::new(
        SqliteStore::open(path.to_str().expect("utf8"))
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
