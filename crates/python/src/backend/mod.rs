//! Where the bridges' records live: Redis keys and SQL rows.
//!
//! The SQL backends, for the product modules (`flask_session`, `django`):
//!
//! - [`SqlLayout`] describes a product's table once:
//!   `SqlLayout::flask_session(table)` (Flask-SQLAlchemy's `sessions`:
//!   `id` serial, `session_id` unique, `data` bytes, `expiry` naive UTC) and
//!   `SqlLayout::django(table)` (`django_session`: `session_key` primary
//!   key, `session_data` text, `expire_date` timestamptz / naive UTC text).
//!   Both check the table name (identifier characters only) and return
//!   [`InvalidTableName`] otherwise. `postgres_schema()` / `sqlite_schema()`
//!   give the product's own `CREATE TABLE` (and indexes).
//! - `PgBackend::connect(url, layout, create_missing).await` (PostgreSQL,
//!   a pool of up to 16 connections, `NoTls`) and
//!   `SqliteBackend::open(path, layout, create_missing).await` (one
//!   connection on tokio's blocking pool; the file's journal mode is left
//!   as the Python app set it) are [`Backend`]s: put one in
//!   `Bridge { backend: Box::new(..), .. }`. With `create_missing` the
//!   table is made when it isn't there (as Flask-Session does at start-up);
//!   without, a missing table is an error at connect.
//!
//! Both keep the [`Backend`] contract: only rows with `expiry > now` are
//! seen; `insert` replaces an expired row and is `Collision` on a live one;
//! `replace` and `replace_moving` compare the stored bytes (the latter in
//! one transaction). A lost server is [`StoreErrorKind::Unavailable`]; a
//! row of the wrong type (text where bytes belong, a time that isn't one)
//! is [`StoreErrorKind::Corrupt`], which `Bridge::load` turns into an empty
//! session, never a panic.
//!
//! [`Backend`]: crate::bridge::Backend
//! [`StoreErrorKind::Unavailable`]: websession_core::store::StoreErrorKind::Unavailable
//! [`StoreErrorKind::Corrupt`]: websession_core::store::StoreErrorKind::Corrupt

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "redis")]
pub(crate) mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

#[cfg(feature = "postgres")]
pub(crate) use postgres::PgBackend;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) use sql::SqlLayout;
#[cfg(feature = "sqlite")]
pub(crate) use sqlite::SqliteBackend;

#[cfg(all(test, any(feature = "postgres", feature = "sqlite")))]
mod tests {
    //! The SQL backends under websession's whole conformance suite, with a
    //! test format that keeps every value kind (tagged JSON); the product
    //! formats run in `tests/it.rs`.

    use websession_core::store::conformance;
    use websession_core::store::{IdFormat, IdHash, SessionId, StoreError, StoreErrorKind};
    use websession_core::{Map, Value};

    use super::*;
    use crate::bridge::{bridge_store, Bridge, RecordFormat};

    /// Tagged JSON records under Django-shaped ids (32 characters
    /// `[a-z0-9]`, the key their own bytes), so the keys fit both tables.
    struct TaggedJson;

    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

    impl IdFormat for TaggedJson {
        fn generate(&self) -> SessionId {
            let mut bytes = [0_u8; 32];
            getrandom::fill(&mut bytes).expect("random");
            let text = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            SessionId::from_checked(text)
        }
        fn parse(&self, cookie: &str) -> Option<SessionId> {
            (cookie.len() == 32 && cookie.bytes().all(|b| ALPHABET.contains(&b)))
                .then(|| SessionId::from_checked(cookie.to_owned()))
        }
        fn key(&self, id: &SessionId) -> IdHash {
            IdHash::from_bytes(id.as_str().as_bytes()).expect("32 bytes")
        }
    }

    impl RecordFormat for TaggedJson {
        fn backend_key(&self, id: &IdHash) -> String {
            String::from_utf8_lossy(id.as_bytes()).into_owned()
        }
        fn id_of_key(&self, key: &str) -> Option<IdHash> {
            IdHash::from_bytes(key.as_bytes())
        }
        fn encode(&self, data: &Map, _now: u64) -> Result<Vec<u8>, StoreError> {
            Ok(Value::Dict(data.clone()).to_tagged_json().into_bytes())
        }
        fn decode(&self, bytes: &[u8]) -> Result<Map, StoreError> {
            match std::str::from_utf8(bytes).map(Value::from_tagged_json) {
                Ok(Ok(Value::Dict(map))) => Ok(map),
                _ => Err(StoreError::from_kind(StoreErrorKind::Corrupt)),
            }
        }
    }

