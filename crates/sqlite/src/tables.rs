//! [`TablePrefix`] and the schema and statements for tables of that prefix.

use std::fmt;

/// The prefix of the store's table and index names: `websession_` by
/// default, giving the tables `websession_sessions` and
/// `websession_values` (and for revocations `websession_generations` and
/// `websession_denied`). Checked once, here, and always written quoted, so a
/// prefix can't change the statements it goes into.
///
/// A prefix is an ASCII letter or `_`, then letters, digits and `_`, at
/// most 48 bytes. SQLite has no schemas within a database file: to keep
/// sessions apart from an app's tables entirely, give the store a file of
/// its own.
///
/// ```
/// use websession_sqlite::{SqliteOptions, TablePrefix};
/// let options = SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_")?);
/// assert!(websession_sqlite::SqliteStore::schema_sql(&options)
///     .contains(r#"CREATE TABLE IF NOT EXISTS "auth_sessions""#));
/// assert!(TablePrefix::new("x; DROP TABLE users").is_err());
/// # Ok::<(), websession_sqlite::InvalidTablePrefix>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePrefix(String);

/// A prefix [`TablePrefix::new`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTablePrefix {
    /// Its length in bytes (the prefix itself is not kept: it may come from
    /// configuration that holds more).
    pub len: usize,
}

impl fmt::Display for InvalidTablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid table prefix ({} bytes): use an ASCII letter or `_`, then letters, digits \
             and `_`, at most {MAX_PREFIX} bytes",
            self.len
        )
    }
}

impl std::error::Error for InvalidTablePrefix {}

/// The longest prefix: SQLite has no limit on names, but the longest name
/// made from it (`{prefix}sessions_expires`) stays readable and portable.
const MAX_PREFIX: usize = 48;

impl Default for TablePrefix {
    fn default() -> Self {
        Self("websession_".into())
    }
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TablePrefix {
    /// A prefix for the tables (`{prefix}sessions`, `{prefix}values`,
    /// `{prefix}generations`, `{prefix}denied`) and their indexes.
    ///
    /// ```
    /// let prefix = websession_sqlite::TablePrefix::new("app_")?;
    /// assert_eq!(prefix.to_string(), "app_");
    /// # Ok::<(), websession_sqlite::InvalidTablePrefix>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `prefix` is not a valid prefix (see the type's docs).
    pub fn new(prefix: &str) -> Result<Self, InvalidTablePrefix> {
        let mut chars = prefix.chars();
        let ok = prefix.len() <= MAX_PREFIX
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(InvalidTablePrefix { len: prefix.len() })
        }
    }

    /// The tables and indexes, idempotent (`CREATE ... IF NOT EXISTS`). For
    /// the default prefix it is [`SCHEMA`](crate::SCHEMA) with the names
    /// quoted.
    pub(crate) fn schema_sql(&self) -> String {
        let p = &self.0;
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
            TablePrefix::default().schema_sql().replace('"', ""),
            crate::SCHEMA
        );
    }

    #[test]
    fn prefixes_are_checked_and_quoted() {
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "x;drop",
            "é",
            &"x".repeat(49),
        ] {
            let e = TablePrefix::new(bad).expect_err(bad);
            assert_eq!(e.len, bad.len());
        }
        let p = TablePrefix::new("Auth_2_").expect("valid");
        let sql = p.schema_sql();
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
