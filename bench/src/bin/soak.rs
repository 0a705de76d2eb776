//! Soak test: many concurrent clients, each with its own session, mixing
//! reads and writes against a real HTTP server on 127.0.0.1 for a bounded
//! time. Every client checks that it reads back its own latest write. The
//! server's memory (RSS) is sampled every second.
//!
//! ```text
//! soak --mode signed|redis [--seconds 120] [--clients 64]
//! ```
//!
//! Exit code 0 when there were no errors, no lost writes and memory stayed
//! flat; the figures go to stdout as JSON, for BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions};

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    writes: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

/// One request on a fresh connection: (status, session cookie set, body).
async fn request(
    port: u16,
    path: &str,
    cookie: Option<&str>,
) -> anyhow::Result<(u16, Option<String>, String)> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let cookie = cookie
        .map(|c| format!("Cookie: session={c}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{cookie}\r\n").as_bytes(),
    )
    .await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("not HTTP")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status")?;
    let set = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if !k.eq_ignore_ascii_case("set-cookie") {
            return None;
        }
        Some(
            v.trim()
                .strip_prefix("session=")?
                .split(';')
                .next()?
                .to_owned(),
        )
    });
    Ok((status, set, body.to_owned()))
}

async fn client(port: u16, id: u64, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let mut cookie: Option<String> = None;
    let mut last: Option<u64> = None;
    let mut n = id * 1_000_000;
    let mut rng = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while !stop.load(Ordering::Relaxed) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let write = last.is_none() || rng.is_multiple_of(3);
        let path = if write {
            n += 1;
            format!("/set/{n}")
        } else {
            "/get".to_owned()
        };
        stats.requests.fetch_add(1, Ordering::Relaxed);
        match request(port, &path, cookie.as_deref()).await {
            Ok((200, set, body)) => {
                if let Some(c) = set {
                    cookie = Some(c);
                }
                if write {
                    stats.writes.fetch_add(1, Ordering::Relaxed);
                    last = Some(n);
                } else if body.trim().parse::<u64>().ok() != last {
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    eprintln!("client {id}: expected {last:?}, read {body:?}");
                }
            }
            Ok((status, _, _)) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("client {id}: status {status}");
            }
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("client {id}: {e}");
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mode = arg("--mode").unwrap_or_else(|| "signed".into());
    let seconds: u64 = arg("--seconds")
        .map_or(Ok(120), |s| s.parse())
        .context("--seconds")?;
    let clients: u64 = arg("--clients")
        .map_or(Ok(64), |s| s.parse())
        .context("--clients")?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let keys = KeyRing::new(Key::from_utf8("a soak test secret key, 32 bytes long")?);
        let config = SessionConfig::default().with_insecure_cookie();
        let sessions = match mode.as_str() {
            "signed" => Sessions::signed(keys, config),
            "redis" => {
                let url =
                    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
                Sessions::with_store(websession_redis::RedisStore::connect(&url).await?, config)
            }
            other => bail!("--mode must be signed or redis, not {other}"),
        }?;
        let layer = SessionManagerLayer::new(sessions);
        let app = Router::new()
            .route(
                "/get",
                get(|s: Session| async move {
                    s.get::<u64>("counter")
                        .ok()
                        .flatten()
                        .map_or(String::new(), |n| n.to_string())
                }),
            )
            .route(
                "/set/{n}",
                get(|s: Session, Path(n): Path<u64>| async move {
                    s.insert("counter", n).map(|()| "ok").unwrap_or("error")
                }),
            )
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..clients)
            .map(|id| tokio::spawn(client(port, id, stats.clone(), stop.clone())))
            .collect();
        let started = Instant::now();
        let mut samples = Vec::new();
        while started.elapsed() < Duration::from_secs(seconds) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            samples.push(rss_kb());
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // Memory is "flat" when the last third of the run stays within 20% +
        // 8 MB of the level reached after the first third (warm-up).
        let third = (samples.len() / 3).max(1);
        let warm = samples.get(third.saturating_sub(1)).copied().unwrap_or(0);
        let late_max = samples.iter().skip(2 * third).copied().max().unwrap_or(0);
        let flat = late_max <= warm + warm / 5 + 8 * 1024;
        let report = serde_json::json!({
            "mode": mode,
            "clients": clients,
            "seconds": elapsed,
            "requests": stats.requests.load(Ordering::Relaxed),
            "writes": stats.writes.load(Ordering::Relaxed),
            "req_per_s": stats.requests.load(Ordering::Relaxed) as f64 / elapsed,
            "errors": stats.errors.load(Ordering::Relaxed),
            "lost_writes": stats.lost.load(Ordering::Relaxed),
            "rss_kb_after_warmup": warm,
            "rss_kb_max_last_third": late_max,
            "rss_kb_final": samples.last().copied().unwrap_or(0),
            "memory_flat": flat,
        });
        println!("{report}");
        if stats.errors.load(Ordering::Relaxed) > 0
            || stats.lost.load(Ordering::Relaxed) > 0
            || !flat
        {
            bail!("soak failed: {report}");
        }
        Ok(())
    })
}
