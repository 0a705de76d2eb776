//! [`TableName`]: the checked, quoted name of the sessions table.

use std::fmt;

/// The (optionally schema-qualified) name of the sessions table:
/// `websession_sessions` by default. Both parts are checked once, here, and
/// always written quoted, so a name can't change the statements it goes
/// into.
///
/// A part is an ASCII letter or `_`, then letters, digits and `_`: at most
/// 63 bytes for the schema and 48 for the table (the names made from it,
/// its indexes' and the revocation tables' `{name}_generations` and
/// `{name}_denied`, add up to 12 bytes, and PostgreSQL cuts names at 63). Being quoted, names are
/// case-sensitive: `Sessions` and `sessions` are two tables.
///
/// ```
/// use websession_postgres::TableName;
/// let table = TableName::new("sessions")?.in_schema("auth")?;
/// assert_eq!(table.to_string(), r#""auth"."sessions""#);
/// assert!(TableName::new("sessions; DROP TABLE users").is_err());
/// # Ok::<(), websession_postgres::InvalidTableName>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    pub(crate) schema: Option<String>,
    pub(crate) name: String,
}

/// A table or schema name [`TableName`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTableName {
    /// The part refused: `"table"` or `"schema"`.
    pub part: &'static str,
    /// Its length in bytes (the name itself is not kept: it may come from
    /// configuration that holds more).
    pub len: usize,
}

impl fmt::Display for InvalidTableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} name ({} bytes): use an ASCII letter or `_`, then letters, digits and `_`, \
             at most {} bytes",
            self.part,
            self.len,
            if self.part == "table" {
                MAX_TABLE
            } else {
                MAX_SCHEMA
            }
        )
    }
}

impl std::error::Error for InvalidTableName {}

const MAX_TABLE: usize = 48;
const MAX_SCHEMA: usize = 63;

fn check(part: &'static str, s: &str, max: usize) -> Result<String, InvalidTableName> {
    let mut chars = s.chars();
    let ok = s.len() <= max
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(InvalidTableName { part, len: s.len() })
    }
}

impl Default for TableName {
    fn default() -> Self {
        Self {
            schema: None,
            name: "websession_sessions".into(),
        }
    }
}

impl fmt::Display for TableName {
    /// The quoted, qualified name as it appears in the SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "\"{schema}\".")?;
        }
        write!(f, "\"{}\"", self.name)
    }
}

impl TableName {
    /// A table in the connection's `search_path` (usually `public`).
    ///
    /// ```
    /// let table = websession_postgres::TableName::new("app_sessions")?;
    /// # let _ = table;
    /// # Ok::<(), websession_postgres::InvalidTableName>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `name` is not a valid name (see the type's docs).
    pub fn new(name: &str) -> Result<Self, InvalidTableName> {
        Ok(Self {
            schema: None,
            name: check("table", name, MAX_TABLE)?,
        })
    }

    /// The same table in `schema` (which must exist: `migrate` creates the
    /// table, not the schema).
    ///
    /// ```
    /// let table = websession_postgres::TableName::new("sessions")?.in_schema("auth")?;
    /// # let _ = table;
    /// # Ok::<(), websession_postgres::InvalidTableName>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `schema` is not a valid name (see the type's docs).
    pub fn in_schema(mut self, schema: &str) -> Result<Self, InvalidTableName> {
        self.schema = Some(check("schema", schema, MAX_SCHEMA)?);
        Ok(self)
    }

    /// The quoted, qualified name of another table of this store, in the
    /// same schema: `{name}_{suffix}` (at most 48 + 12 bytes).
    pub(crate) fn sibling(&self, suffix: &str) -> String {
        TableName {
            schema: self.schema.clone(),
            name: format!("{}_{suffix}", self.name),
        }
        .to_string()
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
            &"x".repeat(MAX_TABLE + 1),
        ] {
            let e = TableName::new(bad).expect_err(bad);
            assert_eq!((e.part, e.len), ("table", bad.len()));
        }
        let e = TableName::new("ok")
            .and_then(|t| t.in_schema("no\"pe"))
            .expect_err("schema");
        assert_eq!(e.part, "schema");
        let t = TableName::new("Web_Sessions2")
            .and_then(|t| t.in_schema("_auth"))
            .expect("valid");
        assert_eq!(t.to_string(), "\"_auth\".\"Web_Sessions2\"");
    }
}
