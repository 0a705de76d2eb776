//! The SQL tables both products use, described once ([`SqlLayout`]) for
//! the PostgreSQL and SQLite backends: the table and its three columns, how
//! the data and the expiry are typed, and the `CREATE TABLE` each product's
//! Python side runs.

use std::fmt;

#[cfg(feature = "sqlite")]
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};
use websession_core::store::{StoreError, StoreErrorKind};

/// How the data column holds a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataColumn {
    /// Raw bytes: Flask-SQLAlchemy's `LargeBinary` (`bytea`, `BLOB`).
    Bytes,
    /// Text: Django's `TextField` (`text`).
    Text,
}

/// How the expiry column holds a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryColumn {
    /// A naive UTC time: SQLAlchemy's `DateTime` (`timestamp without time
    /// zone` on PostgreSQL; on SQLite the text `YYYY-MM-DD HH:MM:SS.ffffff`).
    NaiveUtc,
    /// Django's `DateTimeField` with `USE_TZ = True`: `timestamp with time
    /// zone` on PostgreSQL; on SQLite naive UTC text
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]` (no fraction when it is zero).
    Aware,
}

/// The SQL dialect a statement is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// A backend's statements, made once from a layout: parameters `key`,
/// `data`, times as Unix seconds (`float8`) on PostgreSQL and as the
/// column's text on SQLite; `get` and `scan` read the expiry as Unix
/// seconds (PostgreSQL) or its text (SQLite).
///
/// - `get`: (key, now) -> data, expiry of the live row
/// - `insert`: (key, data, expiry, now); replaces an expired row, changes
///   nothing (0 rows) on a live one
/// - `replace`: (key, old, new, expiry, now); 1 row if it was live and held `old`
/// - `delete_unchanged`: (key, old, now); 1 row if it was live and held `old`
/// - `delete`: (key); `delete_if`: (key, data)
/// - `scan`: (now) -> key, data, expiry of every live row
/// - `delete_expired`: (now)
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    pub(crate) get: String,
    pub(crate) insert: String,
    pub(crate) replace: String,
    pub(crate) delete_unchanged: String,
    pub(crate) delete: String,
    pub(crate) delete_if: String,
    pub(crate) scan: String,
    pub(crate) delete_expired: String,
}

/// Which product's table (for its `CREATE TABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    FlaskSession,
    Django,
}

/// A table name [`SqlLayout`] refuses: only ASCII letters, digits and `_`,
/// not starting with a digit, at most 63 bytes (PostgreSQL's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidTableName {
    /// The refused name's length in bytes (the name is not kept).
    pub(crate) len: usize,
}

impl fmt::Display for InvalidTableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid table name ({} bytes): use an ASCII letter or `_`, then letters, digits and `_`, at most {MAX_TABLE} bytes",
            self.len
        )
    }
}

impl std::error::Error for InvalidTableName {}

/// The longest table name (PostgreSQL cuts identifiers at 63 bytes).
const MAX_TABLE: usize = 63;

/// A session table described once: its name, its key, data and expiry
/// columns and their types. The name is checked at construction and always
/// written quoted (as Django does, and as SQLAlchemy does for a name with
/// capitals), so it can't change the statements it goes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqlLayout {
    /// The table name, quoted.
    table: String,
    /// The bare table name (for index names).
    bare: String,
    pub(crate) key: &'static str,
    pub(crate) data: &'static str,
    pub(crate) expiry: &'static str,
    pub(crate) data_kind: DataColumn,
    pub(crate) expiry_kind: ExpiryColumn,
    product: Product,
}

impl SqlLayout {
    /// Flask-Session's SQLAlchemy table (`sessions` by default): `id`
    /// serial primary key, `session_id` unique, `data` bytes, `expiry` a
    /// naive UTC time.
    pub(crate) fn flask_session(table: &str) -> Result<Self, InvalidTableName> {
        Ok(Self {
            table: quoted(table)?,
            bare: table.to_owned(),
            key: "session_id",
            data: "data",
            expiry: "expiry",
            data_kind: DataColumn::Bytes,
            expiry_kind: ExpiryColumn::NaiveUtc,
            product: Product::FlaskSession,
        })
    }

