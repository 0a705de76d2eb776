//! PostgresStore against a real server at `DATABASE_URL`
//! (`.ci/run` sets it; `cargo test` skips these). With `tests/restart.rs`,
//! which stays a binary of its own (it restarts the server), the crate's
//! test binaries.

use websession_core::store::conformance;
use websession_postgres::tokio_postgres;
use websession_postgres::{ExpiredDeletion as _, PostgresStore};

/// TLS against a private server, a table in a schema of its own (issue 18).
mod production;

fn url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server for this test")
}

/// A client of the test's own at `DATABASE_URL`, outside the store, for
/// the test's SQL (schemas, triggers, the catalog).
async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
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
    conformance::run_expired_deletion(&store().await).await;
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
#[ignore = "needs PostgreSQL at DATABASE_URL"]
async fn postgres_revocations_conform() {
    conformance::run_revocations(store().await.revocations()).await;
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

mod nul_and_cycle {
    //! NUL characters (refused up front with a typed error, except in
    //! values, which round-trip) and `cycle_id`'s atomicity.

    use std::error::Error as _;

    use websession_core::store::{ChangeSet, Record, SessionStore, StoreError, StoreErrorKind};
    use websession_core::testing::{id, map as data, now};
    use websession_core::Value;
    use websession_postgres::{ExpiredDeletion as _, PostgresOptions, PostgresStore};

    use super::{admin, store, tokio_postgres, url};

    /// A record with a key, a value and a user, none holding NUL.
    fn plain(t: u64) -> Record {
        Record::new(
            data(&[("a", Value::Int(1)), ("b", Value::from("x"))]),
            t,
            t + 600,
        )
        .with_user(Some("alice".into()))
    }

    /// A value with NUL in nested strings, string-like variants and dict keys.
    fn nested_nul() -> Value {
        Value::Dict(data(&[
            (
                "list",
                Value::List(vec![Value::from("a\0b"), Value::from("\0")]),
            ),
            (
                "k\0ey",
                Value::Tuple(vec![Value::Markup("<b>\0</b>".into())]),
            ),
            ("utf16", Value::Utf16(vec![0x61, 0, 0xd800])),
            ("bytes", Value::Bytes(vec![0, 0, 0])),
        ]))
    }

    fn assert_unsupported(err: &StoreError) {
        assert_eq!(err.kind(), StoreErrorKind::Unsupported, "{err:?}");
        let why = err.source().expect("a source that explains").to_string();
        assert!(
            why.contains("PostgreSQL can't store the NUL character"),
            "{why}"
        );
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn create_with_nul_in_a_key_or_user_id_is_unsupported_and_stores_nothing() {
        let (s, t) = (store().await, now());
        let records = [
            Record::new(data(&[("a\0b", Value::Int(1))]), t, t + 600),
            Record::new(data(&[("a", Value::Int(1))]), t, t + 600).with_user(Some("u\0".into())),
        ];
        for record in &records {
            let id = id();
            let err = s.create(&id, record, t).await.expect_err("refused");
            assert_unsupported(&err);
            assert_eq!(s.load(&id, t).await.expect("load"), None, "{record:?}");
        }
    }

    /// Change sets PostgreSQL can't take, for `update` and `cycle_id`.
    fn nul_change_sets(t: u64) -> [ChangeSet; 3] {
        [
            ChangeSet::touch(t + 900).with_set("a\0b", Value::Int(2)),
            ChangeSet::touch(t + 900)
                .with_set("c", Value::Int(3))
                .with_user(Some("bob\0".into())),
            // A refused key after an accepted one, with every other kind of change.
            ChangeSet::touch(t + 900)
                .with_cleared()
                .with_removed("a")
                .with_set("c", Value::Int(3))
                .with_set("\0", Value::Int(4))
                .with_user(None),
        ]
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn update_with_nul_in_a_key_or_user_id_is_unsupported_and_changes_nothing() {
        let (s, t) = (store().await, now());
        for changes in nul_change_sets(t) {
            let id = id();
            s.create(&id, &plain(t), t).await.expect("create");
            let err = s.update(&id, &changes, t).await.expect_err("refused");
            assert_unsupported(&err);
            assert_eq!(
                s.load(&id, t).await.expect("load"),
                Some(plain(t)),
                "{changes:?}"
            );
        }
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn cycle_with_nul_in_a_key_or_user_id_is_unsupported_and_keeps_the_old_id() {
        let (s, t) = (store().await, now());
        for changes in nul_change_sets(t) {
            let (old, new) = (id(), id());
            s.create(&old, &plain(t), t).await.expect("create");
            let err = s
                .cycle_id(&old, &new, &changes, t)
                .await
                .expect_err("refused");
            assert_unsupported(&err);
            assert_eq!(
                s.load(&old, t).await.expect("load"),
                Some(plain(t)),
                "{changes:?}"
            );
            assert_eq!(s.load(&new, t).await.expect("load"), None);
        }
    }

    /// Values are tagged JSON text, which escapes NUL: nothing to refuse.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn nul_inside_values_round_trips_through_create_update_and_cycle() {
        let (s, t) = (store().await, now());
        let (old, new) = (id(), id());
        let mut record = Record::new(
            data(&[("v", nested_nul()), ("s", Value::from("\0"))]),
            t,
            t + 600,
        );
        s.create(&old, &record, t).await.expect("create");
        assert_eq!(s.load(&old, t).await.expect("load"), Some(record.clone()));
        let changes = ChangeSet::touch(t + 700).with_set("w", nested_nul());
        s.update(&old, &changes, t).await.expect("update");
        record.apply(&changes);
        assert_eq!(s.load(&old, t).await.expect("load"), Some(record.clone()));
        let changes = ChangeSet::touch(t + 800).with_set("x", Value::Markup("\0".into()));
        s.cycle_id(&old, &new, &changes, t).await.expect("cycle");
        record.apply(&changes);
        assert_eq!(s.load(&new, t).await.expect("load"), Some(record));
    }

    /// No stored key or user id holds NUL, so these have nothing to do.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn removing_a_nul_key_and_revoking_a_nul_user_are_no_ops() {
        let (s, t) = (store().await, now());
        let id = id();
        s.create(&id, &plain(t), t).await.expect("create");
        let changes = ChangeSet::touch(t + 700)
            .with_removed("a\0")
            .with_removed("b");
        s.update(&id, &changes, t).await.expect("update");
        let mut expected = plain(t);
        expected.apply(&changes);
        assert_eq!(s.load(&id, t).await.expect("load"), Some(expected));
        assert_eq!(s.delete_all_for("alice\0").await.expect("revoke"), 0);
        assert!(s.load(&id, t).await.expect("load").is_some());
    }

    /// `DATABASE_URL` with `options` that give every connection of a store
    /// (and its migration) this search_path.
    pub(super) fn private_url(schema: &str) -> String {
        let sep = if url().contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{schema}", url())
    }

    /// A store on its own schema (so a test can add triggers), and a client
    /// outside it to drop the schema afterwards.
    async fn private_store() -> (PostgresStore, tokio_postgres::Client, String) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let schema = format!("websession_test_{}_{nanos}", std::process::id());
        let admin = admin().await;
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("schema");
        let s = PostgresStore::connect_with(
            &private_url(&schema),
            PostgresOptions::default()
                .with_read_connections(1)
                .with_write_connections(2),
        )
        .await
        .expect("connect");
        s.migrate().await.expect("migrate");
        (s, admin, schema)
    }

    /// A change set the database refuses (here a trigger) rolls the move back.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn a_cycle_whose_change_set_is_refused_leaves_the_old_record_untouched() {
        let (s, admin, schema) = private_store().await;
        admin
            .batch_execute(&format!(
                "CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.data ? 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse BEFORE UPDATE ON {schema}.websession_sessions
                 FOR EACH ROW EXECUTE FUNCTION {schema}.refuse();"
            ))
            .await
            .expect("trigger");
        let t = now();
        let (old, new) = (id(), id());
        s.create(&old, &plain(t), t).await.expect("create");
        let changes = ChangeSet::touch(t + 900)
            .with_removed("a")
            .with_set("c", Value::Int(3))
            .with_set("refused", Value::Int(4))
            .with_user(Some("bob".into()));
        let err = s
            .cycle_id(&old, &new, &changes, t)
            .await
            .expect_err("the trigger refuses the change set");
        assert_eq!(err.kind(), StoreErrorKind::Backend, "{err:?}");
        assert_eq!(s.load(&old, t).await.expect("load"), Some(plain(t)));
        assert_eq!(s.load(&new, t).await.expect("load"), None);
        assert_eq!(s.delete_all_for("bob").await.expect("revoke"), 0);
        s.cycle_id(&old, &new, &ChangeSet::touch(t + 900), t)
            .await
            .expect("an acceptable change set cycles");
        assert!(s.load(&new, t).await.expect("load").is_some());
        drop_schema(&admin, &schema).await;
    }

    /// A table made by the previous version (index on `expires_at`, no
    /// bucket, default fillfactor) is brought up to date by `migrate`, its
    /// rows kept.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn migrate_upgrades_a_table_of_the_previous_version() {
        let (s, admin, schema) = private_store().await;
        let t = now();
        let kept = id();
        admin.batch_execute(&format!(
            "DROP TABLE {schema}.websession_sessions;
             CREATE TABLE {schema}.websession_sessions (
                 id BYTEA PRIMARY KEY, data JSONB NOT NULL DEFAULT '{{}}'::jsonb,
                 created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, user_id TEXT);
             CREATE INDEX websession_sessions_expires_idx ON {schema}.websession_sessions (expires_at);
             CREATE INDEX websession_sessions_user_idx ON {schema}.websession_sessions (user_id)
                 WHERE user_id IS NOT NULL;"
        ))
        .await
        .expect("old schema");
        admin.execute(
            &format!(
                "INSERT INTO {schema}.websession_sessions VALUES ($1, '{{\"a\": \"1\"}}', $2, $3, 'alice')"
            ),
            &[
                &kept.as_bytes(),
                &i64::try_from(t).expect("time"),
                &i64::try_from(t + 600).expect("time"),
            ],
        )
        .await
        .expect("an old row");
        s.migrate().await.expect("migrate");
        s.migrate().await.expect("and again");
        let expected =
            Record::new(data(&[("a", Value::Int(1))]), t, t + 600).with_user(Some("alice".into()));
        let s = PostgresStore::connect(&private_url(&schema))
            .await
            .expect("connect");
        assert_eq!(s.load(&kept, t).await.expect("load"), Some(expected));
        let indexes: Vec<String> = admin
            .query(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
                &[&schema],
            )
            .await
            .expect("indexes")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(
            indexes,
            [
                "websession_sessions_bucket_idx",
                "websession_sessions_denied_idx",
                "websession_sessions_denied_pkey",
                "websession_sessions_generations_pkey",
                "websession_sessions_pkey",
                "websession_sessions_user_idx"
            ]
        );
        let options: Vec<String> = admin
            .query(
                "SELECT unnest(c.reloptions) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = 'websession_sessions'",
                &[&schema],
            )
            .await
            .expect("options")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(options, ["fillfactor=70"]);
        s.delete_expired(t + 601).await.expect("cleanup");
        assert_eq!(
            s.load(&kept, t).await.expect("load"),
            None,
            "via the bucket"
        );
        drop_schema(&admin, &schema).await;
    }

    /// Updates that keep the user id and the expiry's hour are in place
    /// (HOT): PostgreSQL's own statistics count them.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn updates_within_the_hour_are_hot() {
        let (s, admin, schema) = private_store().await;
        // An expiry early in its hour, so that the moves below stay in it.
        let t = now() / 3600 * 3600 + 3600 * 24;
        let sid = id();
        s.create(&sid, &plain(t - 10), t - 10)
            .await
            .expect("create");
        let n = 50;
        for i in 0..n {
            let changes = ChangeSet::touch(t + 60 + i)
                .with_set("c", Value::Int(i64::try_from(i).expect("small")));
            s.update(&sid, &changes, t - 10).await.expect("update");
        }
        // The statistics reach the shared counters when the backends go idle
        // (PostgreSQL 15: at most about 10 s later).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let (upd, hot) = loop {
            let row = admin
                .query_one(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                     WHERE schemaname = $1 AND relname = 'websession_sessions'",
                    &[&schema],
                )
                .await
                .expect("stats");
            let (upd, hot): (i64, i64) = (row.get(0), row.get(1));
            if upd >= i64::try_from(n).expect("small") || std::time::Instant::now() > deadline {
                break (upd, hot);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(upd, 50, "the updates are counted");
        assert!(hot >= 45, "{hot} of {upd} updates were HOT");
        drop_schema(&admin, &schema).await;
    }

    pub(super) async fn drop_schema(admin: &tokio_postgres::Client, schema: &str) {
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop schema");
    }
}

