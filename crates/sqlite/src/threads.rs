//! The store's threads: the writer (group commit), the readers, the
//! checkpointer; the jobs they run are in `jobs.rs`.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use websession_core::store::StoreError;

use crate::error::{unavailable, QUEUED_TOO_LONG};
use crate::jobs::{ReadJob, ReadOp, Reply, WriteJob, MAX_BATCH};
use crate::reads::{load, sessions_of};
use crate::revocations;
use crate::statements::Statements;
use crate::writes::run;

/// Runs queued reads until every store handle is gone.
pub(crate) fn reader_loop(conn: &Connection, sql: &Statements, queue: &flume::Receiver<ReadJob>) {
    while let Ok(ReadJob { op, now, deadline }) = queue.recv() {
        match op {
            ReadOp::Load { id, reply } => answer(reply, deadline, || load(conn, sql, &id, now)),
            ReadOp::SessionsOf { user, reply } => {
                answer(reply, deadline, || sessions_of(conn, sql, &user, now));
            }
            ReadOp::Check { user, id, reply } => {
                answer(reply, deadline, || {
                    revocations::check(conn, sql, user.as_deref(), &id, now)
                });
            }
            ReadOp::Generation { user, reply } => {
                answer(reply, deadline, || {
                    revocations::generation(conn, sql, &user)
                });
            }
        }
    }
}

/// Sends `read()`'s result, unless the caller gave up or waited too long.
fn answer<T>(reply: Reply<T>, deadline: Instant, read: impl FnOnce() -> Result<T, StoreError>) {
    if reply.is_closed() {
        return; // the caller gave up
    }
    let result = if Instant::now() >= deadline {
        Err(unavailable(QUEUED_TOO_LONG))
    } else {
        read()
    };
    let _ = reply.send(result);
}

/// How often at most the checkpoint thread checkpoints.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the log into the database file (`wal_checkpoint(PASSIVE)`: never
/// blocks the writer or the readers) after commits, at most every
/// [`CHECKPOINT_EVERY`], until the writer stops. The `fsync`s of a
/// checkpoint happen here, not in the writer's commits.
pub(crate) fn checkpoint_loop(conn: &Connection, commits: &flume::Receiver<()>) {
    while commits.recv().is_ok() {
        // Busy (another checkpoint runs) or failing: the next one catches up.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// Runs queued writes, in batches, until every store handle is gone.
pub(crate) fn writer_loop(
    mut conn: Connection,
    sql: &Statements,
    queue: &flume::Receiver<WriteJob>,
    committed: &flume::Sender<()>,
) {
    let mut batch: Vec<WriteJob> = Vec::with_capacity(MAX_BATCH);
    let mut busy_timeout = None;
    while let Ok(first) = queue.recv() {
        // Let the threads that are ready to run (on a busy core: the async
        // workers, with more writes to queue) go first, so this batch takes
        // them too: without it, on one core, each write woke the writer
        // and was committed alone. Free when the writer has a core of its own.
        std::thread::yield_now();
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let mut jobs = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            if job.reply.is_closed() {
                continue; // the caller gave up: nobody waits for the answer
            }
            if now >= job.deadline {
                let _ = job.reply.send(Err(unavailable(QUEUED_TOO_LONG)));
                continue;
            }
            jobs.push(job);
        }
        let Some(earliest) = jobs.iter().map(|j| j.deadline).min() else {
            continue;
        };
        // Wait for another process's lock no longer than the most patient
        // caller of this batch may still wait (whole milliseconds, at least 1).
        let wait = Duration::from_millis(
            u64::try_from(earliest.saturating_duration_since(now).as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        if busy_timeout != Some(wait) && conn.busy_timeout(wait).is_ok() {
            busy_timeout = Some(wait);
        }
        let results = run(&mut conn, sql, &jobs);
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
        let _ = committed.try_send(()); // full: a checkpoint is due anyway
    }
}