    /// Django's `django_session` table (or a custom session model's):
    /// `session_key` primary key, `session_data` text, `expire_date`
    /// indexed.
    pub(crate) fn django(table: &str) -> Result<Self, InvalidTableName> {
        Ok(Self {
            table: quoted(table)?,
            bare: table.to_owned(),
            key: "session_key",
            data: "session_data",
            expiry: "expire_date",
            data_kind: DataColumn::Text,
            expiry_kind: ExpiryColumn::Aware,
            product: Product::Django,
        })
    }

    /// The quoted table name, as it goes into SQL.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// The `CREATE TABLE` (and indexes) the product's Python side makes on
    /// PostgreSQL, with `IF NOT EXISTS`: Flask-SQLAlchemy's `create_all`,
    /// Django's `migrate` (`sqlmigrate sessions 0001`).
    pub(crate) fn postgres_schema(&self) -> String {
        self.schema(Dialect::Postgres)
    }

    /// The same on SQLite.
    pub(crate) fn sqlite_schema(&self) -> String {
        self.schema(Dialect::Sqlite)
    }

    fn schema(&self, dialect: Dialect) -> String {
        let t = &self.table;
        let pg = dialect == Dialect::Postgres;
        match self.product {
            Product::FlaskSession => {
                let (id, data, expiry) = if pg {
                    ("SERIAL", "BYTEA", "TIMESTAMP WITHOUT TIME ZONE")
                } else {
                    ("INTEGER", "BLOB", "DATETIME")
                };
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\n\
                     \tid {id} NOT NULL, \n\
                     \tsession_id VARCHAR(255), \n\
                     \tdata {data}, \n\
                     \texpiry {expiry}, \n\
                     \tPRIMARY KEY (id), \n\
                     \tUNIQUE (session_id)\n\
                     );\n"
                )
            }
            Product::Django => {
                let (like, expire) = self.django_index_names();
                let expiry = if pg {
                    "timestamp with time zone"
                } else {
                    "datetime"
                };
                let mut sql = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\"session_key\" varchar(40) NOT NULL PRIMARY KEY, \"session_data\" text NOT NULL, \"expire_date\" {expiry} NOT NULL);\n"
                );
                if pg {
                    sql.push_str(&format!(
                        "CREATE INDEX IF NOT EXISTS \"{like}\" ON {t} (\"session_key\" varchar_pattern_ops);\n"
                    ));
                }
                sql.push_str(&format!(
                    "CREATE INDEX IF NOT EXISTS \"{expire}\" ON {t} (\"expire_date\");\n"
                ));
                sql
            }
        }
    }

    /// The statements a backend runs, in `dialect`.
    pub(crate) fn statements(&self, dialect: Dialect) -> Statements {
        let (t, k, d, e) = (
            &self.table,
            format!("\"{}\"", self.key),
            format!("\"{}\"", self.data),
            format!("\"{}\"", self.expiry),
        );
        // Parameter `n`, as a time where `time`.
        let p = |n: u8| match dialect {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => format!("?{n}"),
        };
        let at = |n: u8| match dialect {
            Dialect::Postgres => self.pg_time(n),
            Dialect::Sqlite => format!("?{n}"),
        };
        // The expiry as read back: Unix seconds on PostgreSQL, the text on SQLite.
        let read_e = match dialect {
            Dialect::Postgres => format!("extract(epoch FROM {e})::float8"),
            Dialect::Sqlite => e.clone(),
        };
        Statements {
            get: format!(
                "SELECT {d}, {read_e} FROM {t} WHERE {k} = {} AND {e} > {}",
                p(1),
                at(2)
            ),
            insert: format!(
                "INSERT INTO {t} ({k}, {d}, {e}) VALUES ({}, {}, {}) \
                 ON CONFLICT ({k}) DO UPDATE SET {d} = excluded.{d}, {e} = excluded.{e} \
                 WHERE {t}.{e} <= {} OR {t}.{e} IS NULL",
                p(1),
                p(2),
                at(3),
                at(4)
            ),
            replace: format!(
                "UPDATE {t} SET {d} = {}, {e} = {} WHERE {k} = {} AND {d} = {} AND {e} > {}",
                p(3),
                at(4),
                p(1),
                p(2),
                at(5)
            ),
            delete_unchanged: format!(
                "DELETE FROM {t} WHERE {k} = {} AND {d} = {} AND {e} > {}",
                p(1),
                p(2),
                at(3)
            ),
            delete: format!("DELETE FROM {t} WHERE {k} = {}", p(1)),
            delete_if: format!("DELETE FROM {t} WHERE {k} = {} AND {d} = {}", p(1), p(2)),
            scan: format!("SELECT {k}, {d}, {read_e} FROM {t} WHERE {e} > {}", at(1)),
            delete_expired: format!("DELETE FROM {t} WHERE {e} <= {} OR {e} IS NULL", at(1)),
        }
    }

    /// Django's index names: its own for `django_session` (the 8 hex
    /// digits are an MD5 of the table and column names); for another table
    /// a name of the same shape with a fixed suffix (Django's migration of
    /// a custom model makes its own; these are for tables made here).
    fn django_index_names(&self) -> (String, String) {
        if self.bare == "django_session" {
            (
                "django_session_session_key_c0390e0f_like".into(),
                "django_session_expire_date_a5c62663".into(),
            )
        } else {
            let short: String = self.bare.chars().take(40).collect();
            (
                format!("{short}_session_key_like"),
                format!("{short}_expire_date"),
            )
        }
    }

    #[cfg(feature = "sqlite")]
    /// A time as the SQLite column holds it: naive UTC text, SQLAlchemy's
    /// form (always six fraction digits) or Django's (`str(datetime)`: no
    /// fraction for a whole second).
    pub(crate) fn sqlite_time(&self, unix: u64) -> String {
        let t = i64::try_from(unix)
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .unwrap_or_else(|| {
                // Past year 9999: the latest time both sides can write.
                PrimitiveDateTime::new(max_date(), Time::MIDNIGHT).assume_utc()
            });
        let base = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        match self.expiry_kind {
            ExpiryColumn::NaiveUtc => format!("{base}.000000"),
            ExpiryColumn::Aware => base,
        }
    }

    /// The SQL for a time bound as `$n` (Unix seconds, `float8`) in this
    /// layout's PostgreSQL expiry type.
    fn pg_time(&self, n: u8) -> String {
        match self.expiry_kind {
            ExpiryColumn::NaiveUtc => format!("(to_timestamp(${n}::float8) AT TIME ZONE 'UTC')"),
            ExpiryColumn::Aware => format!("to_timestamp(${n}::float8)"),
        }
    }
}

