//! FlaskSessionStore on Flask-SQLAlchemy's `sessions` table (PostgreSQL, SQLite).