mod revocations {
    //! Revocations through two stores on one database, in the tables named
    //! after the store's table, and user ids PostgreSQL can't store.

    use websession_core::store::{Record, RevocationStore, SessionStore, StoreErrorKind};
    use websession_core::testing::{id, map as data, now};
    use websession_core::Value;
    use websession_postgres::{PostgresOptions, PostgresStore, TableName};

    use super::admin;
    use super::nul_and_cycle::{drop_schema, private_url};

    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn revocations_are_shared_between_stores_in_the_tables_named_after_theirs() {
        let schema = format!("websession_rev_{}_{}", std::process::id(), id().to_hex());
        let schema = &schema[..40];
        let admin = admin().await;
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("schema");
        let options =
            PostgresOptions::default().with_table(TableName::new("auth_sessions").expect("name"));
        let connect = || async {
            let store = PostgresStore::connect_with(&private_url(schema), options.clone())
                .await
                .expect("connect");
            store.migrate().await.expect("migrate");
            store
        };
        let (a, b) = (connect().await, connect().await);
        let (ra, rb) = (a.revocations(), b.revocations());
        let (t, session) = (now(), id());
        assert_eq!(ra.bump_generation("alice").await.expect("bump"), 1);
        ra.deny(&session, t + 60).await.expect("deny");
        let seen = rb.check(Some("alice"), &session, t).await.expect("check");
        assert_eq!((seen.generation, seen.denied), (Some(1), true));
        assert_eq!(rb.bump_generation("alice").await.expect("bump"), 2);
        assert_eq!(ra.generation("alice").await.expect("generation"), 2);

        let tables: Vec<String> = admin
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
                &[&schema],
            )
            .await
            .expect("catalog")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(
            tables,
            [
                "auth_sessions",
                "auth_sessions_denied",
                "auth_sessions_generations"
            ]
        );
        let generation: i64 = admin
            .query_one(
                &format!(
                    "SELECT generation FROM {schema}.auth_sessions_generations WHERE user_id = 'alice'"
                ),
                &[],
            )
            .await
            .expect("generation row")
            .get(0);
        assert_eq!(generation, 2);
        let until: i64 = admin
            .query_one(
                &format!("SELECT until FROM {schema}.auth_sessions_denied WHERE id = $1"),
                &[&session.as_bytes()],
            )
            .await
            .expect("denied row")
            .get(0);
        assert_eq!(until, i64::try_from(t + 60).expect("fits"));
        assert_eq!(rb.delete_expired_denials(t + 60).await.expect("delete"), 1);
        assert!(!ra.check(None, &session, t).await.expect("check").denied);