#[cfg(feature = "sqlite")]
/// The last date SQLite text times (and Python's `datetime`) can hold.
fn max_date() -> Date {
    Date::from_calendar_date(9999, Month::December, 31).unwrap_or(Date::MAX)
}

/// The error of an `insert` that found a live row under its key.
pub(crate) fn collision() -> StoreError {
    StoreError::new(StoreErrorKind::Collision, "a live session row has this key")
}

/// `name` checked and quoted.
fn quoted(name: &str) -> Result<String, InvalidTableName> {
    let mut chars = name.chars();
    let ok = name.len() <= MAX_TABLE
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(format!("\"{name}\""))
    } else {
        Err(InvalidTableName { len: name.len() })
    }
}

#[cfg(feature = "sqlite")]
/// A SQLite text time (`YYYY-MM-DD HH:MM:SS[.f…]`, or with `T`) as Unix
/// seconds, rounded up (a record expiring at `x.5` is live at `x`, not at
/// `x + 1`, as the SQL comparison says). `None` for anything else.
pub(crate) fn parse_sqlite_time(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b' ' && b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    let hour = u8::try_from(num(11..13)?).ok()?;
    let minute = u8::try_from(num(14..16)?).ok()?;
    let second = u8::try_from(num(17..19)?).ok()?;
    let fraction = match text.get(19..)? {
        "" => false,
        rest => {
            let digits = rest.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return None;
            }
            digits.bytes().any(|c| c != b'0')
        }
    };
    let at = PrimitiveDateTime::new(
        Date::from_calendar_date(year, month, day).ok()?,
        Time::from_hms(hour, minute, second).ok()?,
    )
    .assume_utc()
    .unix_timestamp();
    let secs = u64::try_from(at).unwrap_or(0);
    Some(if fraction {
        secs.saturating_add(1)
    } else {
        secs
    })
}

