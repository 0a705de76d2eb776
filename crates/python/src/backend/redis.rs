//! Flask-Session's Redis interface as a bridge backend.
