"""The Flask side of the live tests of websession-python's FlaskSessionStore:
a real Flask 3.1 app with Flask-Session 0.8 and Flask-Login, on Redis
(SESSION_TYPE = "redis") or on Flask-SQLAlchemy's table (SESSION_TYPE =
"sqlalchemy") in PostgreSQL or SQLite.

Run by interop/tests/flask_session.rs: `python flask_session_app.py PORT`
(0: a free port, printed on stdout once bound). Environment:
  SECRET_KEY
  SESSION_BACKEND                redis (default), postgres or sqlite
  REDIS_URL                      redis: default redis://127.0.0.1:6379
  DATABASE_URL                   postgres: a libpq URL (postgres://user@host:port/db)
  SQLITE_PATH                    sqlite: the database file (an absolute path)
  SESSION_SQLALCHEMY_TABLE       postgres, sqlite: the table (default "sessions"),
                                 made at start-up by Flask-Session
  SESSION_KEY_PREFIX             default "session:"
  SESSION_SERIALIZATION_FORMAT   msgpack (default) or json
  SESSION_USE_SIGNER             1 to sign the sid cookie
  LIFETIME                       PERMANENT_SESSION_LIFETIME in seconds (default 3600)

Routes (the session cookie is `session`):
  /kinds, /kind/<kind>    the plain value kinds this serialization keeps (python_kinds.py)
  /set/<kind>             session['v'] = the kind's value
  /check/<kind>           'ok' if session['v'] is it (type included), and
                          session['rust'] == 'was here' when ?rust=1
  /set_special/<kind>     session['v'] = bytes or an aware datetime
  /check_special/<kind>   'ok' if session['v'] is it (type included)
  /dump                   the session as compact sorted JSON
  /touch                  session['flask'] = 'was here'
  /clear                  session.clear()
  /regenerate             the session interface's regenerate(): a new sid
  /login?user=            Flask-Login's login_user
  /logout                 Flask-Login's logout_user
  /whoami                 current_user's id, or 'anonymous'
  /expiry?sid=            the milliseconds the record has left: its PTTL, or
                          its SQL expiry minus now (negative: an expired row
                          still there); -2 when there is no record
  /expiry_at?sid=         when the record expires, Unix milliseconds (now +
                          PTTL, or the SQL expiry column as naive UTC); -2
                          when there is no record
  /raw?sid=&how=          overwrite the record's data, keeping its expiry:
                          pickle (a Flask-Session 0.6 record), garbage, list
                          (a msgpack list)
  /teardown               deletes every key under the prefix, or drops the table
"""

import datetime
import os
import pickle
import sys
import time

from flask import Flask, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_session import Session

from python_kinds import KINDS, compact
from python_kinds import check as check_kind

BACKEND = os.environ.get("SESSION_BACKEND", "redis")
FORMAT = os.environ.get("SESSION_SERIALIZATION_FORMAT", "msgpack")
PREFIX = os.environ.get("SESSION_KEY_PREFIX", "session:")

app = Flask(__name__)
if BACKEND == "redis":
    import redis

    CLIENT = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    app.config.update(SESSION_TYPE="redis", SESSION_REDIS=CLIENT)
elif BACKEND in ("postgres", "sqlite"):
    import sqlalchemy
    from flask_sqlalchemy import SQLAlchemy

    if BACKEND == "postgres":
        # libpq's URL scheme, as SQLAlchemy's psycopg2 dialect names it.
        uri = "postgresql+psycopg2://" + os.environ["DATABASE_URL"].split("://", 1)[1]
    else:
        uri = "sqlite:///" + os.environ["SQLITE_PATH"]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    DB = SQLAlchemy(app)
    app.config.update(
        SESSION_TYPE="sqlalchemy",
        SESSION_SQLALCHEMY=DB,
        SESSION_SQLALCHEMY_TABLE=os.environ.get("SESSION_SQLALCHEMY_TABLE", "sessions"),
    )
else:
    raise SystemExit(f"SESSION_BACKEND={BACKEND!r}: redis, postgres or sqlite")
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SESSION_KEY_PREFIX=PREFIX,
    SESSION_SERIALIZATION_FORMAT=FORMAT,
    SESSION_USE_SIGNER=os.environ.get("SESSION_USE_SIGNER") == "1",
    PERMANENT_SESSION_LIFETIME=datetime.timedelta(seconds=int(os.environ.get("LIFETIME", "3600"))),
)
Session(app)

login_manager = LoginManager(app)


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


