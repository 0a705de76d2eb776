//! Server-side sessions shared with Python apps: the records of
//! [Flask-Session](https://flask-session.readthedocs.io/) 0.8 (Redis, and
//! SQLAlchemy on PostgreSQL or SQLite) and of Django's database session
//! backend (`django.contrib.sessions.backends.db`, the `django_session`
//! table on PostgreSQL or SQLite), read and written in place, under the
//! Python app's own cookie.
//!
//! Each store is a [`SessionStore`](websession_core::store::SessionStore)
//! for websession's store mode (`Sessions::store`), so handlers, adapters,
//! timeouts, rotation and fail-closed behaviour are the ones every store
//! has. What differs from websession's own stores, because the Python side
//! must read the same records:
//!
//! - **Raw ids at rest.** The Python side looks a record up by the id its
//!   cookie holds, so these stores key records by the raw id, not by its
//!   SHA-256 (their [`IdFormat`](websession_core::store::IdFormat) is the
//!   Python app's). A leaked table or Redis dump holds usable session ids,
//!   as it does for the Python app.
//! - **Whole records.** The Python side writes a whole record back at the
//!   end of a request. These stores write whole records too, with a
//!   compare-and-set, so two overlapping Rust requests keep both their
//!   changes; against a Python request the last write wins.
//! - **`Logins` scan.** The Python formats keep no index of a user's
//!   sessions; "log out everywhere" and the device list read every live
//!   record (sessions logged in with websession's `Session::log_in`).
//! - **Creation time** travels as the hidden key `_ws_created`, which the
//!   Python app sees and keeps; a record the Python app made starts its
//!   absolute timeout at its first Rust write.

mod bridge;
mod backend;
pub mod django;
pub mod flask_session;