        // A user id holding NUL can't be stored: never bumped, refused.
        let err = ra.bump_generation("a\0b").await.expect_err("NUL");
        assert_eq!(err.kind(), StoreErrorKind::Unsupported, "{err:?}");
        assert_eq!(ra.generation("a\0b").await.expect("generation"), 0);
        let nul = ra.check(Some("a\0b"), &session, t).await.expect("check");
        assert_eq!(nul.generation, Some(0));
        drop_schema(&admin, schema).await;
    }

    /// An app that upgrades without creating the revocation tables (it
    /// doesn't use revocations) keeps its sessions: only revocation calls
    /// fail.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn sessions_work_without_the_revocation_tables() {
        let schema = format!("websession_norev_{}_{}", std::process::id(), id().to_hex());
        let schema = &schema[..40];
        let admin = admin().await;
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("schema");
        let store = PostgresStore::connect(&private_url(schema))
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        admin
            .batch_execute(&format!(
                "DROP TABLE {schema}.websession_sessions_generations, {schema}.websession_sessions_denied"
            ))
            .await
            .expect("drop the revocation tables");
        let store = PostgresStore::connect(&private_url(schema))
            .await
            .expect("reconnect");
        let (t, session) = (now(), id());
        let record = Record::new(data(&[("a", Value::Int(1))]), t, t + 600);
        store.create(&session, &record, t).await.expect("create");
        assert_eq!(store.load(&session, t).await.expect("load"), Some(record));
        let revocations = store.revocations();
        assert!(revocations.check(None, &session, t).await.is_err());
        assert!(revocations.bump_generation("alice").await.is_err());
        assert!(store.load(&session, t).await.expect("load after").is_some());
        drop_schema(&admin, schema).await;
    }
}

