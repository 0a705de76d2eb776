//! The conformance suite over `MemoryStore`.

#[tokio::test]
async fn memory_store_conforms() {
    websession_core::store::conformance::run(|| async {
        websession_core::store::MemoryStore::new()
    })
    .await;
    websession_core::store::conformance::run_expired_deletion(
        &websession_core::store::MemoryStore::new(),
    )
    .await;
}

/// The suite again with the racing checks' tasks on two threads: a
/// `MemoryStore` call never yields, so on one thread no two of them overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms_on_two_threads() {
    websession_core::store::conformance::run(|| async {
        websession_core::store::MemoryStore::new()
    })
    .await;
}
