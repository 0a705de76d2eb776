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
async fn migrate_is_idempotent_and_cleanup_runs() {
    let s = store().await;
    s.migrate().await.expect("second migrate");
    let task = s.spawn_cleanup(std::time::Duration::from_millis(10));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    task.abort();
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
