//! The SQLite store in-process, without HTTP: `--tasks` tasks on a
//! one-worker tokio runtime call the store as the session layer does, each
//! a load (and with `--writes`, an update of one key) on a session picked
//! from `--sessions`, for `--seconds`; prints calls per second. Run it pinned
//! to one core, as the HTTP benchmark pins its servers:
//!
//! ```text
//! taskset -c 0 target/release/sqlite-mix [--sessions 10000] [--tasks 64]
//!     [--seconds 3] [--writes] [--direct-reads on|off]
//! ```
//!
//! It compares the store's own settings (direct reads against reader
//! threads) on the same build; it is not a peer comparison.

use std::sync::Arc;
use std::time::{Duration, Instant};

use websession_core::store::{ChangeSet, Record, SessionId, SessionStore};
use websession_core::{Map, Value};
use websession_sqlite::{SqliteOptions, SqliteStore};

struct Args {
    sessions: usize,
    tasks: usize,
    seconds: u64,
    writes: bool,
    direct_reads: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        sessions: 10_000,
        tasks: 64,
        seconds: 3,
        writes: false,
        direct_reads: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--sessions" => args.sessions = value()?.parse::<usize>()?.max(1),
            "--tasks" => args.tasks = value()?.parse::<usize>()?.max(1),
            "--seconds" => args.seconds = value()?.parse()?,
            "--writes" => args.writes = true,
            "--direct-reads" => args.direct_reads = value()? != "off",
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let path =
        std::env::temp_dir().join(format!("websession-sqlite-mix-{}.db", std::process::id()));
    let options = SqliteOptions::default().with_direct_reads(args.direct_reads);
    let store = SqliteStore::connect_with(&path.display().to_string(), options).await?;
    let t = websession_core::unix_seconds(time::OffsetDateTime::now_utc());
    let mut ids = Vec::with_capacity(args.sessions);
    for _ in 0..args.sessions {
        let id = SessionId::generate().hash();
        let mut data = Map::new();
        data.insert("pet_name".into(), Value::from("Rex"));
        store
            .create(&id, &Record::new(data, t, t + 3600), t)
            .await?;
        ids.push(id);
    }
    let ids = Arc::new(ids);
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..args.tasks {
        let (store, ids) = (store.clone(), Arc::clone(&ids));
        tasks.spawn(async move {
            let mut calls = 0_usize;
            while Instant::now() < until {
                let id = &ids[(calls * 7919 + task * 104_729) % ids.len()];
                store.load(id, t).await?;
                if args.writes {
                    let value = Value::Int(i64::try_from(calls).unwrap_or(0));
                    let changes = ChangeSet::touch(t + 3600).with_set("pet_name", value);
                    store.update(id, &changes, t).await?;
                }
                calls += 1;
            }
            anyhow::Ok(calls)
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done??;
    }
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    println!(
        "{} per second ({}, {} sessions, {} tasks, direct reads {})",
        total / usize::try_from(args.seconds.max(1)).unwrap_or(1),
        if args.writes { "load + update" } else { "load" },
        args.sessions,
        args.tasks,
        if args.direct_reads { "on" } else { "off" },
    );
    Ok(())
}