mod round_trips {
    //! Round trips counted on the wire: a proxy between the store and the
    //! server reads the frontend protocol and counts, per call, the
    //! client's writes and its `Sync` messages (each `Sync` ends one
    //! request the client waits on).

    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use websession_core::store::{ChangeSet, Record, RevocationStore, SessionStore};
    use websession_core::testing::{id, map as data, now};
    use websession_core::Value;
    use websession_postgres::{PostgresOptions, PostgresStore};

    use super::url;

    #[derive(Default)]
    struct Counts {
        /// Reads of client data at the proxy: the client's writes.
        writes: AtomicU64,
        /// Frontend `Sync` messages.
        syncs: AtomicU64,
    }

    impl Counts {
        fn get(&self) -> (u64, u64) {
            (
                self.writes.load(Ordering::SeqCst),
                self.syncs.load(Ordering::SeqCst),
            )
        }
    }

    /// Counts the `Sync` messages in a stream of frontend messages, fed in
    /// chunks. The first messages (SSL request, startup) have no type byte.
    struct Frontend {
        buf: Vec<u8>,
        started: bool,
    }

    impl Frontend {
        fn feed(&mut self, chunk: &[u8]) -> u64 {
            self.buf.extend_from_slice(chunk);
            let mut syncs = 0;
            loop {
                if !self.started {
                    let Some(len) = self.buf.get(..4) else { break };
                    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
                    if self.buf.len() < len {
                        break;
                    }
                    let code = self
                        .buf
                        .get(4..8)
                        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")));
                    // 80877103: SSLRequest, 80877104: GSSENCRequest; the
                    // startup message comes after them.
                    self.started = !matches!(code, Some(80_877_103 | 80_877_104));
                    self.buf.drain(..len);
                } else {
                    let Some(header) = self.buf.get(..5) else {
                        break;
                    };
                    let len =
                        u32::from_be_bytes(header[1..5].try_into().expect("4 bytes")) as usize;
                    if self.buf.len() < len + 1 {
                        break;
                    }
                    if header[0] == b'S' {
                        syncs += 1;
                    }
                    self.buf.drain(..=len);
                }
            }
            syncs
        }
    }

