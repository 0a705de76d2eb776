//! websession-python's stores against real backends: core's conformance
//! suite for every product x backend, the value kinds each format keeps,
//! and rows the Rust side can't read (corrupt, of the wrong type, too
//! large), which load as an empty session.
//!
//! SQLite runs on a scratch file; PostgreSQL (`DATABASE_URL`) and Redis
//! (`REDIS_URL`) tests are `#[ignore]`d (CI runs them with
//! `--include-ignored`), each on its own table or key prefix.

mod bad_rows;
mod conformance;
mod support;
mod values;
