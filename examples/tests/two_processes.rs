//! "Log out everywhere with no back door", across real processes: two
//! copies of the pet-name demo (`target/<profile>/examples/petname`, built
//! by the test with `cargo build --example petname`), configured with
//! environment variables on one Redis or PostgreSQL, and a copied cookie
//! (what a thief holds) sent to the process that didn't log it out.
//!
//! Cookie modes with `WEBSESSION_REVOCATION` and a staleness of
//! [`STALENESS`]: a copy is refused by the other process for every request
//! sent [`STALENESS`] + [`MARGIN`] after the logout's response arrived, and
//! never accepted again once refused (polled until the bound, then
//! [`AFTER`] more). Store mode: refused at once. The process that logged
//! out refuses it at once in every mode.
//!
//! Needs `REDIS_URL` and `DATABASE_URL`; `#[ignore]`d in plain `cargo test`.
//! `WEBSESSION_DEMO_BIN` (a path, relative to the workspace's root or
//! absolute) runs an already-built demo instead of building it: after a
//! `cargo test` that built the examples, `target/debug/examples/petname`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The revocation cache's staleness the cookie-mode processes run with
/// (`WEBSESSION_REVOCATION_STALENESS`).
const STALENESS: Duration = Duration::from_secs(2);
/// Slack on top of the staleness for the request itself: the test measures
/// on its monotonic clock from the moment the logout's response arrived;
/// the demo reads the wall clock when it opens the session, a little after
/// the request was sent.
const MARGIN: Duration = Duration::from_millis(250);
/// How long the copy is polled past the bound, to see it never comes back.
const AFTER: Duration = Duration::from_secs(3);
/// Between polls.
const POLL: Duration = Duration::from_millis(50);

/// The demo binary, built once per test run (or `WEBSESSION_DEMO_BIN`).
fn demo_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("WEBSESSION_DEMO_BIN") {
            // A relative path is taken from the workspace's root.
            let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(bin);
            assert!(bin.is_file(), "WEBSESSION_DEMO_BIN: no {}", bin.display());
            return bin;
        }
        // This test runs from target/<profile>/deps/: the example goes to
        // target/<profile>/examples/, built by the same cargo into the same
        // target directory and profile.
        let exe = std::env::current_exe().expect("the test's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        let target_dir = profile_dir.parent().expect("target/<profile>");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(&cargo);
        build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "-p", "websession-examples", "--example", "petname"])
            .arg("--target-dir")
            .arg(target_dir);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some(profile) => {
                build.args(["--profile", profile]);
            }
        }
        let started = Instant::now();
        let out = build.output().unwrap_or_else(|e| panic!("{cargo}: {e}"));
        assert!(
            out.status.success(),
            "cargo build --example petname failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("built the demo in {:?}", started.elapsed());
        profile_dir
            .join("examples")
            .join(format!("petname{}", std::env::consts::EXE_SUFFIX))
    })
}

/// One demo process, killed on drop.
struct Demo {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("--- demo {} log ---\n{}", self.name, log.join("\n"));
        }
    }
}

/// Drops ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Starts the demo with `env` on a port of its choosing (it logs the
/// address it bound), and waits until it serves.
fn start(name: &'static str, env: &[(&str, &str)]) -> Demo {
    let bin = demo_binary();
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars() {
        if key.starts_with("WEBSESSION_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("WEBSESSION_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    // Both streams are read to the end, so the demo never blocks on a full pipe.
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let (log, tx) = (log.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let line = strip_ansi(&line);
                if let Some((_, url)) = line.split_once("pet name demo on http://") {
                    if let Ok(addr) = url.trim().parse::<SocketAddr>() {
                        let _ = tx.send(addr);
                    }
                }
                log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
    }
    let mut demo = Demo {
        name,
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        log,
    };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => demo.addr = addr,
        Err(_) => {
            let status = demo.child.try_wait().ok().flatten();
            panic!("demo {name} did not start (exit status {status:?})");
        }
    }
    demo
}

struct Response {
    status: u16,
    /// The `session` cookie's value from `Set-Cookie`, if one was sent.
    set_session: Option<String>,
    location: Option<String>,
    body: String,
}

/// One HTTP/1.1 request over a fresh connection.
async fn request(
    demo: &Demo,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Response {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(demo.addr)
            .await
            .expect("connect");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
             User-Agent: two-processes test ({})\r\n",
            demo.addr, demo.name
        );
        if let Some(cookie) = cookie {
            req.push_str(&format!("Cookie: session={cookie}\r\n"));
        }
        let body = form.unwrap_or("");
        if form.is_some() {
            req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} on {}: no answer in 10 s", demo.name));
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    let mut set_session = None;
    let mut location = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("set-cookie") {
            if let Some(v) = value.strip_prefix("session=") {
                set_session = Some(v.split(';').next().unwrap_or("").to_owned());
            }
        } else if name.eq_ignore_ascii_case("location") {
            location = Some(value.to_owned());
        }
    }
    Response {
        status,
        set_session,
        location,
        body: body.to_owned(),
    }
}