    struct TestStore(Bridge<TaggedJson>);
    bridge_store!(TestStore);

    fn store(backend: impl crate::bridge::Backend) -> TestStore {
        TestStore(Bridge {
            backend: Box::new(backend),
            format: TaggedJson,
            seen: crate::bridge::Seen::default(),
            name: "test",
        })
    }

    fn random_suffix() -> String {
        SessionId::generate().hash().to_hex()[..12].to_owned()
    }

    #[cfg(feature = "sqlite")]
    mod sqlite {
        use super::*;

        /// A scratch database file, deleted on drop.
        pub(super) struct TempDb(pub(super) std::path::PathBuf);

        impl TempDb {
            pub(super) fn new() -> Self {
                Self(std::env::temp_dir().join(format!("websession-python-{}.db", random_suffix())))
            }
        }

        impl Drop for TempDb {
            fn drop(&mut self) {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
                }
            }
        }

        async fn conformance_of(layout: fn() -> SqlLayout) {
            let db = TempDb::new();
            let path = db.0.clone();
            conformance::run(|| {
                let path = path.clone();
                async move {
                    store(
                        SqliteBackend::open(&path, layout(), true)
                            .await
                            .expect("open"),
                    )
                }
            })
            .await;
            conformance::run_expired_deletion(&store(
                SqliteBackend::open(&path, layout(), true)
                    .await
                    .expect("open"),
            ))
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn flask_session_layout_conforms() {
            conformance_of(|| SqlLayout::flask_session("sessions").expect("valid")).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn django_layout_conforms() {
            conformance_of(|| SqlLayout::django("django_session").expect("valid")).await;
        }

        /// Two processes on one file: the second's update guesses the bytes
        /// it loaded, which the first has changed since; the compare fails,
        /// it reads again, and both changes are kept.
        #[tokio::test]
        async fn an_update_after_another_process_wrote_keeps_both_changes() {
            use websession_core::store::{ChangeSet, Record, SessionStore};
            let db = TempDb::new();
            let layout = || SqlLayout::flask_session("sessions").expect("valid");
            let one = store(
                SqliteBackend::open(&db.0, layout(), true)
                    .await
                    .expect("open"),
            );
            let two = store(
                SqliteBackend::open(&db.0, layout(), true)
                    .await
                    .expect("open"),
            );
            let id = SessionId::generate().hash();
            let record = Record::new(Map::new(), 100, 1_000);
            one.create(&id, &record, 100).await.expect("create");
            assert!(two.load(&id, 101).await.expect("load").is_some());
            let set = |k: &str| ChangeSet::touch(1_000).with_set(k, Value::Int(1));
            one.update(&id, &set("first"), 102).await.expect("update");
            two.update(&id, &set("second"), 103).await.expect("update");
            let data = one.load(&id, 104).await.expect("load").expect("live").data;
            assert!(
                data.contains_key("first") && data.contains_key("second"),
                "{data:?}"
            );
            // The guess never outlives the record: gone is NotFound.
            one.delete(&id).await.expect("delete");
            let gone = two.update(&id, &set("third"), 105).await.expect_err("gone");
            assert_eq!(gone.kind(), StoreErrorKind::NotFound);
        }

        #[tokio::test]
        async fn a_lock_held_past_the_busy_timeout_is_unavailable() {
            use crate::bridge::Backend as _;
            let db = TempDb::new();
            let layout = SqlLayout::django("django_session").expect("valid");
            let backend = SqliteBackend::open(&db.0, layout, true)
                .await
                .expect("open");
            let other = rusqlite::Connection::open(&db.0).expect("open");
            other.execute_batch("BEGIN EXCLUSIVE").expect("lock");
            let err = backend
                .insert("k", b"data", 100, 0)
                .await
                .expect_err("locked out");
            assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
            other.execute_batch("ROLLBACK").expect("unlock");
            backend
                .insert("k", b"data", 100, 0)
                .await
                .expect("free again");
        }

        #[tokio::test]
        async fn a_missing_table_is_an_error_unless_created() {
            let db = TempDb::new();
            let layout = SqlLayout::django("django_session").expect("valid");
            // No file: nothing is made unless asked (Django's own migrate makes it).
            let err = SqliteBackend::open(&db.0, layout.clone(), false)
                .await
                .expect_err("no file");
            assert_eq!(err.kind(), StoreErrorKind::Unavailable);
            assert!(!db.0.exists(), "a file was created");
            rusqlite::Connection::open(&db.0).expect("an empty database");
            let err = SqliteBackend::open(&db.0, layout.clone(), false)
                .await
                .expect_err("no table");
            assert_eq!(err.kind(), StoreErrorKind::Backend);
            SqliteBackend::open(&db.0, layout.clone(), true)
                .await
                .expect("created");
            SqliteBackend::open(&db.0, layout, false)
                .await
                .expect("there now");
        }
    }

    #[cfg(feature = "postgres")]
    mod postgres {
        use super::*;

        fn url() -> String {
            std::env::var("DATABASE_URL").expect("DATABASE_URL")
        }

        async fn drop_table(table: &str) {
            let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\""))
                .await
                .expect("drop");
        }

