//! Rows the Rust side can't read, put in the table behind its back: a
//! corrupt record, a pickle, a column of the wrong type, a record too
//! large. Each loads as an empty session (`Ok(None)`: no panic, no
//! `Unavailable`, so no 503), and the row is left for the Python side.

#![cfg(any(feature = "postgres", feature = "sqlite"))]

use websession_core::store::{IdHash, SessionStore};
use websession_core::testing::now;

/// `key` loads as an empty session.
async fn loads_empty<S: SessionStore>(store: &S, key: &IdHash, what: &str) {
    match store.load(key, now()).await {
        Ok(None) => {}
        other => panic!("{what}: a row the store can't read loads as None, not {other:?}"),
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use websession_core::store::Record;
    use websession_core::Value;
    use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};

    use super::*;
    use crate::support::new_id;
    use crate::support::sqlite::TempDb;

    /// Every bad `data` value: SQL literals.
    const FLASK_DATA: &[(&str, &str)] = &[
        ("garbage bytes", "X'DEADBEEF'"),
        (
            "a pickle (Flask-Session before 0.7)",
            "X'80049505000000000000007D942E'",
        ),
        ("text where bytes belong", "'hello'"),
        ("an integer", "42"),
        ("a real", "1.5"),
        ("NULL", "NULL"),
        ("2 MiB of zeros", "zeroblob(2097152)"),
    ];

    const DJANGO_DATA: &[(&str, &str)] = &[
        ("garbage text", "'garbage'"),
        (
            "a bad signature",
            "'eyJhIjoxfQ:1xaaTw:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
        ),
        ("bytes where text belongs", "X'00FF'"),
        ("an integer", "42"),
        ("2 MiB of text", "printf('%.*c', 2097152, 'a')"),
    ];

    fn count(db: &TempDb, table: &str, column: &str, key: &str) -> i64 {
        db.connection()
            .query_row(
                &format!("SELECT count(*) FROM \"{table}\" WHERE \"{column}\" = ?1"),
                [key],
                |row| row.get(0),
            )
            .expect("count")
    }

    #[tokio::test]
    async fn flask_session_rows_the_store_cant_read() {
        let db = TempDb::new();
        let store = FlaskSessionStore::sqlite(&db.0, FlaskSessionOptions::new())
            .await
            .expect("open");
        for (what, literal) in FLASK_DATA {
            let (id, key) = new_id(&store);
            let session_id = format!("session:{}", id.as_str());
            db.connection()
                .execute(
                    &format!("INSERT INTO sessions (session_id, data, expiry) VALUES (?1, {literal}, '9999-01-01 00:00:00.000000')"),
                    [&session_id],
                )
                .expect("insert");
            loads_empty(&store, &key, what).await;
            assert_eq!(
                count(&db, "sessions", "session_id", &session_id),
                1,
                "{what}: left in place"
            );
        }
    }

    #[tokio::test]
    async fn django_rows_the_store_cant_read() {
        let db = TempDb::new();
        let store = db.django("django_session").await;
        for (what, literal) in DJANGO_DATA {
            let (id, key) = new_id(&store);
            db.connection()
                .execute(
                    &format!("INSERT INTO django_session (session_key, session_data, expire_date) VALUES (?1, {literal}, '9999-01-01 00:00:00')"),
                    [id.as_str()],
                )
                .expect("insert");
            loads_empty(&store, &key, what).await;
            assert_eq!(
                count(&db, "django_session", "session_key", id.as_str()),
                1,
                "{what}: left in place"
            );
        }
    }

    #[tokio::test]
    async fn an_expiry_that_isnt_a_time() {
        let db = TempDb::new();
        let flask = FlaskSessionStore::sqlite(&db.0, FlaskSessionOptions::new())
            .await
            .expect("open");
        let django = db.django("django_session").await;
        for (what, literal) in [
            ("text that isn't a time", "'not a time'"),
            ("an impossible date", "'9999-02-31 00:00:00'"),
            ("bytes", "X'39393939'"),
            ("an integer (never live)", "99999999999"),
        ] {
            let t = now();
            for (table, column, expiry) in [
                ("sessions", "session_id", "expiry"),
                ("django_session", "session_key", "expire_date"),
            ] {
                let (text, key) = if table == "sessions" {
                    let (id, key) = new_id(&flask);
                    flask
                        .create(
                            &key,
                            &Record::new(websession_core::Map::new(), t, t + 600),
                            t,
                        )
                        .await
                        .expect("create");
                    (format!("session:{}", id.as_str()), key)
                } else {
                    let (id, key) = new_id(&django);
                    django
                        .create(
                            &key,
                            &Record::new(websession_core::Map::new(), t, t + 600),
                            t,
                        )
                        .await
                        .expect("create");
                    (id.as_str().to_owned(), key)
                };
                db.connection()
                    .execute(
                        &format!("UPDATE \"{table}\" SET \"{expiry}\" = {literal} WHERE \"{column}\" = ?1"),
                        [&text],
                    )
                    .expect("update");
                if table == "sessions" {
                    loads_empty(&flask, &key, what).await;
                } else {
                    loads_empty(&django, &key, what).await;
                }
                assert_eq!(
                    count(&db, table, column, &text),
                    1,
                    "{what}: the row is left"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_record_over_the_size_limit() {
        let db = TempDb::new();
        let roomy = FlaskSessionStore::sqlite(&db.0, FlaskSessionOptions::new())
            .await
            .expect("open");
        let tight = FlaskSessionStore::sqlite(
            &db.0,
            FlaskSessionOptions::new().with_max_record_bytes(1024),
        )
        .await
        .expect("open");
        let (t, (_, key)) = (now(), new_id(&roomy));
        let mut data = websession_core::Map::new();
        data.insert("big".into(), Value::from("x".repeat(4096)));
        roomy
            .create(&key, &Record::new(data, t, t + 600), t)
            .await
            .expect("create");
        assert!(roomy.load(&key, t).await.expect("load").is_some());
        loads_empty(&tight, &key, "4 KiB over a 1 KiB limit").await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use websession_core::store::StoreErrorKind;
    use websession_python::django::DjangoStore;
    use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};

    use super::*;
    use crate::support::postgres::{client, url, TempTable};
    use crate::support::{django_options, new_id};

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn flask_session_rows_the_store_cant_read() {
        let table = TempTable::new("sessions");
        let store =
            FlaskSessionStore::postgres(&url(), FlaskSessionOptions::new().with_table(&table.0))
                .await
                .expect("connect");
        let client = client().await;
        for (what, literal) in [
            ("garbage bytes", "'\\xdeadbeef'::bytea"),
            ("a pickle", "'\\x80049505000000000000007d942e'::bytea"),
            ("NULL", "NULL"),
            ("8 MiB of zeros", "decode(repeat('00', 8388608), 'hex')"),
        ] {
            let (id, key) = new_id(&store);
            let session_id = format!("session:{}", id.as_str());
            client
                .execute(
                    &format!("INSERT INTO \"{}\" (session_id, data, expiry) VALUES ($1, {literal}, '9999-01-01')", table.0),
                    &[&session_id],
                )
                .await
                .expect("insert");
            loads_empty(&store, &key, what).await;
        }
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn flask_session_with_a_text_data_column() {
        let table = TempTable::new("sessions_text");
        let client = client().await;
        client
            .batch_execute(&format!(
                "CREATE TABLE \"{}\" (id SERIAL PRIMARY KEY, session_id VARCHAR(255) UNIQUE, data TEXT, expiry TIMESTAMP)",
                table.0
            ))
            .await
            .expect("create");
        let store =
            FlaskSessionStore::postgres(&url(), FlaskSessionOptions::new().with_table(&table.0))
                .await
                .expect("connect");
        let (id, key) = new_id(&store);
        client
            .execute(
                &format!("INSERT INTO \"{}\" (session_id, data, expiry) VALUES ($1, 'hello', '9999-01-01')", table.0),
                &[&format!("session:{}", id.as_str())],
            )
            .await
            .expect("insert");
        loads_empty(&store, &key, "text where bytes belong").await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn django_rows_the_store_cant_read() {
        let table = TempTable::new("django_session");
        let store = table.django().await;
        let client = client().await;
        for (what, literal) in [
            ("garbage text", "'garbage'"),
            (
                "a bad signature",
                "'eyJhIjoxfQ:1xaaTw:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
            ),
            ("8 MiB of text", "repeat('a', 8388608)"),
        ] {
            let (id, key) = new_id(&store);
            client
                .execute(
                    &format!("INSERT INTO \"{}\" (session_key, session_data, expire_date) VALUES ($1, {literal}, '9999-01-01')", table.0),
                    &[&id.as_str()],
                )
                .await
                .expect("insert");
            loads_empty(&store, &key, what).await;
        }
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn django_with_a_bytea_data_column() {
        let table = TempTable::new("django_session_bytea");
        let client = client().await;
        client
            .batch_execute(&format!(
                "CREATE TABLE \"{}\" (session_key varchar(40) PRIMARY KEY, session_data bytea NOT NULL, expire_date timestamptz NOT NULL)",
                table.0
            ))
            .await
            .expect("create");
        let store = DjangoStore::postgres(&url(), django_options(&table.0))
            .await
            .expect("connect");
        let (id, key) = new_id(&store);
        client
            .execute(
                &format!(
                    "INSERT INTO \"{}\" VALUES ($1, '\\x00ff', '9999-01-01')",
                    table.0
                ),
                &[&id.as_str()],
            )
            .await
            .expect("insert");
        loads_empty(&store, &key, "bytes where text belongs").await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn an_expiry_column_that_isnt_a_time_is_refused_at_connect() {
        let table = TempTable::new("django_session_textdate");
        client()
            .await
            .batch_execute(&format!(
                "CREATE TABLE \"{}\" (session_key varchar(40) PRIMARY KEY, session_data text NOT NULL, expire_date text NOT NULL)",
                table.0
            ))
            .await
            .expect("create");
        let err = DjangoStore::postgres(&url(), django_options(&table.0))
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), StoreErrorKind::Backend, "{err:?}");
    }
}
