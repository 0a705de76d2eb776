//! The SQL layouts on PostgreSQL (tokio-postgres).
