//! The read queries: a session, and the sessions of a user.

use rusqlite::{params, Connection};
use websession_core::store::{decode_value, IdHash, Record, StoreError, StoreErrorKind};
use websession_core::Map;

use crate::error::err;
use crate::statements::Statements;

/// The live sessions of `user`, each as `load` reads it.
pub(crate) fn sessions_of(
    conn: &Connection,
    sql: &Statements,
    user: &str,
    now: i64,
) -> Result<Vec<(IdHash, Record)>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.ids_of).map_err(err)?;
    let ids = stmt
        .query_map(params![user, now], |row| row.get::<_, Vec<u8>>(0))
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let mut found = Vec::with_capacity(ids.len());
    for bytes in ids {
        let id = IdHash::from_bytes(&bytes).ok_or_else(|| {
            StoreError::new(StoreErrorKind::Corrupt, "a session id that isn't 32 bytes")
        })?;
        // Gone or changed hands since the first query: not listed.
        if let Some(record) = load(conn, sql, &id, now)? {
            if record.user.as_deref() == Some(user) {
                found.push((id, record));
            }
        }
    }
    Ok(found)
}

/// A text column (or NULL); anything else is a corrupt record.
fn text<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> Result<Option<&'r str>, StoreError> {
    let value = row.get_ref(index).map_err(err)?;
    value.as_str_or_null().map_err(|e| {
        err(rusqlite::Error::FromSqlConversionFailure(
            index,
            value.data_type(),
            Box::new(e),
        ))
    })
}

pub(crate) fn load(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    now: i64,
) -> Result<Option<Record>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.load).map_err(err)?;
    let mut rows = stmt.query(params![id.as_bytes(), now]).map_err(err)?;
    let mut record: Option<Record> = None;
    let mut data = Map::new();
    while let Some(row) = rows.next().map_err(err)? {
        if record.is_none() {
            record = Some(
                Record::new(
                    Map::new(),
                    u64::try_from(row.get::<_, i64>(0).map_err(err)?).unwrap_or(0),
                    u64::try_from(row.get::<_, i64>(1).map_err(err)?).unwrap_or(0),
                )
                .with_user(row.get::<_, Option<String>>(2).map_err(err)?),
            );
        }
        let (Some(key), Some(value)) = (text(row, 3)?, text(row, 4)?) else {
            continue; // a session without keys
        };
        data.insert(key.to_owned(), decode_value(value)?);
    }
    Ok(record.map(|mut record| {
        record.data = data.into();
        record
    }))
}
