//! The store's connections: two fixed sets (reads, writes) of pipelined
//! connections, each with its prepared statements, remade when they break.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Statement};
use websession_core::store::{StoreError, StoreErrorKind};

use crate::error::{err, unavailable};
use crate::statements::Statements;
use crate::{tls, SslMode, TableName};

/// Connections used in turn.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) slots: Box<[Slot]>,
    next: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            slots: (0..n).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The connection with the fewest calls in flight, looking from the
    /// next one in turn (so ties rotate), marked busy until the guard drops.
    fn pick(&self) -> Busy<'_> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut best = &self.slots[start % n];
        let mut least = best.in_flight.load(Ordering::Relaxed);
        for i in 1..n {
            if least == 0 {
                break;
            }
            let slot = &self.slots[(start + i) % n];
            let busy = slot.in_flight.load(Ordering::Relaxed);
            if busy < least {
                (best, least) = (slot, busy);
            }
        }
        best.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(best)
    }
}

/// A slot picked for a call; counted in flight until dropped.
struct Busy<'a>(&'a Slot);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection, replaced when it breaks.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    live: Mutex<Option<Arc<Conn>>>,
    /// Calls using this connection now.
    in_flight: AtomicUsize,
    /// Held while (re)connecting; the time of the last failed attempt, so
    /// calls fail fast for a moment instead of each trying again.
    connecting: tokio::sync::Mutex<Option<Instant>>,
}

/// After a failed connection attempt, calls on that slot fail at once for
/// this long.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// A connection and its prepared statements.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) load: Statement,
    pub(crate) create: Statement,
    pub(crate) update: Statement,
    pub(crate) cycle: Statement,
    pub(crate) delete_if_expired: Statement,
    pub(crate) delete: Statement,
    pub(crate) delete_user: Statement,
    pub(crate) delete_expired: Statement,
    /// The revocation statements, prepared by the connection's first
    /// revocation call: a deployment that doesn't use revocations needs
    /// no revocation tables.
    revocations: tokio::sync::OnceCell<RevocationStatements>,
}

/// The prepared statements of [`PostgresRevocations`].
#[derive(Debug)]
pub(crate) struct RevocationStatements {
    pub(crate) check: Statement,
    pub(crate) generation: Statement,
    pub(crate) bump: Statement,
    pub(crate) deny: Statement,
    pub(crate) delete_expired_denials: Statement,
}

impl Conn {
    /// The revocation statements, prepared on first use (all in one round
    /// trip).
    pub(crate) async fn revocations(
        &self,
        sql: &Statements,
    ) -> Result<&RevocationStatements, tokio_postgres::Error> {
        self.revocations
            .get_or_try_init(|| async {
                let (check, generation, bump, deny, delete_expired_denials) = tokio::try_join!(
                    self.client.prepare(&sql.check),
                    self.client.prepare(&sql.generation),
                    self.client.prepare(&sql.bump),
                    self.client.prepare(&sql.deny),
                    self.client.prepare(&sql.delete_expired_denials),
                )?;
                Ok(RevocationStatements {
                    check,
                    generation,
                    bump,
                    deny,
                    delete_expired_denials,
                })
            })
            .await
    }
}

impl Inner {
    /// `fut`, failing with `Unavailable` past the call timeout.
    pub(crate) async fn with_deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, fut)
            .await
            .unwrap_or_else(|_| {
                Err(unavailable(format!(
                    "PostgreSQL did not answer within {:?}",
                    self.timeout
                )))
            })
    }

    /// The slot's connection, made (or remade) if it has none or it broke.
    pub(crate) async fn conn(&self, slot: &Slot) -> Result<Arc<Conn>, StoreError> {
        if let Some(conn) = live(slot) {
            return Ok(conn);
        }
        let mut last_failure = slot.connecting.lock().await;
        if let Some(conn) = live(slot) {
            return Ok(conn); // another call reconnected meanwhile
        }
        if last_failure.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return Err(unavailable(
                "PostgreSQL is unreachable (the last connection attempt failed just now)",
            ));
        }
        match self.open().await {
            Ok(conn) => {
                let conn = Arc::new(conn);
                *last_failure = None;
                *slot.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                if e.kind() == StoreErrorKind::Unavailable {
                    *last_failure = Some(Instant::now());
                }
                Err(e)
            }
        }
    }

    /// A new connection, its task spawned, its statements prepared.
    async fn open(&self) -> Result<Conn, StoreError> {
        // The task ends when the connection closes; `Client::is_closed` then
        // tells the next call to reconnect.
        let (client, _task) = (self.connect)(self.config.clone()).await.map_err(err)?;
        let sql = &self.statements;
        // All written at once: a connection is ready after one round trip
        // of prepares, however many statements there are. (Boxed: side by
        // side, the futures would outgrow a test thread's stack.)
        macro_rules! prepared {
            ($($name:ident),*) => {{
                let ($($name,)*) =
                    tokio::try_join!($(Box::pin(client.prepare(&sql.$name)),)*).map_err(err)?;
                Conn { client, $($name,)* revocations: tokio::sync::OnceCell::new() }
            }};
        }
        Ok(prepared!(
            load,
            create,
            update,
            cycle,
            delete_if_expired,
            delete,
            delete_user,
            delete_expired
        ))
    }

    /// Runs `f` on the next connection, within the call timeout. A
    /// connection that failed or timed out is dropped, so the next call on
    /// its slot reconnects.
    pub(crate) async fn call<T, F, Fut>(&self, pool: &Pool, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let busy = pool.pick();
        let slot = busy.0;
        let started = tokio::time::Instant::now();
        let conn = self.with_deadline(self.conn(slot)).await?;
        let left = self.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, f(conn.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let e = err(e);
                if e.kind() == StoreErrorKind::Unavailable {
                    forget(slot, &conn);
                }
                Err(e)
            }
            Err(_) => {
                forget(slot, &conn);
                Err(unavailable(format!(
                    "PostgreSQL did not answer within {:?}",
                    self.timeout
                )))
            }
        }
    }
}

/// The slot's connection if it has one that is still open.
fn live(slot: &Slot) -> Option<Arc<Conn>> {
    let guard = slot.live.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().filter(|c| !c.client.is_closed()).cloned()
}

/// Drops `conn` from its slot (unless it was replaced already).
fn forget(slot: &Slot, conn: &Arc<Conn>) {
    let mut guard = slot.live.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
        *guard = None;
    }
}

/// Whether a connection attempt failed only because the table (or its
/// schema) is missing: the server is reachable and took the login.
pub(crate) fn no_table(e: &StoreError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<tokio_postgres::Error>())
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME)
}

/// What a store holds: how to connect, the statements and the two sets of
/// connections.
pub(crate) struct Inner {
    /// Secrets stay out of its `Debug` (tokio-postgres redacts the
    /// password).
    pub(crate) config: tokio_postgres::Config,
    pub(crate) connect: tls::Connect,
    /// How the connector checks the server, for `Debug` (`None`: the
    /// caller's connector).
    pub(crate) ssl_mode: Option<SslMode>,
    pub(crate) statements: Statements,
    pub(crate) table: TableName,
    pub(crate) readers: Pool,
    pub(crate) writers: Pool,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("config", &self.config)
            .field("ssl_mode", &self.ssl_mode)
            .field("table", &self.table)
            .field("read_connections", &self.readers.slots.len())
            .field("write_connections", &self.writers.slots.len())
            .field("response_timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
