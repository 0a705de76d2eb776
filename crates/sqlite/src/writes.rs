//! The writer's transactions: a batch of writes, each in its own savepoint.

use rusqlite::{params, Connection, ErrorCode};
use websession_core::json::ValueRef;
use websession_core::store::{ChangeSet, IdHash, StoreError, StoreErrorKind};

use crate::connection::set_max_size;
use crate::error::{err, secs, unavailable, STOPPED};
use crate::jobs::{Write, WriteJob};
use crate::statements::Statements;

/// How a transaction failed as a whole.
enum TxError {
    /// `BEGIN` failed (no write lock within the timeout): nothing ran.
    Begin(StoreError),
    /// Something after `BEGIN` failed: nothing was committed.
    Later(StoreError),
}

/// The batch in one transaction; if that fails after `BEGIN`, each write in
/// a transaction of its own, so each caller gets its own answer.
pub(crate) fn run(
    conn: &mut Connection,
    sql: &Statements,
    jobs: &[WriteJob],
) -> Vec<Result<u64, StoreError>> {
    match transaction(conn, sql, jobs) {
        Ok(results) => results,
        Err(TxError::Begin(e) | TxError::Later(e)) if jobs.len() == 1 => vec![Err(e)],
        Err(TxError::Begin(e)) => {
            let kind = e.kind();
            let mut results = vec![Err(e)];
            results.extend(jobs[1..].iter().map(|_| {
                Err(StoreError::new(
                    kind,
                    "the SQLite write lock was not available",
                ))
            }));
            results
        }
        Err(TxError::Later(_)) => {
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                let result = match transaction(conn, sql, std::slice::from_ref(job)) {
                    Ok(mut one) => one.pop().unwrap_or_else(|| Err(unavailable(STOPPED))),
                    Err(TxError::Begin(e) | TxError::Later(e)) => Err(e),
                };
                results.push(result);
            }
            results
        }
    }
}

/// A write's own failure (rolled back to its savepoint, the batch goes on),
/// or one that ends the transaction.
enum OpError {
    Own(StoreError),
    Fatal(rusqlite::Error),
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            // A refused row (a collision, a trigger's RAISE): that statement
            // is undone, the transaction is intact.
            rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
                Self::Own(err(e))
            }
            _ => Self::Fatal(e),
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}

