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