/// Signs in as `user` on `demo`; the new session's cookie.
async fn sign_in(demo: &Demo, user: &str) -> String {
    let res = request(demo, "POST", "/login", None, Some(&format!("user={user}"))).await;
    assert_eq!(res.status, 303, "sign-in on {}: {}", demo.name, res.body);
    res.set_session.expect("a session cookie")
}

/// Whether `cookie` opens a session signed in as `user` on `demo` (`GET /`).
/// A 503 or anything but the two pages fails the test.
async fn accepted(demo: &Demo, cookie: &str, user: &str) -> bool {
    let res = request(demo, "GET", "/", Some(cookie), None).await;
    assert_eq!(res.status, 200, "GET / on {}: {}", demo.name, res.body);
    if res.body.contains(&format!("Signed in as <b>{user}</b>")) {
        true
    } else {
        assert!(
            res.body.contains("You are not signed in."),
            "GET / on {}: {}",
            demo.name,
            res.body
        );
        false
    }
}

/// An account action (`POST`) with `cookie`; the new cookie, if any.
async fn act(demo: &Demo, path: &str, cookie: &str) -> Response {
    let res = request(demo, "POST", path, Some(cookie), Some("")).await;
    assert_eq!(
        res.status, 303,
        "POST {path} on {}: {}",
        demo.name, res.body
    );
    res
}

/// Polls `cookie` on `demo` from `since` (when the logout's response
/// arrived): it must be refused for every request sent from `bound` after
/// `since` on, and never accepted again once refused; polled until `bound`
/// + [`AFTER`]. Returns when it was first refused.
async fn refused_within(
    demo: &Demo,
    cookie: &str,
    user: &str,
    since: Instant,
    bound: Duration,
    what: &str,
) -> Duration {
    let mut first_refusal: Option<Duration> = None;
    let mut polls = 0;
    loop {
        let sent = since.elapsed();
        if sent > bound + AFTER {
            break;
        }
        let ok = accepted(demo, cookie, user).await;
        polls += 1;
        match (ok, first_refusal) {
            (true, Some(refused)) => panic!(
                "{what}: the copy was refused on {} {refused:?} after the logout, \
                 then accepted again {sent:?} after it",
                demo.name
            ),
            (true, None) => assert!(
                sent < bound,
                "{what}: the copy was still accepted on {} by a request sent {sent:?} \
                 after the logout (bound {bound:?})",
                demo.name
            ),
            (false, None) => first_refusal = Some(sent),
            (false, Some(_)) => {}
        }
        tokio::time::sleep(POLL).await;
    }
    let refused = first_refusal.expect("refused at some point");
    eprintln!(
        "{what}: first refused on {} {refused:?} after the logout (bound {bound:?}, {polls} polls)",
        demo.name
    );
    refused
}

/// The user a test signs in as. Store mode: a name no other run shares,
/// so the devices page lists this run's sessions only (they expire after
/// [`LIFETIME`]). Cookie modes: a fixed name, since the revocation stores
/// keep a user's generation for good (a name per run would leave one
/// behind every run); a login reads the current one, whatever earlier runs
/// left.
fn user_for(tag: &str, store_mode: bool) -> String {
    if !store_mode {
        return format!("two-processes-{tag}");
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{tag}-{}-{nanos}", std::process::id())
}

fn env_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} must point at the server for this test"))
}

const KEY: &str = "the two-process test's secret key, long enough";
/// Ten minutes: the sessions, and the deny-list entries of their logouts,
/// don't outlive the test by long in the shared Redis and PostgreSQL.
const LIFETIME: &str = "600";

/// After a logout whose response arrived at `since`: `cookie` must stop
/// opening `user`'s session on `demo` within `bound` (zero: at once) and
/// never open it again.
async fn check_refused(
    demo: &Demo,
    cookie: &str,
    user: &str,
    since: Instant,
    bound: Duration,
    what: &str,
) {
    if bound.is_zero() {
        // Refused by the first request after the logout, and from then on.
        assert!(
            !accepted(demo, cookie, user).await,
            "{what}: accepted on {} right after the logout",
            demo.name
        );
    }
    refused_within(demo, cookie, user, since, bound, what).await;
}