fn transaction(
    conn: &mut Connection,
    sql: &Statements,
    jobs: &[WriteJob],
) -> Result<Vec<Result<u64, StoreError>>, TxError> {
    exec(conn, "BEGIN IMMEDIATE").map_err(|e| TxError::Begin(err(e)))?;
    let single = jobs.len() == 1;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        if !single {
            if let Err(e) = exec(conn, "SAVEPOINT job") {
                rollback(conn);
                return Err(TxError::Later(err(e)));
            }
        }
        match apply_write(conn, sql, &job.op) {
            Ok(n) => {
                if !single {
                    if let Err(e) = exec(conn, "RELEASE job") {
                        rollback(conn);
                        return Err(TxError::Later(err(e)));
                    }
                }
                results.push(Ok(n));
            }
            Err(OpError::Own(e)) if conn.is_autocommit() => {
                // SQLite rolled the whole transaction back.
                return Err(TxError::Later(e));
            }
            Err(OpError::Own(e)) => {
                if single {
                    rollback(conn);
                    return Ok(vec![Err(e)]);
                }
                if let Err(e) =
                    exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
                {
                    rollback(conn);
                    return Err(TxError::Later(err(e)));
                }
                results.push(Err(e));
            }
            Err(OpError::Fatal(e)) => {
                rollback(conn);
                return Err(TxError::Later(err(e)));
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        rollback(conn);
        return Err(TxError::Later(err(e)));
    }
    Ok(results)
}

fn apply_write(conn: &Connection, sql: &Statements, op: &Write) -> Result<u64, OpError> {
    match op {
        Write::Create { id, record, now } => {
            // An expired record with this id is dead: it may be replaced.
            conn.prepare_cached(&sql.delete_if_expired)?
                .execute(params![id.as_bytes(), now])?;
            conn.prepare_cached(&sql.insert)?.execute(params![
                id.as_bytes(),
                secs(record.created_at),
                secs(record.expires_at),
                record.user.as_deref()
            ])?;
            insert_values(conn, sql, id, record.data.iter())?;
            Ok(1)
        }
        Write::Update { id, changes, now } => {
            apply(conn, sql, id, changes, *now)?;
            Ok(1)
        }
        Write::Cycle {
            old,
            new,
            changes,
            now,
        } => {
            conn.prepare_cached(&sql.delete_if_expired)?
                .execute(params![new.as_bytes(), now])?;
            // Values follow through ON UPDATE CASCADE; a live `new` is a
            // unique violation (a collision, this write's own failure).
            let moved = conn.prepare_cached(&sql.move_id)?.execute(params![
                new.as_bytes(),
                old.as_bytes(),
                now
            ])?;
            if moved == 0 {
                return Err(OpError::Own(StoreError::from_kind(
                    StoreErrorKind::NotFound,
                )));
            }
            apply(conn, sql, new, changes, *now)?;
            Ok(1)
        }
        Write::Delete { id } => {
            let n = conn
                .prepare_cached(&sql.delete)?
                .execute(params![id.as_bytes()])?;
            Ok(n as u64)
        }
        Write::DeleteAllFor { user } => {
            let n = conn
                .prepare_cached(&sql.delete_user)?
                .execute(params![user])?;
            Ok(n as u64)
        }
        Write::DeleteOthersOf { user, keep, now } => {
            let n = conn.prepare_cached(&sql.delete_others)?.execute(params![
                user,
                keep.as_bytes(),
                now
            ])?;
            Ok(n as u64)
        }
        Write::MaxSize(bytes) => Ok(set_max_size(conn, *bytes)?),
        Write::DeleteExpired { now } => {
            let n = conn
                .prepare_cached(&sql.delete_expired)?
                .execute(params![now])?;
            Ok(n as u64)
        }
        Write::Bump { user } => {
            let generation: i64 = conn
                .prepare_cached(&sql.bump)?
                .query_row(params![user], |row| row.get(0))?;
            u64::try_from(generation)
                .map_err(|e| OpError::Own(StoreError::new(StoreErrorKind::Corrupt, e)))
        }
        Write::Deny { id, until } => {
            conn.prepare_cached(&sql.deny)?
                .execute(params![id.as_bytes(), until])?;
            Ok(1)
        }
        Write::DeleteExpiredDenials { now } => {
            let n = conn
                .prepare_cached(&sql.delete_expired_denials)?
                .execute(params![now])?;
            Ok(n as u64)
        }
    }
}

fn insert_values<'a>(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    mut entries: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
) -> Result<(), OpError> {
    let Some(first) = entries.next() else {
        return Ok(());
    };
    let mut stmt = conn.prepare_cached(&sql.set_value)?;
    for (key, value) in std::iter::once(first).chain(entries) {
        let text = match value {
            ValueRef::Value(v) => v.to_tagged_json(),
            v => v.to_value().to_tagged_json(),
        };
        stmt.execute(params![id.as_bytes(), key, text])?;
    }
    Ok(())
}

/// Applies `changes` to the live record `id`: the expiry and user, then
/// `cleared`, `removed` and `set`, in that order. What `update` does, and
/// what `cycle_id` does after the move.
fn apply(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    changes: &ChangeSet,
    now: i64,
) -> Result<(), OpError> {
    let (set_user, user) = match &changes.user {
        Some(u) => (true, u.as_deref()),
        None => (false, None),
    };
    let updated = conn.prepare_cached(&sql.touch)?.execute(params![
        secs(changes.expires_at),
        set_user,
        user,
        id.as_bytes(),
        now
    ])?;
    if updated == 0 {
        // Deleted or expired: never recreated.
        return Err(OpError::Own(StoreError::from_kind(
            StoreErrorKind::NotFound,
        )));
    }
    if changes.cleared {
        conn.prepare_cached(&sql.clear_values)?
            .execute(params![id.as_bytes()])?;
    }
    if !changes.removed.is_empty() {
        let mut stmt = conn.prepare_cached(&sql.remove_value)?;
        for key in &changes.removed {
            stmt.execute(params![id.as_bytes(), key])?;
        }
    }
    let set = changes
        .set
        .iter()
        .map(|(k, v)| (k.as_str(), ValueRef::Value(v)));
    insert_values(conn, sql, id, set)
}
