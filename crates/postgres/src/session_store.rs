//! The [`SessionStore`] and [`ExpiredDeletion`] of [`PostgresStore`]: each
//! call one statement on one of the store's connections.

use tokio_postgres::Row;
use websession_core::json::ValueRef;
use websession_core::store::{
    decode_value, ChangeSet, ExpiredDeletion, IdHash, Record, SessionStore, StoreError,
    StoreErrorKind,
};
use websession_core::Map;

use tokio_postgres::types::ToSql;

use crate::error::{check, check_changes, column};
use crate::PostgresStore;

/// Seconds as a PostgreSQL `BIGINT` (a time past its range saturates).
pub(crate) fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Keys and their values as tagged JSON text, for `jsonb_object`.
fn key_texts<'a>(
    entries: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
) -> (Vec<&'a str>, Vec<String>) {
    entries
        .map(|(k, v)| (k, v.to_value().to_tagged_json()))
        .unzip()
}

/// The values of a change set, bound as `$2`..`$9` of [`apply_changes!`].
struct ChangeParams<'a> {
    changes_data: bool,
    cleared: bool,
    removed: Vec<&'a str>,
    keys: Vec<&'a str>,
    texts: Vec<String>,
    expires_at: i64,
    set_user: bool,
    user: Option<&'a str>,
}

fn change_params(changes: &ChangeSet) -> ChangeParams<'_> {
    // A key holding NUL was never stored (see `check_changes`), so removing
    // it is a no-op; leaving it out keeps PostgreSQL from refusing the array.
    let removed = changes
        .removed
        .iter()
        .map(String::as_str)
        .filter(|k| !k.contains('\0'))
        .collect();
    let set = changes
        .set
        .iter()
        .map(|(k, v)| (k.as_str(), ValueRef::Value(v)));
    let (keys, texts) = key_texts(set);
    let (set_user, user) = match &changes.user {
        Some(u) => (true, u.as_deref()),
        None => (false, None),
    };
    ChangeParams {
        changes_data: changes.changes_data(),
        cleared: changes.cleared,
        removed,
        keys,
        texts,
        expires_at: secs(changes.expires_at),
        set_user,
        user,
    }
}

impl ChangeParams<'_> {
    /// The parameters of `update` and `cycle_id`, in their statements'
    /// order: the record's id (`$1`), the change set (`$2`..`$9`) and the
    /// time (`$10`).
    fn with<'a>(&'a self, id: &'a &'a [u8], now: &'a i64) -> [&'a (dyn ToSql + Sync); 10] {
        [
            id,
            &self.changes_data,
            &self.cleared,
            &self.removed,
            &self.keys,
            &self.texts,
            &self.expires_at,
            &self.set_user,
            &self.user,
            now,
        ]
    }
}

/// The record in a row of the load statement.
fn record(row: &Row) -> Result<Record, StoreError> {
    let keys: Option<Vec<&str>> = column(row, 3)?;
    let texts: Option<Vec<&str>> = column(row, 4)?;
    let (keys, texts) = (keys.unwrap_or_default(), texts.unwrap_or_default());
    if keys.len() != texts.len() {
        return Err(StoreError::new(
            StoreErrorKind::Corrupt,
            "the session's keys and values don't pair up",
        ));
    }
    let data = keys
        .into_iter()
        .zip(texts)
        .map(|(k, v)| Ok((k.to_owned(), decode_value(v)?)))
        .collect::<Result<Map, StoreError>>()?;
    Ok(Record::new(
        data,
        u64::try_from(column::<i64>(row, 0)?).unwrap_or(0),
        u64::try_from(column::<i64>(row, 1)?).unwrap_or(0),
    )
    .with_user(column::<Option<String>>(row, 2)?))
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let now = secs(now);
        let row = self
            .inner
            .call(&self.inner.readers, |c| async move {
                c.client.query_opt(&c.load, &[&id.as_bytes(), &now]).await
            })
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        check(record.data.keys(), record.user.as_deref())?;
        let (keys, texts) = key_texts(record.data.iter());
        let (created, expires, user, now) = (
            secs(record.created_at),
            secs(record.expires_at),
            record.user.as_deref(),
            secs(now),
        );
        let params: [&(dyn ToSql + Sync); 7] = [
            &id.as_bytes(),
            &keys,
            &texts,
            &created,
            &expires,
            &user,
            &now,
        ];
        let done = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.create, &params).await
            })
            .await?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        check_changes(changes)?;
        let p = change_params(changes);
        let now = secs(now);
        let id = id.as_bytes();
        let params = p.with(&id, &now);
        let done = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.update, &params).await
            })
            .await?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        Ok(())
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        check_changes(changes)?;
        let p = change_params(changes);
        let now = secs(now);
        let (old_id, new_id) = (old.as_bytes(), new.as_bytes());
        let [a, b, c, d, e, f, g, h, i, j] = p.with(&old_id, &now);
        let params: [&(dyn ToSql + Sync); 11] = [a, b, c, d, e, f, g, h, i, j, &new_id];
        // The move and the change set in one statement, with `update`'s SET
        // list: atomic without a transaction. A live `new` is a unique
        // violation (Collision) and changes nothing; a racing `delete(old)`
        // either ran first (no row: NotFound) or waits for this statement
        // and then finds no row under `old`.
        let mut moved = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.cycle, &params).await
            })
            .await;
        if moved
            .as_ref()
            .is_err_and(|e| e.kind() == StoreErrorKind::Collision)
        {
            // `new` is taken, maybe by an expired row (a 2^-256 chance for a
            // random id, unless a caller picks it): delete it if so, and try
            // once more. A live row stays, and the retry reports Collision.
            let gone = self
                .inner
                .call(&self.inner.writers, |c| async move {
                    c.client
                        .execute(&c.delete_if_expired, &[&new.as_bytes(), &now])
                        .await
                })
                .await?;
            if gone > 0 {
                moved = self
                    .inner
                    .call(&self.inner.writers, |c| async move {
                        c.client.execute(&c.cycle, &params).await
                    })
                    .await;
            }
        }
        if moved? == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        Ok(())
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete, &[&id.as_bytes()]).await
            })
            .await?;
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // no stored session can have this user id
        }
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete_user, &[&user]).await
            })
            .await
    }

    /// One `DELETE`. Under PostgreSQL's row locks a racing `cycle_id` (an
    /// `UPDATE` of the row's id) either commits first, and the `DELETE`
    /// follows the row to its new version and deletes it there, or waits
    /// for the `DELETE` and then finds no row to move.
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // no stored session can have this user id
        }
        let now = secs(now);
        let sql = &self.inner.statements.delete_others;
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client
                    .execute(sql.as_str(), &[&user, &keep.as_bytes(), &now])
                    .await
            })
            .await
    }

    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        if user.contains('\0') {
            return Ok(Vec::new()); // no stored session can have this user id
        }
        let now = secs(now);
        let sql = &self.inner.statements.sessions_of;
        let rows = self
            .inner
            .call(&self.inner.readers, |c| async move {
                c.client.query(sql.as_str(), &[&user, &now]).await
            })
            .await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = column(row, 5)?;
                let id = IdHash::from_bytes(&id).ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Corrupt, "a session id that isn't 32 bytes")
                })?;
                Ok((id, record(row)?))
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for PostgresStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let now = secs(now);
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete_expired, &[&now]).await
            })
            .await
    }
}
