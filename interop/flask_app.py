"""The Flask side of the live interop tests.

Run by interop/tests/live.rs with the project's pinned Flask
(interop/requirements.txt): `python flask_app.py [PORT]`. It prints the port
it listens on (a free one when PORT is absent or 0).

Routes:
  /config?key=HEX&fallbacks=HEX,HEX&now=UNIX   set SECRET_KEY, SECRET_KEY_FALLBACKS (hex),
                                               and freeze itsdangerous' clock (now=0 unfreezes)
  /tagged/<kind>        the kind's value as Flask's tagged JSON (what Flask writes)
  /set/<kind>           session['v'] = the kind's value
  /set_permanent        session['user'] = 'alice'; session.permanent = True
  /check/<kind>         'ok' if session['v'] equals the kind's value (type included),
                        and session['rust'] == 'was here' when ?rust=1
  /check_permanent      'ok' if session.permanent and session['user'] == 'alice'
  /dump                 the whole session as tagged JSON ('{}' if none)
  /iso                  session['v'] as Flask holds it: isoformat() (UTC as Z) for a datetime, else repr()
  /login?user=NAME      session['user_id'] = NAME (the bridge example's login)
"""

import datetime
import math
import sys
import time
import uuid

import itsdangerous.timed
from flask import Flask, request, session
from flask.json.tag import TaggedJSONSerializer
from markupsafe import Markup

from python_kinds import KINDS as PLAIN_KINDS

FROZEN = {"now": 0}
_real_get_timestamp = itsdangerous.timed.TimestampSigner.get_timestamp


def _get_timestamp(self):
    return FROZEN["now"] or _real_get_timestamp(self)


# Both signing and the max-age check read the time through this method.
itsdangerous.timed.TimestampSigner.get_timestamp = _get_timestamp

KINDS = {
    # The plain JSON kinds the Starlette and Django tests cross too (Flask's
    # live tests name the ones they use).
    **PLAIN_KINDS,
    "tuple": (1, "a", (2, 3)),
    "bytes": b"\x00\x01\xfe\xff binary",
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    # Old dates: Flask writes four-digit years and reads years below 100 as 1969-2068.
    "datetime_1": datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc),
    "datetime_50": datetime.datetime(50, 6, 15, 12, 30, 45, tzinfo=datetime.timezone.utc),
    "datetime_99": datetime.datetime(99, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc),
    "datetime_100": datetime.datetime(100, 1, 1, tzinfo=datetime.timezone.utc),
    "datetime_999": datetime.datetime(999, 7, 4, 1, 2, 3, tzinfo=datetime.timezone.utc),
    "datetime_1850": datetime.datetime(1850, 1, 1, tzinfo=datetime.timezone.utc),
    "datetime_1899": datetime.datetime(1899, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc),
    "datetime_9999": datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc),
    "markup": Markup("<b>bold</b> &amp;"),
    "taglike_di": {" di": {"x": 1}},
}

app = Flask(__name__)
app.secret_key = "interop secret"


def equal(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


@app.get("/config")
def config():
    if "key" in request.args:
        app.secret_key = bytes.fromhex(request.args["key"])
        app.config["SECRET_KEY"] = app.secret_key
    if "fallbacks" in request.args:
        fb = request.args["fallbacks"]
        app.config["SECRET_KEY_FALLBACKS"] = [bytes.fromhex(h) for h in fb.split(",") if h]
    if "now" in request.args:
        FROZEN["now"] = int(request.args["now"])
    if "lifetime" in request.args:
        app.permanent_session_lifetime = datetime.timedelta(seconds=int(request.args["lifetime"]))
    return "ok"


@app.get("/tagged/<kind>")
def tagged(kind):
    return TaggedJSONSerializer().dumps(KINDS[kind])


@app.get("/set/<kind>")
def set_kind(kind):
    session["v"] = KINDS[kind]
    return "ok"


@app.get("/set_permanent")
def set_permanent():
    session["user"] = "alice"
    session.permanent = True
    return "ok"


@app.get("/check/<kind>")
def check(kind):
    if "v" not in session:
        return "missing"
    if not equal(KINDS[kind], session["v"]):
        return f"different: {session['v']!r}"
    if request.args.get("rust") == "1" and session.get("rust") != "was here":
        return "rust key missing"
    return "ok"


@app.get("/check_permanent")
def check_permanent():
    return "ok" if session.permanent and session.get("user") == "alice" else f"no: {dict(session)!r}"


@app.get("/dump")
def dump():
    return TaggedJSONSerializer().dumps(dict(session))


@app.get("/iso")
def iso():
    v = session.get("v", "missing")
    if isinstance(v, datetime.datetime):
        return v.isoformat().replace("+00:00", "Z")
    return repr(v)


@app.get("/login")
def login():
    session["user_id"] = request.args["user"]
    return "logged in"


class FrozenInterface(app.session_interface.__class__):
    """Flask's own session interface, with Expires taken from the frozen clock too."""

    def get_expiration_time(self, app, session):
        if session.permanent and FROZEN["now"]:
            now = datetime.datetime.fromtimestamp(FROZEN["now"], datetime.timezone.utc)
            return now + app.permanent_session_lifetime
        return super().get_expiration_time(app, session)


app.session_interface = FrozenInterface()

if __name__ == "__main__":
    from werkzeug.serving import make_server

    # Port 0: the OS picks a free port, which we print for the test to read.
    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0, app, threaded=False)
    print(server.port, flush=True)
    server.serve_forever()
