//! Flask-Session 0.8: its records, its ids, its cookie.

mod format;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
