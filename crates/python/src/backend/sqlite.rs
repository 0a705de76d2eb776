//! The SQL layouts on SQLite (rusqlite).