@login_manager.user_loader
def load_user(user_id):
    return User(user_id)


# What msgspec can't keep: integers beyond 64 bits (msgpack refuses them),
# lone surrogates (no UTF-8 form), and in JSON NaN and the infinities
# (written as null).
UNKEPT = {"int_big", "int_big_neg", "surrogate"}
if FORMAT == "json":
    UNKEPT |= {"float_nan", "float_inf"}
PLAIN = {name: value for name, value in KINDS.items() if name not in UNKEPT}

SPECIAL = {
    "bytes": b"\x00\xff binary",
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
}


def check(name):
    answer = check_kind(session, PLAIN[name], request.args.get("rust") == "1")
    return answer + ": " + repr(session["v"]) if answer == "different" else answer


def check_special(name):
    if "v" not in session:
        return "missing"
    v = session["v"]
    return "ok" if type(v) is type(SPECIAL[name]) and v == SPECIAL[name] else "different: " + repr(v)


def set_value(value):
    session["v"] = value
    return "ok"


def touch():
    session["flask"] = "was here"
    return "ok"


def clear():
    session.clear()
    return "cleared"


def regenerate():
    app.session_interface.regenerate(session)
    return "ok"


def log_in():
    login_user(User(request.args["user"]))
    return "ok"


def log_out():
    logout_user()
    return "ok"


def whoami():
    return current_user.get_id() if current_user.is_authenticated else "anonymous"


def utcnow():
    """Now as Flask-Session's SQL expiry holds a time: naive UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def sql_expiry(sid):
    """The SQL expiry column of the record of `sid` (naive UTC), or None."""
    model = app.session_interface.sql_session_model
    row = DB.session.execute(
        sqlalchemy.select(model.expiry).where(model.session_id == PREFIX + sid)
    ).first()
    DB.session.rollback()
    return row[0] if row else None


def expiry():
    sid = request.args["sid"]
    if BACKEND == "redis":
        return str(CLIENT.pttl(PREFIX + sid))
    at = sql_expiry(sid)
    if at is None:
        return "-2"
    return str(round((at - utcnow()).total_seconds() * 1000))


def expiry_at():
    sid = request.args["sid"]
    if BACKEND == "redis":
        left = CLIENT.pttl(PREFIX + sid)
        return str(round(time.time() * 1000) + left if left >= 0 else left)
    at = sql_expiry(sid)
    if at is None:
        return "-2"
    return str(round(at.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))


def raw():
    how = request.args["how"]
    data = {
        "pickle": pickle.dumps({"_permanent": True, "v": "pickled"}),
        "garbage": b"\xc1 not a session",
        "list": b"\x93\x01\x02\x03",
    }[how]
    sid = request.args["sid"]
    if BACKEND == "redis":
        CLIENT.set(PREFIX + sid, data, keepttl=True)
        return "ok"
    model = app.session_interface.sql_session_model
    done = DB.session.execute(
        sqlalchemy.update(model).where(model.session_id == PREFIX + sid).values(data=data)
    ).rowcount
    DB.session.commit()
    return "ok" if done == 1 else f"{done} rows"


def teardown():
    if BACKEND == "redis":
        for key in CLIENT.scan_iter(match=PREFIX.replace("*", "\\*") + "*"):
            CLIENT.delete(key)
        return "ok"
    DB.session.remove()
    app.session_interface.sql_session_model.__table__.drop(DB.engine, checkfirst=True)
    DB.engine.dispose()
    return "ok"


ROUTES = {
    "/kinds": lambda: ",".join(PLAIN),
    "/kind/<name>": lambda name: compact(PLAIN[name]),
    "/set/<name>": lambda name: set_value(PLAIN[name]),
    "/check/<name>": check,
    "/set_special/<name>": lambda name: set_value(SPECIAL[name]),
    "/check_special/<name>": check_special,
    "/dump": lambda: compact(dict(session)),
    "/touch": touch,
    "/clear": clear,
    "/regenerate": regenerate,
    "/login": log_in,
    "/logout": log_out,
    "/whoami": whoami,
    "/expiry": expiry,
    "/expiry_at": expiry_at,
    "/raw": raw,
    "/teardown": teardown,
}
for rule, view in ROUTES.items():
    app.add_url_rule(rule, rule, view)


if __name__ == "__main__":
    from werkzeug.serving import make_server

    # Port 0: the OS picks a free port, which we print for the test to read.
    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0, app, threaded=False)
    print(server.port, flush=True)
    server.serve_forever()
