"""The Flask side of the live tests of websession-python's FlaskSessionStore:
a real Flask 3.1 app with Flask-Session 0.8 on Redis (SESSION_TYPE = "redis")
and Flask-Login.

Run by interop/tests/flask_session_redis.rs: `python flask_session_app.py
PORT` (0: a free port, printed on stdout once bound). Environment:
  SECRET_KEY
  REDIS_URL                      default redis://127.0.0.1:6379
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
  /pttl?sid=              the record's PTTL in milliseconds (-2: no record)
  /raw?sid=&how=          overwrite the record, keeping its TTL: pickle (a
                          Flask-Session 0.6 record), garbage, list (a msgpack list)
  /teardown               deletes every key under the prefix
"""

import datetime
import os
import pickle
import sys

import redis
from flask import Flask, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_session import Session

from python_kinds import KINDS, compact, same

FORMAT = os.environ.get("SESSION_SERIALIZATION_FORMAT", "msgpack")
PREFIX = os.environ.get("SESSION_KEY_PREFIX", "session:")
CLIENT = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SESSION_TYPE="redis",
    SESSION_REDIS=CLIENT,
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
    if "v" not in session:
        return "missing"
    ok = same(session["v"], PLAIN[name])
    if request.args.get("rust") == "1":
        ok = ok and session.get("rust") == "was here"
    return "ok" if ok else "different: " + repr(session["v"])


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


def pttl():
    return str(CLIENT.pttl(PREFIX + request.args["sid"]))


def raw():
    how = request.args["how"]
    data = {
        "pickle": pickle.dumps({"_permanent": True, "v": "pickled"}),
        "garbage": b"\xc1 not a session",
        "list": b"\x93\x01\x02\x03",
    }[how]
    CLIENT.set(PREFIX + request.args["sid"], data, keepttl=True)
    return "ok"


def teardown():
    for key in CLIENT.scan_iter(match=PREFIX.replace("*", "\\*") + "*"):
        CLIENT.delete(key)
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
    "/pttl": pttl,
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
