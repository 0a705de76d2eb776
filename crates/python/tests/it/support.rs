//! Scratch databases, tables and stores for the tests.

#![allow(dead_code)] // each feature set uses a part

use websession_core::store::{IdHash, SessionId, SessionStore};
use websession_core::{Key, KeyRing};
use websession_python::django::DjangoOptions;

/// A fresh suffix for a table name or key prefix: tests share one database.
pub(crate) fn unique() -> String {
    let mut bytes = [0_u8; 6];
    getrandom::fill(&mut bytes).expect("random");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Django app's SECRET_KEY in these tests.
pub(crate) fn django_options(table: &str) -> DjangoOptions {
    let key =
        Key::from_utf8("django-insecure-a-secret-key-for-websession-python-tests").expect("key");
    DjangoOptions::new(KeyRing::new(key)).with_table(table)
}

/// A new id in the store's own format, and its key.
pub(crate) fn new_id<S: SessionStore>(store: &S) -> (SessionId, IdHash) {
    let format = store.id_format();
    let id = format.generate();
    let key = format.key(&id);
    (id, key)
}

/// Django's own `CREATE TABLE` for its session table (`manage.py sqlmigrate
/// sessions 0001` on Django 5.2), under another name.
pub(crate) fn django_ddl(table: &str, postgres: bool) -> String {
    let expiry = if postgres {
        "timestamp with time zone"
    } else {
        "datetime"
    };
    format!(
        "CREATE TABLE \"{table}\" (\"session_key\" varchar(40) NOT NULL PRIMARY KEY, \
         \"session_data\" text NOT NULL, \"expire_date\" {expiry} NOT NULL);\n\
         CREATE INDEX \"{table}_expire_date\" ON \"{table}\" (\"expire_date\");"
    )
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use std::path::PathBuf;

    use websession_python::django::DjangoStore;

    /// A scratch SQLite file, deleted (with its WAL files) on drop.
    pub(crate) struct TempDb(pub(crate) PathBuf);

    impl TempDb {
        pub(crate) fn new() -> Self {
            Self(std::env::temp_dir().join(format!("websession-python-it-{}.db", super::unique())))
        }

        pub(crate) fn connection(&self) -> rusqlite::Connection {
            let conn = rusqlite::Connection::open(&self.0).expect("open");
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .expect("busy timeout");
            conn
        }

        /// A Django store on this file, its table made as `migrate` makes it.
        pub(crate) async fn django(&self, table: &str) -> DjangoStore {
            self.connection()
                .execute_batch(&format!(
                    "{};",
                    super::django_ddl(table, false)
                        .replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")
                        .replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")
                ))
                .expect("migrate");
            DjangoStore::sqlite(&self.0, super::django_options(table))
                .await
                .expect("open")
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
            }
        }
    }
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    use websession_python::django::DjangoStore;

    pub(crate) fn url() -> String {
        std::env::var("DATABASE_URL").expect("DATABASE_URL (a PostgreSQL database for the tests)")
    }

    pub(crate) async fn client() -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
    }

    /// A scratch table name, dropped on drop.
    pub(crate) struct TempTable(pub(crate) String);

    impl TempTable {
        pub(crate) fn new(prefix: &str) -> Self {
            Self(format!("{prefix}_{}", super::unique()))
        }

        /// A Django store on this table, made as `migrate` makes it.
        pub(crate) async fn django(&self) -> DjangoStore {
            client()
                .await
                .batch_execute(&format!(
                    "{};",
                    super::django_ddl(&self.0, true)
                        .replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")
                        .replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")
                ))
                .await
                .expect("migrate");
            DjangoStore::postgres(&url(), super::django_options(&self.0))
                .await
                .expect("connect")
        }
    }

    impl Drop for TempTable {
        fn drop(&mut self) {
            let sql = format!("DROP TABLE IF EXISTS \"{}\"", self.0);
            // Dropped on a thread of its own: Drop can't await, and the
            // test's runtime may be gone.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async { client().await.batch_execute(&sql).await })
            })
            .join();
        }
    }
}