/// The whole story on two processes that share `env`. `bound` is how long
/// the other process may still accept a copy (`None`: it must refuse at
/// once, store mode).
async fn logout_everywhere_story(env: &[(&str, &str)], bound: Option<Duration>, tag: &str) {
    let started = Instant::now();
    let a = start("A", env);
    let b = start("B", env);
    let user = user_for(tag, bound.is_none());
    let bound = bound.map_or(Duration::ZERO, |b| b + MARGIN);

    // 1. Sign in on A; the copied cookie works on B. Sign out on A: A
    //    refuses the copy at once, B within the bound, and never again.
    let copied = sign_in(&a, &user).await;
    assert!(accepted(&a, &copied, &user).await);
    assert!(accepted(&b, &copied, &user).await, "the copy works on B");
    act(&a, "/logout", &copied).await;
    let since = Instant::now();
    assert!(
        !accepted(&a, &copied, &user).await,
        "A refuses the copy at once"
    );
    check_refused(&b, &copied, &user, since, bound, "sign out").await;

    // 2. Two devices: one signed in on A, one on B. "Log out my other
    //    sessions" from A ends B's (on B within the bound); A's own
    //    session goes on, on both processes.
    let laptop = sign_in(&a, &user).await;
    let phone = sign_in(&b, &user).await;
    assert!(accepted(&a, &phone, &user).await);
    assert!(accepted(&b, &laptop, &user).await);
    assert!(accepted(&b, &phone, &user).await);
    if bound.is_zero() {
        let devices = request(&a, "GET", "/devices", Some(&laptop), None).await;
        assert!(devices.body.contains("2 sessions"), "{}", devices.body);
        assert!(
            devices.body.contains("test (A)") && devices.body.contains("test (B)"),
            "each session's User-Agent: {}",
            devices.body
        );
    }
    let res = act(&a, "/devices/logout-others", &laptop).await;
    let since = Instant::now();
    let laptop = res.set_session.unwrap_or(laptop); // cookie modes: signed in again
    assert!(accepted(&a, &laptop, &user).await, "this session goes on");
    assert!(
        !accepted(&a, &phone, &user).await,
        "A refuses the other session at once"
    );
    check_refused(&b, &phone, &user, since, bound, "log out my other sessions").await;
    assert!(
        accepted(&b, &laptop, &user).await,
        "this session goes on on B too"
    );

    // 3. "Log out everywhere" on A: A refuses the cookie at once, B within
    //    the bound, and never again.
    let res = act(&a, "/devices/logout-everywhere", &laptop).await;
    let since = Instant::now();
    assert_eq!(res.location.as_deref(), Some("/"));
    assert!(
        !accepted(&a, &laptop, &user).await,
        "A refuses the cookie at once"
    );
    check_refused(&b, &laptop, &user, since, bound, "log out everywhere").await;
    eprintln!("{tag}: {:?}", started.elapsed());
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL; builds and runs the demo binary"]
async fn signed_cookies_revoked_across_processes_on_redis() {
    let url = env_url("REDIS_URL");
    let staleness = STALENESS.as_secs().to_string();
    let env = [
        ("WEBSESSION_SECRET_KEY", KEY),
        ("WEBSESSION_PERMANENT_LIFETIME", LIFETIME),
        ("WEBSESSION_MODE", "signed"),
        ("WEBSESSION_REVOCATION", url.as_str()),
        ("WEBSESSION_REVOCATION_STALENESS", staleness.as_str()),
    ];
    logout_everywhere_story(&env, Some(STALENESS), "redis-cookie").await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL at DATABASE_URL; builds and runs the demo binary"]
async fn signed_cookies_revoked_across_processes_on_postgres() {
    let url = env_url("DATABASE_URL");
    let staleness = STALENESS.as_secs().to_string();
    let env = [
        ("WEBSESSION_SECRET_KEY", KEY),
        ("WEBSESSION_PERMANENT_LIFETIME", LIFETIME),
        ("WEBSESSION_MODE", "signed"),
        ("WEBSESSION_REVOCATION", url.as_str()),
        ("WEBSESSION_REVOCATION_STALENESS", staleness.as_str()),
    ];
    logout_everywhere_story(&env, Some(STALENESS), "pg-cookie").await;
}

#[tokio::test]
#[ignore = "needs Redis at REDIS_URL; builds and runs the demo binary"]
async fn store_sessions_end_across_processes_on_redis() {
    let url = env_url("REDIS_URL");
    let env = [
        ("WEBSESSION_SECRET_KEY", KEY),
        ("WEBSESSION_PERMANENT_LIFETIME", LIFETIME),
        ("WEBSESSION_STORE", url.as_str()),
    ];
    logout_everywhere_story(&env, None, "redis-store").await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL at DATABASE_URL; builds and runs the demo binary"]
async fn store_sessions_end_across_processes_on_postgres() {
    let url = env_url("DATABASE_URL");
    let env = [
        ("WEBSESSION_SECRET_KEY", KEY),
        ("WEBSESSION_PERMANENT_LIFETIME", LIFETIME),
        ("WEBSESSION_STORE", url.as_str()),
    ];
    logout_everywhere_story(&env, None, "pg-store").await;
}