#[cfg(feature = "postgres")]
/// A PostgreSQL expiry read back as `extract(epoch …)::float8`, as Unix
/// seconds rounded up (see [`parse_sqlite_time`]); `infinity`, `NaN` and
/// times before 1970 clamp to the range.
pub(crate) fn epoch_seconds(epoch: f64) -> u64 {
    if epoch.is_nan() || epoch <= 0.0 {
        0
    } else if epoch >= 1.8e19 {
        u64::MAX
    } else {
        // In range and not NaN: the cast is exact for whole seconds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = epoch.ceil() as u64;
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked() {
        for bad in [
            "",
            "1a",
            "a-b",
            "a b",
            "a\"b",
            "x;drop",
            "é",
            &"x".repeat(64),
        ] {
            assert_eq!(
                SqlLayout::flask_session(bad).expect_err(bad),
                InvalidTableName { len: bad.len() }
            );
            assert!(SqlLayout::django(bad).is_err());
        }
        let layout = SqlLayout::django("Web_Sessions2").expect("valid");
        assert_eq!(layout.table(), "\"Web_Sessions2\"");
        assert!(InvalidTableName { len: 3 }.to_string().contains("3 bytes"));
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_times_are_each_products_text() {
        let flask = SqlLayout::flask_session("sessions").expect("valid");
        let django = SqlLayout::django("django_session").expect("valid");
        // 2026-12-07 15:18:20 UTC
        let t = 1_796_656_700;
        assert_eq!(flask.sqlite_time(t), "2026-12-07 15:18:20.000000");
        assert_eq!(django.sqlite_time(t), "2026-12-07 15:18:20");
        assert_eq!(django.sqlite_time(u64::MAX), "9999-12-31 00:00:00");
        for text in [
            "2026-12-07 15:18:20",
            "2026-12-07 15:18:20.000000",
            "2026-12-07T15:18:20",
        ] {
            assert_eq!(parse_sqlite_time(text), Some(t), "{text}");
        }
        assert_eq!(parse_sqlite_time("2026-12-07 15:18:19.723023"), Some(t));
        for bad in [
            "",
            "zzz",
            "2026-12-07",
            "2026-13-07 15:18:20",
            "2026-12-07 15:18:20.",
            "2026-12-07 15:18:20.12x",
            "2026-12-07 15:18:20Z",
            "2026-12-07 1a:18:20",
            "２026-12-07 15:18:20",
        ] {
            assert_eq!(parse_sqlite_time(bad), None, "{bad}");
        }
        assert_eq!(parse_sqlite_time("1960-01-01 00:00:00"), Some(0));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_epochs_round_up_and_clamp() {
        assert_eq!(epoch_seconds(10.0), 10);
        assert_eq!(epoch_seconds(10.2), 11);
        assert_eq!(epoch_seconds(-5.0), 0);
        assert_eq!(epoch_seconds(f64::NAN), 0);
        assert_eq!(epoch_seconds(f64::INFINITY), u64::MAX);
        assert_eq!(epoch_seconds(f64::NEG_INFINITY), 0);
    }

    #[test]
    fn schemas_are_the_python_sides() {
        let flask = SqlLayout::flask_session("sessions").expect("valid");
        assert!(flask.postgres_schema().contains("id SERIAL NOT NULL"));
        assert!(flask.sqlite_schema().contains("data BLOB"));
        let django = SqlLayout::django("django_session").expect("valid");
        assert!(django
            .postgres_schema()
            .contains("\"django_session_expire_date_a5c62663\""));
        assert!(SqlLayout::django("mine")
            .expect("valid")
            .sqlite_schema()
            .contains("\"mine_expire_date\""));
        assert_eq!(
            flask.pg_time(2),
            "(to_timestamp($2::float8) AT TIME ZONE 'UTC')"
        );
        assert_eq!(django.pg_time(3), "to_timestamp($3::float8)");
    }
}
