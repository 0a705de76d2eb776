"""The pet-name app in Flask with Flask-Session, for the benchmark (run under
gunicorn, like flask_petname.py).

BENCH_FLASK_STORE picks the store: ``redis`` (Flask-Session's
RedisSessionInterface on REDIS_URL, keys prefixed ``bench-flask-session:``)
or ``postgres`` (its SQLAlchemy interface through Flask-SQLAlchemy and
psycopg2 on DATABASE_URL, table ``bench_flask_sessions``). bench/run deletes
those keys, or drops that table, before the contender starts.

Flask-Session's defaults otherwise (msgpack, 32-byte session ids, unsigned
id cookie), except SESSION_REFRESH_EACH_REQUEST = False: the store is written
when the session changes, not on every request, the rule of the Rust store
peers (tower-sessions, actix-session). With Flask's default every GET would
write the session back too.
"""

import os

from flask_session import Session

from flask_petname import make_app

app = make_app()
app.config["SESSION_REFRESH_EACH_REQUEST"] = False

store = os.environ.get("BENCH_FLASK_STORE", "redis")
if store == "redis":
    from redis import Redis

    app.config["SESSION_TYPE"] = "redis"
    app.config["SESSION_REDIS"] = Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    )
    app.config["SESSION_KEY_PREFIX"] = "bench-flask-session:"
elif store == "postgres":
    from flask_sqlalchemy import SQLAlchemy

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg2://" + url.split("://", 1)[1]
    app.config["SESSION_TYPE"] = "sqlalchemy"
    app.config["SESSION_SQLALCHEMY"] = SQLAlchemy(app)
    app.config["SESSION_SQLALCHEMY_TABLE"] = "bench_flask_sessions"
else:
    raise SystemExit(f"unknown BENCH_FLASK_STORE {store!r}")
Session(app)
