//! The pet-name demo in a real browser: headless Chromium driven over
//! WebDriver (chromedriver), from Rust. `.ci/run` installs Debian's
//! `chromium` and `chromium-driver`; `cargo test` skips this test and says
//! why (it is `#[ignore]`d with a reason).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use websession::core::store::MemoryStore;
use websession::{Key, KeyRing, Overflow, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::petname_routes;

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
        .with_permanent_lifetime(time::Duration::seconds(4))
        .with_overflow(Overflow::new(MemoryStore::new()));
    let sessions =
        Sessions::signed(KeyRing::new(Key::from_utf8(key).expect("key")), config).expect("valid");
    let app = petname_routes().layer(SessionManagerLayer::new(sessions));
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
}

impl Browser {
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
    b.cmd(
        "POST",
        "/url",
        Some(json!({"url": format!("{base}/petname")})),
    )
    .await;
    let input = b.find("input[name=pet]").await;
    b.cmd(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({"text": name})),
    )
    .await;
    let button = b.find("button[type=submit]").await;
    b.cmd("POST", &format!("/element/{button}/click"), Some(json!({})))
        .await;
}

#[tokio::test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them)"]
async fn petname_in_headless_chromium() {
    let key = "the browser test's secret key, long enough";
    let port = free_port();
    let server = serve(port, key).await;
    let driver = start_driver().await;
    let profile = std::env::temp_dir().join(format!("websession-chromium-{}", std::process::id()));
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-first-run",
                     format!("--user-data-dir={}", profile.display())]
        }
    }}});
    let created = wd(driver.port, "POST", "/session", Some(caps)).await;
    let session = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {created}"))
        .to_owned();
    let b = Browser {
        driver: driver.port,
        session,
    };
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

    b.cmd("DELETE", "", None).await;
    server.abort();
    let _ = std::fs::remove_dir_all(profile);
}
