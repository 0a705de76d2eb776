//! The SQL tables both products use, described once (SqlLayout) for the PostgreSQL and SQLite backends.
