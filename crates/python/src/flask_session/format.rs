//! Flask-Session's record format (msgpack and json) and its ids (plain and signed).
