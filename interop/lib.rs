//! Helpers for the live interop tests: a real Flask process, a real axum
//! server with websession, and a minimal HTTP/1.1 client between them.
//!
//! The tests are in `tests/live.rs`; they need Python with the pinned Flask
//! (`bash .ci/python-env` makes it), found through `WEBSESSION_PYTHON` or at
//! `target/py-venv/bin/python`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use websession::{Clock, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions, Value};

/// The Python interpreter with the pinned Flask.
///
/// # Panics
///
/// When neither `WEBSESSION_PYTHON` nor the project's virtualenv exists.
#[must_use]
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("WEBSESSION_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py-venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with Flask: run `bash .ci/python-env` or set WEBSESSION_PYTHON"
    );
    venv
}

/// A Flask app (`flask_app.py`) in its own process, killed on drop.
pub struct Flask {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl Flask {
    /// Starts the app and waits until it answers.
    ///
    /// # Panics
    ///
    /// When Python or Flask is missing or the app does not come up.
    pub async fn start() -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flask_app.py");
        Self::start_script(script, &[], &[]).await
    }

    /// Starts a Flask script that takes the port as its first argument and
    /// prints the port it bound (`0` is passed: a free port), with more
    /// arguments and environment variables, and waits until it answers.
    ///
    /// # Panics
    ///
    /// When Python or Flask is missing or the app does not come up.
    pub async fn start_script(script: PathBuf, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(python())
            .arg(script)
            .arg("0")
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting Flask: {e}"));
        // The app binds port 0 and prints the port the OS gave it.
        let stdout = child.stdout.take().expect("piped stdout");
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            line
        })
        .await
        .expect("reader");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Flask did not start (printed {line:?})"));
        Self { port, child }
    }

    /// GET a path on the Flask app.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        get_http(self.port, path, cookie).await
    }

    /// GET a path with the cookie `name` (any Python app started with
    /// [`start_script`](Self::start_script): Starlette's `session`, Django's
    /// `sessionid`).
    pub async fn get_named(&self, path: &str, name: &str, cookie: Option<&str>) -> Reply {
        get_named(self.port, path, name, cookie).await
    }
}

impl Drop for Flask {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Every `Set-Cookie` value.
    pub set_cookie: Vec<String>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The `session` cookie's value, if one was set.
    #[must_use]
    pub fn session(&self) -> Option<String> {
        self.cookie("session")
    }

    /// The value of the cookie `name`, if one was set.
    #[must_use]
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookie.iter().find_map(|c| {
            let v = c.strip_prefix(name)?.strip_prefix('=')?;
            Some(v.split(';').next().unwrap_or("").to_owned())
        })
    }
}

/// Percent-encodes a query value.
#[must_use]
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A one-shot HTTP/1.1 GET with `Connection: close`.
///
/// # Panics
///
/// On I/O errors or a response that is not HTTP.
pub async fn get_http(port: u16, path: &str, cookie: Option<&str>) -> Reply {
    get_named(port, path, "session", cookie).await
}

/// As [`get_http`], with the cookie named `name`.
///
/// # Panics
///
/// On I/O errors or a response that is not HTTP.
pub async fn get_named(port: u16, path: &str, name: &str, cookie: Option<&str>) -> Reply {
    let cookie = cookie.map(|c| format!("{name}={c}"));
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    request(port, "GET", path, &headers, None).await
}

/// A one-shot HTTP/1.1 request with `Connection: close`, these headers, and
/// a form body (`application/x-www-form-urlencoded`) when `form` is given.
///
/// # Panics
///
/// On I/O errors or a response that is not HTTP.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let set_cookie = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    Reply {
        status,
        set_cookie,
        body: body.to_owned(),
    }
}

/// A clock the tests set by hand: it reads the Unix seconds in the returned
/// cell, or the system clock while the cell holds 0.
#[must_use]
pub fn frozen_clock() -> (Clock, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(0));
    let frozen = now.clone();
    let clock = Clock::from_fn(move || match frozen.load(Ordering::SeqCst) {
        0 => time::OffsetDateTime::now_utc(),
        t => {
            time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        }
    });
    (clock, now)
}

/// The Rust side: an axum server with websession's Flask-compatible cookie
/// (or Starlette's or Django's: [`Rust::start_format`]).
pub struct Rust {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its clock (Unix seconds); 0 means the system clock.
    pub now: Arc<AtomicI64>,
    /// Its session cookie's name.
    pub cookie_name: &'static str,
}

/// The session format the Rust server speaks, each with its framework's
/// defaults ([`SessionConfig::flask`], [`SessionConfig::starlette`],
/// [`SessionConfig::django`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Flask's signed cookie.
    Flask,
    /// Starlette's `SessionMiddleware` cookie.
    Starlette,
    /// Django's `signed_cookies` session cookie.
    Django,
}

#[derive(serde::Deserialize)]
struct PlainArg {
    json: String,
}

/// The whole session as compact plain JSON (keys sorted), or an error text.
fn plain(s: &Session) -> String {
    let mut out = String::new();
    match websession_core::json::write_plain_map(
        &mut out,
        &s.to_map(),
        websession_core::json::PlainJson::Compact,
    ) {
        Ok(()) => out,
        Err(e) => format!("error: {e}"),
    }
}

#[derive(serde::Deserialize)]
struct JsonArg {
    json: String,
}

fn tagged(v: &Value) -> String {
    v.to_tagged_json()
}

