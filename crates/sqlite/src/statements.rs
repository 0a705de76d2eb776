//! The SQL text of a store: the schema for a [`TablePrefix`] and the
//! statements on its tables.

use crate::TablePrefix;

/// The tables and indexes for `prefix`, idempotent (`CREATE ... IF NOT
/// EXISTS`). For the default prefix it is [`SCHEMA`](crate::SCHEMA) with
/// the names quoted.
pub(crate) fn schema_sql(prefix: &TablePrefix) -> String {
    let p = prefix;
    format!(
        "
CREATE TABLE IF NOT EXISTS \"{p}sessions\" (
    id         BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_id    TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS \"{p}sessions_expires\" ON \"{p}sessions\" (expires_at);
CREATE INDEX IF NOT EXISTS \"{p}sessions_user\" ON \"{p}sessions\" (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS \"{p}values\" (
    id    BLOB NOT NULL REFERENCES \"{p}sessions\" (id) ON DELETE CASCADE ON UPDATE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS \"{p}generations\" (
    user_id    TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS \"{p}denied\" (
    id    BLOB PRIMARY KEY,
    until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS \"{p}denied_until\" ON \"{p}denied\" (until);
"
    )
}

/// The statements of one pair of tables, built once per store (each
/// connection's statement cache prepares them on first use).
#[derive(Debug)]
pub(crate) struct Statements {
    /// A live session's times, user and key/value rows.
    pub(crate) load: String,
    /// The ids of a user's live sessions.
    pub(crate) ids_of: String,
    /// Deletes the record `?1` if it expired by `?2` (a dead id may be
    /// reused).
    pub(crate) delete_if_expired: String,
    pub(crate) insert: String,
    /// Moves a live record from `?2` to `?1` (values follow by cascade).
    pub(crate) move_id: String,
    pub(crate) delete: String,
    pub(crate) delete_user: String,
    /// Deletes the live sessions (as of `?3`) of the user `?1` but `?2`
    /// (values follow by cascade).
    pub(crate) delete_others: String,
    pub(crate) delete_expired: String,
    /// Sets a live record's expiry and, when `?2`, its user.
    pub(crate) touch: String,
    pub(crate) set_value: String,
    pub(crate) clear_values: String,
    pub(crate) remove_value: String,
    /// The generation of the user `?1` (NULL: none asked, or never bumped)
    /// and whether the id `?2` is denied at `?3`, in one row.
    pub(crate) check: String,
    /// The generation of the user `?1` (no row: never bumped).
    pub(crate) generation: String,
    /// Adds one to the generation of `?1` (from 0), returning the new one.
    pub(crate) bump: String,
    /// Denies the id `?1` until `?2`, keeping a later time already there.
    pub(crate) deny: String,
    pub(crate) delete_expired_denials: String,
}

impl Statements {
    pub(crate) fn new(prefix: &TablePrefix) -> Self {
        let s = format!("\"{prefix}sessions\"");
        let v = format!("\"{prefix}values\"");
        let g = format!("\"{prefix}generations\"");
        let d = format!("\"{prefix}denied\"");
        Self {
            load: format!(
                "SELECT s.created_at, s.expires_at, s.user_id, v.key, v.value
     FROM {s} s LEFT JOIN {v} v ON v.id = s.id
     WHERE s.id = ?1 AND s.expires_at > ?2"
            ),
            ids_of: format!("SELECT id FROM {s} WHERE user_id = ?1 AND expires_at > ?2"),
            delete_if_expired: format!("DELETE FROM {s} WHERE id = ?1 AND expires_at <= ?2"),
            insert: format!(
                "INSERT INTO {s} (id, created_at, expires_at, user_id) VALUES (?1, ?2, ?3, ?4)"
            ),
            move_id: format!("UPDATE {s} SET id = ?1 WHERE id = ?2 AND expires_at > ?3"),
            delete: format!("DELETE FROM {s} WHERE id = ?1"),
            delete_user: format!("DELETE FROM {s} WHERE user_id = ?1"),
            delete_others: format!(
                "DELETE FROM {s} WHERE user_id = ?1 AND id <> ?2 AND expires_at > ?3"
            ),
            delete_expired: format!("DELETE FROM {s} WHERE expires_at <= ?1"),
            touch: format!(
                "UPDATE {s} SET expires_at = ?1, user_id = CASE WHEN ?2 THEN ?3 ELSE user_id END
             WHERE id = ?4 AND expires_at > ?5"
            ),
            set_value: format!("INSERT OR REPLACE INTO {v} (id, key, value) VALUES (?1, ?2, ?3)"),
            clear_values: format!("DELETE FROM {v} WHERE id = ?1"),
            remove_value: format!("DELETE FROM {v} WHERE id = ?1 AND key = ?2"),
            check: format!(
                "SELECT (SELECT generation FROM {g} WHERE user_id = ?1),
        EXISTS (SELECT 1 FROM {d} WHERE id = ?2 AND until > ?3)"
            ),
            generation: format!("SELECT generation FROM {g} WHERE user_id = ?1"),
            bump: format!(
                "INSERT INTO {g} (user_id, generation) VALUES (?1, 1)
     ON CONFLICT (user_id) DO UPDATE SET generation = generation + 1
     RETURNING generation"
            ),
            deny: format!(
                "INSERT INTO {d} (id, until) VALUES (?1, ?2)
     ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)"
            ),
            delete_expired_denials: format!("DELETE FROM {d} WHERE until <= ?1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_prefix_gives_the_published_schema() {
        assert_eq!(
            schema_sql(&TablePrefix::default()).replace('"', ""),
            crate::SCHEMA
        );
    }

    #[test]
    fn every_name_is_the_prefix_quoted() {
        let p = TablePrefix::new("Auth_2_").expect("valid");
        let sql = schema_sql(&p);
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"Auth_2_sessions\" ("));
        assert!(sql.contains("REFERENCES \"Auth_2_sessions\" (id)"));
        let statements = Statements::new(&p);
        assert!(statements
            .load
            .contains("FROM \"Auth_2_sessions\" s LEFT JOIN \"Auth_2_values\" v"));
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"Auth_2_generations\" ("));
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"Auth_2_denied\" ("));
        for sql in [
            &statements.delete,
            &statements.delete_others,
            &statements.set_value,
            &statements.touch,
            &statements.check,
            &statements.generation,
            &statements.bump,
            &statements.deny,
            &statements.delete_expired_denials,
        ] {
            assert!(sql.contains("\"Auth_2_"), "{sql}");
            assert!(!sql.contains("websession_"), "{sql}");
        }
    }
}