        async fn conformance_of(table: String, layout: fn(&str) -> SqlLayout) {
            let make = || {
                let table = table.clone();
                async move {
                    store(
                        PgBackend::connect(&url(), layout(&table), true)
                            .await
                            .expect("connect"),
                    )
                }
            };
            conformance::run(make).await;
            conformance::run_expired_deletion(&make().await).await;
            drop_table(&table).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs PostgreSQL"]
        async fn flask_session_layout_conforms() {
            conformance_of(format!("sessions_{}", random_suffix()), |t| {
                SqlLayout::flask_session(t).expect("valid")
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs PostgreSQL"]
        async fn django_layout_conforms() {
            conformance_of(format!("django_session_{}", random_suffix()), |t| {
                SqlLayout::django(t).expect("valid")
            })
            .await;
        }

        #[tokio::test]
        #[ignore = "needs PostgreSQL"]
        async fn a_missing_table_is_an_error_unless_created() {
            let table = format!("sessions_{}", random_suffix());
            let layout = SqlLayout::flask_session(&table).expect("valid");
            let err = PgBackend::connect(&url(), layout.clone(), false)
                .await
                .expect_err("no table");
            assert_eq!(err.kind(), StoreErrorKind::Backend);
            PgBackend::connect(&url(), layout.clone(), true)
                .await
                .expect("created");
            PgBackend::connect(&url(), layout, false)
                .await
                .expect("there now");
            drop_table(&table).await;
        }

        #[tokio::test]
        #[ignore = "needs PostgreSQL"]
        async fn a_dropped_connection_is_unavailable_then_reopened() {
            use crate::bridge::Backend as _;
            let table = format!("sessions_{}", random_suffix());
            let app = format!("wsp_{}", random_suffix());
            let sep = if url().contains('?') { '&' } else { '?' };
            let backend = PgBackend::connect(
                &format!("{}{sep}application_name={app}", url()),
                SqlLayout::flask_session(&table).expect("valid"),
                true,
            )
            .await
            .expect("connect");
            backend.get("k", 0).await.expect("live");
            let (admin, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    &[&app],
                )
                .await
                .expect("terminate");
            // The first use may still see the dying connection; the next
            // opens a new one.
            let mut answers = Vec::new();
            for _ in 0..3 {
                answers.push(backend.get("k", 0).await.map_err(|e| e.kind()));
            }
            assert!(
                answers
                    .iter()
                    .all(|a| matches!(a, Ok(None) | Err(StoreErrorKind::Unavailable))),
                "{answers:?}"
            );
            assert_eq!(answers.last(), Some(&Ok(None)), "reopened");
            drop_table(&table).await;
        }

        #[tokio::test]
        async fn an_unreachable_server_is_unavailable() {
            let layout = SqlLayout::flask_session("sessions").expect("valid");
            let err = PgBackend::connect("postgres://nobody@127.0.0.1:1/none", layout, false)
                .await
                .expect_err("nothing listens on port 1");
            assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:?}");
        }
    }
}
