//! PostgresStore against a real server at `DATABASE_URL`
//! (`.ci/run` sets it; `cargo test` skips these).

use websession_core::store::conformance;
use websession_postgres::PostgresStore;

fn url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test")
}

async fn store() -> PostgresStore {
    let store = PostgresStore::connect(&url()).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test]
#[ignore = "needs PostgreSQL at DATABASE_URL"]
async fn postgres_store_conforms() {
    conformance::run(store).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL at DATABASE_URL"]
async fn migrate_is_idempotent_and_cleanup_deletes_expired_rows() {
    use websession_core::store::{Record, SessionId, SessionStore};
    let s = store().await;
    s.migrate().await.expect("second migrate");
    let now = websession_core::Clock::system().unix_seconds();
    let (dead, live) = (SessionId::generate().hash(), SessionId::generate().hash());
    let empty = websession_core::Map::new();
    s.create(
        &dead,
        &Record::new(empty.clone(), now - 100, now - 1),
        now - 100,
    )
    .await
    .expect("create");
    s.create(&live, &Record::new(empty, now, now + 3600), now)
        .await
        .expect("create");
    let task = s.spawn_cleanup(std::time::Duration::from_millis(20));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    task.abort();
    // Asked at a time when it was still live: None only if the task deleted the row.
    assert_eq!(
        s.load(&dead, now - 50).await.expect("load"),
        None,
        "the cleanup task deleted the expired row"
    );
    assert!(
        s.load(&live, now).await.expect("load").is_some(),
        "and kept the live one"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_hang() {
    let started = std::time::Instant::now();
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/test")
        .await
        .expect_err("nothing listens");
    assert_eq!(
        err.kind(),
        websession_core::store::StoreErrorKind::Unavailable,
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