impl Rust {
    /// Starts a server with these keys and Flask's cookie settings.
    ///
    /// # Panics
    ///
    /// When websession refuses the configuration or the port can't be bound.
    pub async fn start(keys: KeyRing, lifetime_secs: i64) -> Self {
        Self::start_format(Format::Flask, keys, lifetime_secs).await
    }

    /// Starts a server speaking `format` with these keys and lifetime (the
    /// maximum age for Starlette and Django).
    ///
    /// Besides the Flask routes it has `/dump` (the session as compact plain
    /// JSON, keys sorted), `/set_plain?json=JSON` (`v` = the plain JSON
    /// value) and `/clear`.
    ///
    /// # Panics
    ///
    /// When websession refuses the configuration or the port can't be bound.
    pub async fn start_format(format: Format, keys: KeyRing, lifetime_secs: i64) -> Self {
        let (clock, now) = frozen_clock();
        let lifetime = std::time::Duration::from_secs(
            u64::try_from(lifetime_secs).expect("a lifetime of zero seconds or more"),
        );
        let (sessions, cookie_name) = match format {
            Format::Flask => (
                Sessions::signed(
                    keys,
                    SessionConfig::flask()
                        .with_clock(clock)
                        .with_lifetime(|l| l.with_permanent_lifetime(lifetime)),
                )
                .map(Sessions::from),
                "session",
            ),
            Format::Starlette => (
                Sessions::starlette(
                    keys,
                    SessionConfig::starlette()
                        .with_clock(clock)
                        .with_lifetime(|l| l.with_permanent_lifetime(lifetime)),
                ),
                "session",
            ),
            Format::Django => (
                Sessions::django(
                    keys,
                    SessionConfig::django()
                        .with_clock(clock)
                        .with_lifetime(|l| l.with_permanent_lifetime(lifetime)),
                ),
                "sessionid",
            ),
        };
        let sessions = sessions.expect("a valid session configuration");
        Self::serve(sessions, cookie_name, now, Router::new()).await
    }

    /// Starts a server on `sessions` (made with the clock of
    /// [`frozen_clock`], whose cell is `now`) whose cookie is `cookie_name`:
    /// the routes of [`start_format`](Self::start_format), and `extra`'s.
    ///
    /// # Panics
    ///
    /// When the port can't be bound.
    pub async fn serve(
        sessions: Sessions,
        cookie_name: &'static str,
        now: Arc<AtomicI64>,
        extra: Router,
    ) -> Self {
        let app = extra
            .route("/dump", get(|s: Session| async move { plain(&s) }))
            .route(
                "/set_plain",
                get(|s: Session, Query(q): Query<PlainArg>| async move {
                    let wrapped = format!("{{\"v\":{}}}", q.json);
                    match websession_core::json::parse_plain_map(wrapped.as_bytes()) {
                        Ok(mut m) => {
                            s.insert_value("v", m.remove("v").unwrap_or(Value::Null));
                            "ok".to_owned()
                        }
                        Err(e) => format!("bad json: {e}"),
                    }
                }),
            )
            .route(
                "/clear",
                get(|s: Session| async move {
                    s.clear();
                    "cleared"
                }),
            )
            .route(
                "/get/v",
                get(|s: Session| async move {
                    s.get_value("v").map_or("missing".into(), |v| tagged(&v))
                }),
            )
            .route(
                "/typed/v",
                get(|s: Session| async move {
                    // Typed access: a datetime is its RFC 3339 text, Python's None is None.
                    match s.get::<Option<String>>("v") {
                        Ok(Some(Some(text))) => text,
                        Ok(Some(None)) => "None".into(),
                        Ok(None) => "missing".into(),
                        Err(e) => format!("error: {e}"),
                    }
                }),
            )
            .route(
                "/touch",
                get(|s: Session| async move {
                    s.insert("rust", "was here")
                        .map(|()| "ok")
                        .unwrap_or("error")
                }),
            )
            .route(
                "/set",
                get(|s: Session, Query(q): Query<JsonArg>| async move {
                    match Value::from_tagged_json(&q.json) {
                        Ok(v) => {
                            s.insert_value("v", v);
                            "ok".to_owned()
                        }
                        Err(e) => format!("bad json: {e}"),
                    }
                }),
            )
            .route(
                "/read",
                get(|s: Session| async move { tagged(&Value::Dict(s.to_map())) }),
            )
            .route(
                "/permanent",
                get(|s: Session| async move {
                    s.insert("user", "alice").map(|()| "ok").unwrap_or("error");
                    s.set_permanent(true);
                    "ok"
                }),
            )
            .layer(SessionManagerLayer::new(sessions));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            port,
            now,
            cookie_name,
        }
    }

    /// GET a path on the Rust server (with its session cookie).
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        get_named(self.port, path, self.cookie_name, cookie).await
    }
}

/// Redis for the live tests: `REDIS_URL`, else the local default.
#[must_use]
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// PostgreSQL for the live tests: `DATABASE_URL`, else the local default.
#[must_use]
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A name no other test (or run) uses: `head`, the process id, a counter
/// and the clock's nanoseconds, joined by `sep`.
#[must_use]
pub fn unique(head: &str, sep: char) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "{head}{sep}{}{sep}{}{sep}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos % 1_000_000_000
    )
}

/// Deletes an SQLite database file and its journals, if there.
pub fn remove_sqlite(path: &std::path::Path) {
    for ext in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}