    /// A proxy to the server of `DATABASE_URL`; returns its URL.
    async fn proxy(counts: Arc<Counts>) -> String {
        let config: tokio_postgres::Config = url().parse().expect("DATABASE_URL");
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_string(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect((host.as_str(), port))
                    .await
                    .expect("server");
                let counts = Arc::clone(&counts);
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut frontend = Frontend {
                            buf: Vec::new(),
                            started: false,
                        };
                        let mut buf = vec![0u8; 64 * 1024];
                        while let Ok(n @ 1..) = cr.read(&mut buf).await {
                            counts.writes.fetch_add(1, Ordering::SeqCst);
                            counts
                                .syncs
                                .fetch_add(frontend.feed(&buf[..n]), Ordering::SeqCst);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let down = tokio::io::copy(&mut sr, &mut cw);
                    let _ = tokio::join!(up, down);
                });
            }
        });
        let user = config.get_user().unwrap_or("postgres");
        let db = config.get_dbname().unwrap_or("test");
        // Plaintext: the proxy reads the protocol's messages (with a TLS
        // feature, the default `prefer` would encrypt them).
        format!("postgres://{user}@{addr}/{db}?sslmode=disable")
    }

    /// One round trip per load and per update (each one write and one
    /// `Sync`), counted between the store and a real server; `create`,
    /// `cycle_id` and `delete` too. Sequential calls, so nothing is shared.
    #[tokio::test]
    #[ignore = "needs PostgreSQL at DATABASE_URL"]
    async fn one_round_trip_per_call_counted_on_the_wire() {
        super::store().await; // migrated through a direct connection
        let counts = Arc::new(Counts::default());
        let s = PostgresStore::connect_with(
            &proxy(Arc::clone(&counts)).await,
            PostgresOptions::default()
                .with_read_connections(1)
                .with_write_connections(1),
        )
        .await
        .expect("connect through the proxy");
        let t = now();
        let ids: Vec<_> = (0..20).map(|_| id()).collect();
        let record = Record::new(data(&[("a", Value::Int(1))]), t, t + 600);

        let mut per_call = Vec::new();
        let mut measure = |name: &str, before: (u64, u64), after: (u64, u64), n: u64| {
            per_call.push(format!(
                "{name}: {} writes, {} syncs for {n} calls",
                after.0 - before.0,
                after.1 - before.1
            ));
            assert_eq!(after.0 - before.0, n, "client writes per {name}");
            assert_eq!(after.1 - before.1, n, "requests (Sync) per {name}");
        };
        let c0 = counts.get();
        for id in &ids {
            s.create(id, &record, t).await.expect("create");
        }
        let c1 = counts.get();
        measure("create", c0, c1, 20);
        for id in &ids {
            s.load(id, t).await.expect("load").expect("live");
        }
        let c2 = counts.get();
        measure("load", c1, c2, 20);
        for (i, id) in ids.iter().enumerate() {
            let changes = ChangeSet::touch(t + 600).with_set("a", Value::Int(i as i64));
            s.update(id, &changes, t).await.expect("update");
        }
        let c3 = counts.get();
        measure("update", c2, c3, 20);
        let mut moved = Vec::new();
        for old in &ids {
            let to = id();
            s.cycle_id(old, &to, &ChangeSet::touch(t + 600), t)
                .await
                .expect("cycle");
            moved.push(to);
        }
        let c4 = counts.get();
        measure("cycle_id", c3, c4, 20);
        for id in &moved {
            s.delete(id).await.expect("delete");
        }
        let c5 = counts.get();
        measure("delete", c4, c5, 20);
        let revocations = s.revocations();
        let user = format!("round-trips-{}", id().to_hex());
        // Revocation statements are prepared by each connection's first
        // revocation call (one round trip more, once).
        revocations
            .check(None, &id(), t)
            .await
            .expect("warm the reader");
        revocations.deny(&id(), t).await.expect("warm the writer");
        let c5 = counts.get();
        for id in &moved {
            revocations.check(Some(&user), id, t).await.expect("check");
        }
        let c6 = counts.get();
        measure("check", c5, c6, 20);
        for id in &moved {
            revocations.deny(id, t + 600).await.expect("deny");
            revocations.bump_generation(&user).await.expect("bump");
        }
        let c7 = counts.get();
        measure("deny and bump_generation", c6, c7, 40);
        eprintln!("{}", per_call.join("\n"));
    }
}
