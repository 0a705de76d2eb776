//! What production needs (issue 18), against a private PostgreSQL this
//! test starts (`initdb` + `pg_ctl`, as the `postgres` OS user) with TLS on,
//! a certificate from a throwaway CA (`.ci/throwaway-ca`) and password
//! (SCRAM) logins: every `sslmode`, a CA that signed nothing refused, a
//! wrong password refused, a table in a schema of its own. The shared
//! PostgreSQL at `DATABASE_URL` is not touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use websession_core::store::{conformance, Record, SessionId, SessionStore, StoreErrorKind};
use websession_core::testing::now;
use websession_core::Map;
use websession_postgres::{tokio_postgres, PostgresOptions, PostgresStore, SslMode, TableName};

const PASSWORD: &str = "pg-s3cret-not-in-logs";

/// The PostgreSQL server binaries: `WEBSESSION_PG_BINDIR`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout).
fn bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("WEBSESSION_PG_BINDIR") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (or set WEBSESSION_PG_BINDIR)")
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

/// Runs a PostgreSQL program as the `postgres` OS user (we are root, and
/// PostgreSQL refuses to run as root).
fn as_postgres(program: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"])
        .arg(bindir().join(program));
    cmd
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

/// A private PostgreSQL with TLS, stopped and removed on drop.
struct Private {
    port: u16,
    dir: PathBuf,
}

impl Private {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let dir = std::env::temp_dir().join(format!("websession-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).expect("dir");
        let status = Command::new("bash")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.ci/throwaway-ca"
            ))
            .arg(dir.join("certs"))
            .status()
            .expect("bash .ci/throwaway-ca (needs openssl)");
        assert!(status.success(), "throwaway-ca");
        std::fs::write(dir.join("pwfile"), PASSWORD).expect("pwfile");
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres", path(&dir)])
            .status()
            .expect("chown");
        assert!(chown.success());
        // The guard exists before anything can fail, so a failed start is
        // cleaned up too.
        let server = Self { port, dir };
        let data = server.dir.join("data");
        let out = as_postgres("initdb")
            .args(["-D", path(&data), "-U", "postgres", "--no-sync"])
            .args([
                "--auth=scram-sha-256",
                "--pwfile",
                path(&server.dir.join("pwfile")),
            ])
            .output()
            .expect("initdb");
        assert!(out.status.success(), "initdb: {out:?}");
        let certs = server.dir.join("certs");
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1,127.0.0.2 -k {} -c ssl=on \
             -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off -c max_connections=200",
            path(&server.dir.join("sock")),
            path(&certs.join("server.pem")),
            path(&certs.join("server.key")),
        );
        let out = as_postgres("pg_ctl")
            .args([
                "-D",
                path(&data),
                "-l",
                path(&server.dir.join("log")),
                "-w",
                "-o",
            ])
            .arg(options)
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {out:?}\n{}",
            std::fs::read_to_string(server.dir.join("log")).unwrap_or_default()
        );
        server
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@{host}:{}/postgres?{query}",
            self.port
        )
    }

    fn cert(&self, name: &str) -> String {
        path(&self.dir.join("certs").join(name)).to_owned()
    }

    /// A plain connection over the Unix socket, to look around.
    async fn admin(&self) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.dir.join("sock"))
            .port(self.port)
            .user("postgres")
            .password(PASSWORD)
            .dbname("postgres");
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("admin connection");
        tokio::spawn(connection);
        client
    }

    /// Whether the client connections other than `admin`'s use TLS: (with
    /// TLS, without).
    async fn tls_use(&self, admin: &tokio_postgres::Client) -> (i64, i64) {
        let row = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
                 FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("pg_stat_ssl");
        (row.get(0), row.get(1))
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .args([
                "-D",
                path(&self.dir.join("data")),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A session written and read back through `store`.
async fn round_trip(store: &PostgresStore) {
    let id = SessionId::generate().hash();
    let t = now();
    let mut data = Map::new();
    data.insert("k".into(), websession_core::Value::Str("v".into()));
    store
        .create(&id, &Record::new(data.clone(), t, t + 60), t)
        .await
        .expect("create");
    let record = store.load(&id, t).await.expect("load").expect("found");
    assert_eq!(record.data, data);
    store.delete(&id).await.expect("delete");
}

async fn refused(url: &str, why: &str) {
    let e = PostgresStore::connect(url)
        .await
        .expect_err("an untrusted certificate is refused");
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");
    // rustls names the reason; native-tls (OpenSSL) words it its own way.
    let source = format!("{:?}", std::error::Error::source(&e));
    if cfg!(feature = "rustls") {
        assert!(source.contains(why), "{why} in {source}");
    } else {
        assert!(source.contains("certificate"), "{source}");
    }
}

#[tokio::test]
#[ignore = "starts its own PostgreSQL with TLS (root, runuser, initdb, openssl)"]
async fn tls_follows_sslmode_with_a_private_ca_and_refuses_another() {
    let pg = Private::start();
    let admin = pg.admin().await;
    let ca = pg.cert("ca.pem");
    let other = pg.cert("other-ca.pem");

    // verify-full through the private CA: the whole suite, over TLS.
    let url = pg.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let store = PostgresStore::connect(&url).await.expect("verify-full");
    store.migrate().await.expect("migrate over TLS");
    round_trip(&store).await;
    let (with, without) = pg.tls_use(&admin).await;
    assert!(
        with >= 2 && without == 0,
        "TLS: {with} with, {without} without"
    );
    assert!(
        !format!("{store:?}").contains(PASSWORD),
        "no password in Debug: {store:?}"
    );
    conformance::run(|| {
        let url = url.clone();
        async move { PostgresStore::connect(&url).await.expect("connect") }
    })
    .await;
    drop(store);
    PostgresStore::connect(&pg.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .expect("verify-full by host name");

    // Another CA, and the system's roots: refused, whatever the host.
    refused(
        &pg.url(
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ),
        "UnknownIssuer",
    )
    .await;
    refused(&pg.url("127.0.0.1", "sslmode=verify-full"), "UnknownIssuer").await;
    refused(
        &pg.url(
            "127.0.0.1",
            &format!("sslmode=verify-ca&sslrootcert={other}"),
        ),
        "UnknownIssuer",
    )
    .await;
    // `require` with a root CA checks the chain, as libpq does.
    refused(
        &pg.url("127.0.0.1", &format!("sslmode=require&sslrootcert={other}")),
        "UnknownIssuer",
    )
    .await;

    // 127.0.0.2 is not in the certificate: verify-full refuses it,
    // verify-ca (the chain only) takes it.
    refused(
        &pg.url(
            "127.0.0.2",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        "NotValidForName",
    )
    .await;
    let store = PostgresStore::connect(
        &pg.url("127.0.0.2", &format!("sslmode=verify-ca&sslrootcert={ca}")),
    )
    .await
    .expect("verify-ca ignores the name");
    round_trip(&store).await;
    drop(store);

    // require and prefer without a CA: encrypted, the certificate unchecked.
    for mode in ["require", "prefer"] {
        let store = PostgresStore::connect(&pg.url("127.0.0.2", &format!("sslmode={mode}")))
            .await
            .expect(mode);
        round_trip(&store).await;
    }
    // disable: plaintext.
    let store = PostgresStore::connect(&pg.url("127.0.0.1", "sslmode=disable"))
        .await
        .expect("disable");
    round_trip(&store).await;
    let (_, without) = pg.tls_use(&admin).await;
    assert!(without >= 2, "disable connects without TLS");
    drop(store);

    // A config and options instead of a URL; the PEM given directly.
    let mut config = tokio_postgres::Config::new();
    config
        .host("localhost")
        .port(pg.port)
        .user("postgres")
        .password(PASSWORD)
        .dbname("postgres");
    let pem = std::fs::read(&ca).expect("ca");
    let options = PostgresOptions::default()
        .with_ssl_mode(SslMode::VerifyFull)
        .with_root_certificates_pem(pem);
    let store = PostgresStore::from_config(config.clone(), options)
        .await
        .expect("from_config");
    round_trip(&store).await;
    let options = PostgresOptions::default()
        .with_ssl_mode(SslMode::VerifyFull)
        .with_root_certificates_pem(std::fs::read(&other).expect("other"));
    let e = PostgresStore::from_config(config, options)
        .await
        .expect_err("another CA");
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e:?}");

    // A wrong password: refused, typed, and not retried as an outage.
    let wrong = format!(
        "postgres://postgres:wrong-password@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
        pg.port
    );
    let e = PostgresStore::connect(&wrong)
        .await
        .expect_err("wrong password");
    assert_eq!(e.kind(), StoreErrorKind::Backend, "{e:?}");
    assert!(!format!("{e:?} {e}").contains("wrong-password"), "{e:?}");
}

#[tokio::test]
#[ignore = "starts its own PostgreSQL (root, runuser, initdb, openssl)"]
async fn a_table_in_its_own_schema_by_migrate_or_by_the_published_sql() {
    let pg = Private::start();
    let admin = pg.admin().await;
    admin
        .batch_execute("CREATE SCHEMA auth; CREATE SCHEMA ops")
        .await
        .expect("schemas");
    let url = pg.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", pg.cert("ca.pem")),
    );

    // `migrate` creates the table; every statement uses it.
    let options = PostgresOptions::default().with_table(
        TableName::new("Sessions")
            .and_then(|t| t.in_schema("auth"))
            .expect("name"),
    );
    let store = PostgresStore::connect_with(&url, options.clone())
        .await
        .expect("connect before the table exists");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrate again");
    conformance::run(|| {
        let (url, options) = (url.clone(), options.clone());
        async move {
            PostgresStore::connect_with(&url, options)
                .await
                .expect("connect")
        }
    })
    .await;
    conformance::run_expired_deletion(&store).await;
    conformance::run_revocations(store.revocations()).await;
    let in_place: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'auth' AND tablename = 'Sessions'",
            &[],
        )
        .await
        .expect("catalog")
        .get(0);
    assert_eq!(in_place, 1);
    let default_table: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'websession_sessions'",
            &[],
        )
        .await
        .expect("catalog")
        .get(0);
    assert_eq!(default_table, 0, "the default table was never made");

    // People who run migrations themselves: the published SQL, then no
    // `migrate`.
    let options = PostgresOptions::default().with_table(
        TableName::new("web_sessions")
            .and_then(|t| t.in_schema("ops"))
            .expect("name"),
    );
    admin
        .batch_execute(&PostgresStore::schema_sql(&options))
        .await
        .expect("the published SQL applies");
    admin
        .batch_execute(&PostgresStore::schema_sql(&options))
        .await
        .expect("and again");
    let store = PostgresStore::connect_with(&url, options)
        .await
        .expect("connect");
    round_trip(&store).await;
}
