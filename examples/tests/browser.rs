//! The pet-name demo in a real browser: headless Chromium driven over
//! WebDriver (chromedriver), from Rust. `.ci/run` installs Debian's
//! `chromium` and `chromium-driver`; `cargo test` skips these tests and says
//! why (they are `#[ignore]`d with a reason).
//!
//! Two browsers (two WebDriver sessions, each with its own profile, so its
//! own cookie jar) sign in as one user and log each other out from the
//! devices page: in store mode on SQLite (the embedded store), and with
//! revocable signed cookies.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use websession::store::MemoryStore;
use websession::{Key, KeyRing, Overflow, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::{demo_routes, open_store, petname_routes, revocation, Accounts};

/// One browser test at a time: each starts Chromium, and the machine may
/// have two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One WebDriver command over a fresh HTTP/1.1 connection.
async fn wd(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("chromedriver");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    // chromedriver may keep the connection open: read the head, then exactly
    // Content-Length bytes.
    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    })
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok());
                if len.is_some_and(|len| body.len() >= len) || n == 0 {
                    return body.to_owned();
                }
            }
            assert!(n > 0, "chromedriver closed the connection early");
        }
    };
    let body = tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: timed out"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"))
}

struct Driver {
    port: u16,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn start_driver() -> Driver {
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (install chromium-driver)"));
    let driver = Driver { port, child };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// The demo on `port` with this key and a 4-second permanent lifetime;
/// sessions past the cookie limit overflow to a memory store.
async fn serve(port: u16, key: &str) -> JoinHandle<()> {
    let config = SessionConfig::default()
        .with_lifetime(|l| l.with_permanent_lifetime(std::time::Duration::from_secs(4)));
    let sessions = Sessions::signed(KeyRing::new(Key::from_utf8(key).expect("key")), config)
        .expect("valid")
        .with_overflow(Overflow::new(MemoryStore::new()))
        .expect("valid overflow");
    serve_app(
        port,
        petname_routes().layer(SessionManagerLayer::new(sessions)),
    )
    .await
}

/// Serves `app` on `port` (retrying while a previous server lets it go).
async fn serve_app(port: u16, app: axum::Router) -> JoinHandle<()> {
    let mut listener = None;
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => {
                listener = Some(l);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let listener = listener.expect("the demo's port");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

struct Browser {
    driver: u16,
    session: String,
    profile: std::path::PathBuf,
}

impl Browser {
    /// A new WebDriver session: headless Chromium with a profile (cookie
    /// jar) of its own.
    async fn open(driver: &Driver, name: &str) -> Self {
        let profile =
            std::env::temp_dir().join(format!("websession-chromium-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let created = wd(driver.port, "POST", "/session", Some(caps)).await;
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Self {
            driver: driver.port,
            session,
            profile,
        }
    }

    /// Ends the WebDriver session (Chromium quits) and removes the profile.
    async fn close(self) {
        self.cmd("DELETE", "", None).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        wd(
            self.driver,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
        .await["value"]
            .clone()
    }

    async fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn wait_for(&self, text: &str) -> String {
        let mut page = String::new();
        for _ in 0..50 {
            page = self.source().await;
            if page.contains(text) {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{text:?} never appeared; the page is:\n{page}");
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }
}

/// Fills and submits the pet-name form.
async fn set_pet(b: &Browser, base: &str, name: &str) {
    b.go(&format!("{base}/petname")).await;
    b.type_into("input[name=pet]", name).await;
    b.click("button[type=submit]").await;
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them)"]
async fn petname_in_headless_chromium() {
    let _one = ONE_AT_A_TIME.lock().await;
    let key = "the browser test's secret key, long enough";
    let port = free_port();
    let server = serve(port, key).await;
    let driver = start_driver().await;
    let b = Browser::open(&driver, "petname").await;
    let base = format!("http://127.0.0.1:{port}");

    // Fill the form.
    b.cmd("POST", "/url", Some(json!({"url": format!("{base}/")})))
        .await;
    b.wait_for("I do not know your pet's name.").await;
    set_pet(&b, &base, "Rex").await;
    b.wait_for("Your pet's name is Rex.").await;

    // After a reload the name is still there.
    b.cmd("POST", "/refresh", Some(json!({}))).await;
    b.wait_for("Your pet's name is Rex.").await;

    // The cookie is HttpOnly: page scripts can't see it, the browser has it.
    let visible = b
        .cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": "return document.cookie", "args": []})),
        )
        .await;
    assert!(
        !visible.as_str().unwrap_or_default().contains("session="),
        "document.cookie shows {visible}"
    );
    let cookie = b.cmd("GET", "/cookie/session", None).await;
    assert_eq!(cookie["httpOnly"], true, "{cookie}");

    // Restart the server with the same key: the name survives.
    server.abort();
    let _ = server.await;
    let server = serve(port, key).await;
    b.cmd("POST", "/refresh", Some(json!({}))).await;
    b.wait_for("Your pet's name is Rex.").await;

    // Past the 4-second permanent lifetime, it is forgotten.
    tokio::time::sleep(Duration::from_secs(6)).await;
    b.cmd("POST", "/refresh", Some(json!({}))).await;
    b.wait_for("I do not know your pet's name.").await;

    // A name longer than a cookie (6,000 random letters): the session moves
    // to the store, the browser keeps a short cookie, and the name stays
    // across reloads; a short name brings it back into the cookie.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let long: String = (0..6000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    set_pet(&b, &base, &long).await;
    b.wait_for(&long[..200]).await;
    let cookie = b.cmd("GET", "/cookie/session", None).await;
    let value = cookie["value"].as_str().unwrap_or_default().to_owned();
    assert_eq!(value.len(), 43, "the cookie holds a store id: {cookie}");
    b.cmd("POST", "/refresh", Some(json!({}))).await;
    b.wait_for(&long[..200]).await;
    set_pet(&b, &base, "Rex").await;
    b.wait_for("Your pet's name is Rex.").await;
    let cookie = b.cmd("GET", "/cookie/session", None).await;
    assert!(
        cookie["value"].as_str().is_some_and(|v| v.contains('.')),
        "back in a signed cookie: {cookie}"
    );

    b.close().await;
    server.abort();
}

/// Signs `b` in as `user` through the demo's form.
async fn sign_in(b: &Browser, base: &str, user: &str) {
    b.go(&format!("{base}/login")).await;
    b.wait_for("This is a demo sign-in").await;
    b.type_into("input[name=user]", user).await;
    b.click("button[type=submit]").await;
    b.wait_for(&format!("Signed in as <b>{user}</b>")).await;
}

/// Reloads `b`'s page and waits for `text`.
async fn reload_until(b: &Browser, text: &str) -> String {
    b.cmd("POST", "/refresh", Some(json!({}))).await;
    b.wait_for(text).await
}

/// The devices story with two browsers signed in as one user on the demo
/// at `base`: "log out my other sessions" from the first ends the second;
/// the second signs in again, and "log out everywhere" from it ends both.
/// `listed`: the mode lists the sessions (store mode).
async fn two_browsers(driver: &Driver, base: &str, listed: bool) {
    let first = Browser::open(driver, "first").await;
    let second = Browser::open(driver, "second").await;
    let user = "alice";
    sign_in(&first, base, user).await;
    sign_in(&second, base, user).await;

    // The first sees both sessions (store mode), or that the mode can't list them.
    first.go(&format!("{base}/devices")).await;
    if listed {
        let page = first.wait_for("2 sessions").await;
        assert_eq!(page.matches("class=\"session\"").count(), 2, "{page}");
        assert_eq!(page.matches("(this browser)").count(), 1, "{page}");
        assert!(page.contains("HeadlessChrome"), "the User-Agent: {page}");
    } else {
        first
            .wait_for("this mode can't show where you're logged in")
            .await;
    }

    // "Log out my other sessions": the second is signed out at its next
    // request; the first stays.
    first.click("#logout-others").await;
    first.wait_for("Your other sessions are logged out.").await;
    if listed {
        first.wait_for("1 session:").await;
    }
    reload_until(&second, "You are not signed in.").await;
    first.go(&format!("{base}/")).await;
    first.wait_for(&format!("Signed in as <b>{user}</b>")).await;

    // The second signs in again, and logs out everywhere: both end.
    sign_in(&second, base, user).await;
    second.go(&format!("{base}/devices")).await;
    if listed {
        second.wait_for("2 sessions").await;
    }
    second.click("#logout-everywhere").await;
    second.wait_for("You are not signed in.").await;
    let cookie = second.cmd("GET", "/cookie/session", None).await;
    assert!(
        cookie.get("value").is_none(),
        "the second's cookie is deleted: {cookie}"
    );
    reload_until(&first, "You are not signed in.").await;
    first.go(&format!("{base}/devices")).await;
    first.wait_for("You are not signed in.").await;

    first.close().await;
    second.close().await;
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them)"]
async fn devices_page_in_two_chromiums_store_mode_on_sqlite() {
    let _one = ONE_AT_A_TIME.lock().await;
    let file = std::env::temp_dir().join(format!("websession-browser-{}.db", std::process::id()));
    let store = open_store(&format!("sqlite://{}", file.display()))
        .await
        .expect("SQLite");
    let sessions: Sessions = Sessions::store(store, SessionConfig::default())
        .expect("valid")
        .into();
    let app = demo_routes(Accounts::new(&sessions)).layer(SessionManagerLayer::new(sessions));
    let port = free_port();
    let server = serve_app(port, app).await;
    let driver = start_driver().await;
    two_browsers(&driver, &format!("http://127.0.0.1:{port}"), true).await;
    server.abort();
    let _ = server.await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them)"]
async fn devices_page_in_two_chromiums_revocable_cookies() {
    let _one = ONE_AT_A_TIME.lock().await;
    let revocation = revocation("memory").await.expect("revocation");
    let sessions: Sessions =
        Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())
            .expect("valid")
            .with_revocation(revocation)
            .into();
    let accounts = Accounts::new(&sessions);
    let app = demo_routes(accounts).layer(SessionManagerLayer::new(sessions));
    let port = free_port();
    let server = serve_app(port, app).await;
    let driver = start_driver().await;
    two_browsers(&driver, &format!("http://127.0.0.1:{port}"), false).await;
    server.abort();
}
