//! [`TablePrefix`]: the checked prefix of the store's table names.

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "a\"b",
            "x;drop",
            "é",
            &"x".repeat(MAX_PREFIX + 1),
        ] {
            let e = TablePrefix::new(bad).expect_err(bad);
            assert_eq!(e.len, bad.len());
        }
        let p = TablePrefix::new("Auth_2_").expect("valid");
        assert_eq!(p.to_string(), "Auth_2_");
    }
}
