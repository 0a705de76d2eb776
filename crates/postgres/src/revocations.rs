//! [`PostgresRevocations`]: the [`RevocationStore`] of a [`PostgresStore`],
//! on the store's own connections.

use tokio_postgres::Row;
use websession_core::store::{IdHash, RevocationStore, StoreError, StoreErrorKind, Verdict};

use crate::error::{check, column};
use crate::session_store::secs;
use crate::PostgresStore;

/// The revocations of cookie sessions (per-user generations and the
/// deny-list of session id hashes) in a [`PostgresStore`]'s database, in
/// the tables `{table}_generations` and `{table}_denied` next to the
/// sessions table (see "Revocations" in the crate docs). Made by
/// [`PostgresStore::revocations`].
///
/// It uses the store's connections and prepared statements: `check` and
/// `generation` go over the read connections, the rest over the write
/// connections, each one statement (one round trip). Cloning is cheap.
#[derive(Clone)]
pub struct PostgresRevocations {
    store: PostgresStore,
}

/// Shows the store (its table, never a user or an id).
impl std::fmt::Debug for PostgresRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRevocations")
            .field("table", &self.store.inner.table)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The store's [`RevocationStore`]: generations and denials kept in
    /// this database (tables created by [`PostgresStore::migrate`]),
    /// through this store's connections (none is opened for it).
    ///
    /// ```no_run
    /// use websession_core::store::{RevocationStore, SessionId};
    /// use websession_postgres::PostgresStore;
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
    /// store.migrate().await?;
    /// let revocations = store.revocations();
    /// revocations.bump_generation("alice").await?; // log out everywhere
    /// let id = SessionId::generate().hash();
    /// revocations.deny(&id, 2_000_000_000).await?; // log out this session
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn revocations(&self) -> PostgresRevocations {
        PostgresRevocations {
            store: self.clone(),
        }
    }
}

/// The generation in the first column of `row`; a negative one is corrupt.
fn generation_in(row: &Row) -> Result<u64, StoreError> {
    u64::try_from(column::<i64>(row, 0)?).map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}

#[async_trait::async_trait]
impl RevocationStore for PostgresRevocations {
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        // A user id holding NUL can't be stored (TEXT refuses it), so it
        // was never bumped: asked as no user, answered as generation 0.
        let asked = user.filter(|u| !u.contains('\0'));
        let now = secs(now);
        let inner = &self.store.inner;
        let sql = &inner.statements;
        let row = inner
            .call(&inner.readers, |c| async move {
                c.client
                    .query_one(
                        &c.revocations(sql).await?.check,
                        &[&asked, &session.as_bytes(), &now],
                    )
                    .await
            })
            .await?;
        let generation = user.map(|_| generation_in(&row)).transpose()?;
        Ok(Verdict::new(generation, column(&row, 1)?))
    }

    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // never stored (see `check`)
        }
        let inner = &self.store.inner;
        let sql = &inner.statements;
        let row = inner
            .call(&inner.readers, |c| async move {
                c.client
                    .query_one(&c.revocations(sql).await?.generation, &[&user])
                    .await
            })
            .await?;
        generation_in(&row)
    }

    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        check(std::iter::empty(), Some(user))?;
        let inner = &self.store.inner;
        let sql = &inner.statements;
        let row = inner
            .call(&inner.writers, |c| async move {
                c.client
                    .query_one(&c.revocations(sql).await?.bump, &[&user])
                    .await
            })
            .await?;
        generation_in(&row)
    }

    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError> {
        let until = secs(until);
        let inner = &self.store.inner;
        let sql = &inner.statements;
        inner
            .call(&inner.writers, |c| async move {
                c.client
                    .execute(
                        &c.revocations(sql).await?.deny,
                        &[&session.as_bytes(), &until],
                    )
                    .await
            })
            .await?;
        Ok(())
    }

    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        let now = secs(now);
        let inner = &self.store.inner;
        let sql = &inner.statements;
        inner
            .call(&inner.writers, |c| async move {
                c.client
                    .execute(&c.revocations(sql).await?.delete_expired_denials, &[&now])
                    .await
            })
            .await
    }
}
