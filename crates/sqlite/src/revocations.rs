//! [`SqliteRevocations`]: the [`RevocationStore`] of a [`SqliteStore`], on
//! the store's own connections and threads.

use std::fmt;

use rusqlite::{params, Connection};
use websession_core::store::{IdHash, RevocationStore, StoreError, StoreErrorKind, Verdict};

use crate::error::{err, secs};
use crate::jobs::{ReadOp, Write};
use crate::statements::Statements;
use crate::SqliteStore;

/// The revocations of cookie sessions (per-user generations and the
/// deny-list of session id hashes) in a [`SqliteStore`]'s database, in the
/// tables `{prefix}generations` and `{prefix}denied` (see "Revocations" in
/// the crate docs). Made by [`SqliteStore::revocations`].
///
/// It runs on the store's connections and threads: writes (`bump_generation`,
/// `deny`, `delete_expired_denials`) go to the store's writer thread, reads
/// (`check`, `generation`) the way a `load` goes. Cloning is cheap; the
/// store's threads run as long as a store or a revocations handle does.
#[derive(Clone)]
pub struct SqliteRevocations {
    store: SqliteStore,
}

/// Shows the database file, never a user or an id.
impl fmt::Debug for SqliteRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteRevocations")
            .field("path", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The store's [`RevocationStore`]: generations and denials kept in this
    /// database, through this store's connections and threads (no new
    /// connection is opened).
    ///
    /// ```
    /// use websession_core::store::{RevocationStore, SessionId};
    /// use websession_sqlite::SqliteStore;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let file = std::env::temp_dir().join(format!("websession-doc-rev-{}.db", std::process::id()));
    /// let store = SqliteStore::connect(&file.display().to_string()).await?;
    /// let revocations = store.revocations();
    /// assert_eq!(revocations.bump_generation("alice").await?, 1); // log out everywhere
    /// let id = SessionId::generate().hash();
    /// revocations.deny(&id, 2_000_000_000).await?; // log out this session
    /// assert!(revocations.check(Some("alice"), &id, 1_900_000_000).await?.denied);
    /// # drop((store, revocations)); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    #[must_use]
    pub fn revocations(&self) -> SqliteRevocations {
        SqliteRevocations {
            store: self.clone(),
        }
    }
}

/// The generation of `user` and whether `id` is denied at `now`: one query.
pub(crate) fn check(
    conn: &Connection,
    sql: &Statements,
    user: Option<&str>,
    id: &IdHash,
    now: i64,
) -> Result<Verdict, StoreError> {
    let (generation, denied): (Option<i64>, bool) = conn
        .prepare_cached(&sql.check)
        .map_err(err)?
        .query_row(params![user, id.as_bytes(), now], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(err)?;
    let generation = match user {
        Some(_) => Some(stored_generation(generation)?),
        None => None,
    };
    Ok(Verdict::new(generation, denied))
}

/// The generation of `user` (0: never bumped).
pub(crate) fn generation(
    conn: &Connection,
    sql: &Statements,
    user: &str,
) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.generation).map_err(err)?;
    let mut rows = stmt.query(params![user]).map_err(err)?;
    let generation = match rows.next().map_err(err)? {
        Some(row) => Some(row.get::<_, i64>(0).map_err(err)?),
        None => None,
    };
    stored_generation(generation)
}

/// A generation as stored (none: 0); a negative one is corrupt.
fn stored_generation(generation: Option<i64>) -> Result<u64, StoreError> {
    u64::try_from(generation.unwrap_or(0)).map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}

#[async_trait::async_trait]
impl RevocationStore for SqliteRevocations {
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        self.store
            .read_any(
                now,
                |conn, sql| check(conn, sql, user, session, secs(now)),
                |reply| ReadOp::Check {
                    user: user.map(str::to_owned),
                    id: *session,
                    reply,
                },
            )
            .await
    }

    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        self.store
            .read_any(
                0, // no time: a generation doesn't expire
                |conn, sql| generation(conn, sql, user),
                |reply| ReadOp::Generation {
                    user: user.to_owned(),
                    reply,
                },
            )
            .await
    }

    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        self.store
            .write(Write::Bump {
                user: user.to_owned(),
            })
            .await
    }

    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError> {
        self.store
            .write(Write::Deny {
                id: *session,
                until: secs(until),
            })
            .await
            .map(drop)
    }

    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        self.store
            .write(Write::DeleteExpiredDenials { now: secs(now) })
            .await
    }
}
