//! Load and update per store, in the same run, plus the Redis commands per
//! operation counted from the server's own statistics.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://postgres@127.0.0.1/test \
//!     cargo bench -p websession-examples --bench stores
//! ```
//!
//! Stores whose URL is not set are skipped (and say so).

#![allow(missing_docs)] // criterion_group! generates undocumented items
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use websession::store::{ChangeSet, MemoryStore, Record, SessionId, SessionStore};
use websession::{Map, Value};

fn now() -> u64 {
    websession::Clock::system().unix_seconds()
}

fn typical() -> Map {
    let mut m = Map::new();
    m.insert(
        "csrf_token".into(),
        Value::from("6f1c0b7e3d2a4f5e9a8b7c6d5e4f3a2b1c0d9e8f"),
    );
    m.insert("pet_name".into(), Value::from("Rex"));
    m.insert("user_id".into(), Value::Int(12345));
    m
}

fn bench_store(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<dyn SessionStore>,
) {
    let t = now();
    let id = SessionId::generate().hash();
    rt.block_on(store.create(&id, &Record::new(typical(), t, t + 3600), t))
        .expect("create");
    let mut group = c.benchmark_group(format!("store/{name}"));
    group.bench_function("load", |b| {
        b.iter(|| rt.block_on(store.load(&id, t)).expect("load"))
    });
    let mut i = 0i64;
    group.bench_function("update_one_key", |b| {
        b.iter(|| {
            i += 1;
            let changes = ChangeSet::touch(t + 3600).with_set("counter", Value::Int(i));
            rt.block_on(store.update(&id, &changes, t)).expect("update");
        })
    });
    group.finish();
}

/// Top-level requests the server received (one per round trip: `HGETALL`,
/// `EVALSHA`/`EVAL`, and the rest), from `INFO commandstats`. Commands a Lua
/// script runs inside the server are not round trips and are not counted.
fn redis_round_trips(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("client");
    let mut conn = client.get_connection().expect("conn");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("info");
    let calls = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    ["hgetall", "evalsha", "eval", "script|load", "del", "sadd"]
        .iter()
        .map(|c| calls(c))
        .sum()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("rt");
    bench_store(c, &rt, "memory", Arc::new(MemoryStore::new()));

    let dir = std::env::temp_dir().join(format!("websession-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = rt
        .block_on(websession_sqlite::SqliteStore::connect(
            dir.join("s.db").to_str().expect("utf8"),
        ))
        .expect("sqlite");
    bench_store(c, &rt, "sqlite", Arc::new(sqlite));

    match std::env::var("REDIS_URL") {
        Ok(url) => {
            let store = Arc::new(
                rt.block_on(websession_redis::RedisStore::connect(&url))
                    .expect("redis"),
            );
            bench_store(c, &rt, "redis", store.clone());
            // Round trips per operation, counted by the server.
            let t = now();
            let id = SessionId::generate().hash();
            rt.block_on(store.create(&id, &Record::new(typical(), t, t + 3600), t))
                .expect("create");
            let n = 1000;
            let before = redis_round_trips(&url);
            for _ in 0..n {
                rt.block_on(store.load(&id, t)).expect("load");
            }
            let mid = redis_round_trips(&url);
            for i in 0..n {
                let changes = ChangeSet::touch(t + 3600).with_set("counter", Value::Int(i));
                rt.block_on(store.update(&id, &changes, t)).expect("update");
            }
            let after = redis_round_trips(&url);
            eprintln!(
                "redis round trips per load: {:.2}, per update: {:.2} (shared server: other clients add noise)",
                (mid - before) as f64 / n as f64,
                (after - mid) as f64 / n as f64
            );
        }
        Err(_) => eprintln!("REDIS_URL not set: skipping the Redis store"),
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let store = rt
                .block_on(websession_postgres::PostgresStore::connect(&url))
                .expect("postgres");
            rt.block_on(store.migrate()).expect("migrate");
            bench_store(c, &rt, "postgres", Arc::new(store));
        }
        Err(_) => eprintln!("DATABASE_URL not set: skipping the PostgreSQL store"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
