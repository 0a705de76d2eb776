"""Makes testdata/flask_ext_vectors.json with the real, pinned itsdangerous,
Flask, Flask-Login and Flask-WTF.

Usage (from the repository root):

    PY=$(bash .ci/python-env)
    "$PY" interop/make_flask_ext_vectors.py > testdata/flask_ext_vectors.json

The output is deterministic (frozen clocks, fixed "random" bytes), so a rerun
with the pinned packages (interop/requirements.txt) gives the same bytes.

Sections:

- "signers": itsdangerous Signer / TimestampSigner / URLSafeTimedSerializer
  outputs for every key derivation, digest, a few salts and separators, key
  lists (rotation), and what `unsign`/`loads` raise for altered tokens.
- "identifiers": Flask-Login's `_create_identifier()` for remote addresses,
  X-Forwarded-For and User-Agent values (raw header bytes as hex: WSGI hands
  them to Flask as Latin-1 text).
- "remember": Flask-Login's `encode_cookie` for ids and keys (bytes keys as
  hex, text keys as text: Flask-Login signs with their Latin-1 bytes), and
  `decode_cookie` of altered cookies.
- "csrf": Flask-WTF's signed token for a raw session token at a frozen time,
  and `validate_csrf` outcomes (the exact reason, or "ok").
- "flows": whole requests through a Flask app using Flask-Login, flash() and
  Flask-WTF (Flask's test client, frozen clocks): each request's method,
  path, headers and cookies, and the response's status, body and every
  Set-Cookie header. crates/websession/tests/it/flask_ext.rs replays them
  against the Rust API and compares the bytes.
"""

import datetime
import hashlib
import json
import sys
from importlib.metadata import version

import flask_login.login_manager
import itsdangerous.timed
from flask import Flask, flash, get_flashed_messages, request, session
from flask_login import LoginManager, UserMixin, current_user, login_fresh, login_user, logout_user
from flask_login.utils import _create_identifier, decode_cookie, encode_cookie
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, validate_csrf
from itsdangerous import (
    BadData,
    Signer,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from wtforms import ValidationError

NOW = 1_750_000_000
CLOCK = {"now": NOW}


def _get_timestamp(self):
    return CLOCK["now"]


itsdangerous.timed.TimestampSigner.get_timestamp = _get_timestamp


class FrozenDatetime(datetime.datetime):
    """What Flask-Login reads for the remember cookie's Expires."""

    @classmethod
    def utcnow(cls):
        return datetime.datetime.fromtimestamp(CLOCK["now"], datetime.timezone.utc).replace(tzinfo=None)


flask_login.login_manager.datetime = FrozenDatetime


def exc_name(fn):
    try:
        fn()
        return "ok"
    except BadData as e:
        return type(e).__name__


# --- itsdangerous ---------------------------------------------------------

KEY_A = b"first secret key of the vectors"
KEY_B = b"second secret key, now current"


def signer_cases():
    out = []
    for derivation in ["concat", "django-concat", "hmac", "none"]:
        for digest in ["sha1", "sha256", "sha512"]:
            for salt, sep in [("itsdangerous.Signer", "."), ("activate", "|"), ("", "~")]:
                method = getattr(hashlib, digest)
                kw = dict(salt=salt, sep=sep, key_derivation=derivation, digest_method=method)
                s = Signer(KEY_A, **kw)
                ts = TimestampSigner(KEY_A, **kw)
                value = "user-42 héllo"
                signed = s.sign(value).decode()
                tsigned = ts.sign(value).decode()
                out.append(
                    {
                        "keys_hex": [KEY_A.hex()],
                        "salt": salt,
                        "sep": sep,
                        "key_derivation": derivation,
                        "digest": digest,
                        "value": value,
                        "signed": signed,
                        "timestamp": NOW,
                        "timestamp_signed": tsigned,
                    }
                )
    return out


def rotation_cases():
    old = Signer(KEY_A, salt="rot")
    both = Signer([KEY_A, KEY_B], salt="rot")
    return {
        "keys_hex_oldest_first": [KEY_A.hex(), KEY_B.hex()],
        "salt": "rot",
        "signed_by_old": old.sign("v").decode(),
        "signed_by_list": both.sign("v").decode(),
        "list_unsigns_old": exc_name(lambda: both.unsign(old.sign("v"))),
        "old_unsigns_list": exc_name(lambda: old.unsign(both.sign("v"))),
    }


def unsign_cases():
    s = TimestampSigner(KEY_A, salt="timed")
    good = s.sign("payload").decode()
    plain = Signer(KEY_A, salt="timed").sign("no-timestamp").decode()
    cases = []

    def case(name, token, now, max_age):
        CLOCK["now"] = now
        outcome = exc_name(lambda: s.unsign(token, max_age=max_age))
        CLOCK["now"] = NOW
        cases.append({"name": name, "token": token, "now": now, "max_age": max_age, "outcome": outcome})

    case("valid", good, NOW + 10, 60)
    case("expired", good, NOW + 61, 60)
    case("edge", good, NOW + 60, 60)
    case("future", good, NOW - 1, 60)
    case("future-no-max-age", good, NOW - 1, None)
    case("tampered-value", "X" + good[1:], NOW, 60)
    case("tampered-sig", good[:-1] + ("A" if good[-1] != "A" else "B"), NOW, 60)
    case("truncated", good[:-3], NOW, 60)
    case("no-timestamp", plain, NOW, 60)
    case("empty", "", NOW, 60)
    return {"salt": "timed", "key_hex": KEY_A.hex(), "cases": cases}


def serializer_cases():
    out = []
    objects = [
        "0123456789abcdef0123456789abcdef01234567",
        "ünïcödé ✓ \n\t\"q\"",
        42,
        [1, "two", None, True],
        {"user": "alice"},
        ["the same words again and again"] * 20,
    ]
    for salt in ["itsdangerous", "wtf-csrf-token"]:
        s = URLSafeTimedSerializer(KEY_A, salt=salt)
        for obj in objects:
            out.append({"salt": salt, "key_hex": KEY_A.hex(), "json": json.dumps(obj), "timestamp": NOW, "token": s.dumps(obj)})
    return out


# --- Flask-Login: identifier and remember cookie --------------------------

ID_APP = Flask("identifiers")


def identifier_cases():
    out = []
    uas = [
        None,
        b"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        b"",
        b"it's",
        b"quote\" and it's",
        b"back\\slash\ttab",
        b"caf\xe9 \xff\x7f",
    ]
    addrs = [("127.0.0.1", None), ("::1", None), ("10.0.0.1", b"203.0.113.7, 10.0.0.1"), ("10.0.0.1", b"  198.51.100.2  "), ("10.0.0.1", b""), (None, None), ("10.0.0.1", b"\xe9vil, x")]
    for ua in uas:
        for remote, xff in addrs:
            headers = {}
            if ua is not None:
                headers["User-Agent"] = ua.decode("latin1")
            if xff is not None:
                headers["X-Forwarded-For"] = xff.decode("latin1")
            environ = {} if remote is None else {"REMOTE_ADDR": remote}
            with ID_APP.test_request_context("/", headers=headers, environ_base=environ):
                if remote is None:
                    request.environ.pop("REMOTE_ADDR", None)
                ident = _create_identifier()
            out.append(
                {
                    "remote_addr": remote,
                    "x_forwarded_for_hex": None if xff is None else xff.hex(),
                    "user_agent_hex": None if ua is None else ua.hex(),
                    "identifier": ident,
                }
            )
    return out


def remember_cases():
    out = []
    keys = [("hex", KEY_A.hex(), KEY_A), ("text", "clé secrète", "clé secrète")]
    for kind, shown, key in keys:
        for user_id in ["1", "42", "alice@example.com", "Ann Lee", "a|b", "ünï"]:
            cookie = encode_cookie(user_id, key=key)
            tampered = ("9" if user_id[0] != "9" else "8") + cookie[1:]
            out.append(
                {
                    "key_kind": kind,
                    "key": shown,
                    "user_id": user_id,
                    "cookie": cookie,
                    "decode_tampered": decode_cookie(tampered, key=key),
                    "tampered": tampered,
                    "decode_upper": decode_cookie(cookie[: cookie.rindex("|") + 1] + cookie[cookie.rindex("|") + 1 :].upper(), key=key),
                    "decode_no_bar": decode_cookie(cookie.replace("|", ""), key=key),
                }
            )
    return out


# --- Flask-WTF -------------------------------------------------------------

CSRF_APP = Flask("csrf")
CSRF_APP.secret_key = KEY_B


def csrf_cases():
    raw = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
    with CSRF_APP.test_request_context("/"):
        session["csrf_token"] = raw
        token = generate_csrf()
    cases = []

    def case(name, data, session_raw, now, time_limit):
        CLOCK["now"] = now
        # validate_csrf(time_limit=None) falls back to the config; None there means no limit.
        CSRF_APP.config["WTF_CSRF_TIME_LIMIT"] = time_limit
        with CSRF_APP.test_request_context("/"):
            if session_raw is not None:
                session["csrf_token"] = session_raw
            try:
                validate_csrf(data)
                outcome = "ok"
            except ValidationError as e:
                outcome = e.args[0]
        CLOCK["now"] = NOW
        cases.append({"name": name, "token": data, "session_raw": session_raw, "now": now, "time_limit": time_limit, "outcome": outcome})

    case("valid", token, raw, NOW + 5, 3600)
    case("valid-edge", token, raw, NOW + 3600, 3600)
    case("expired", token, raw, NOW + 3601, 3600)
    case("no-limit", token, raw, NOW + 10**6, None)
    case("future", token, raw, NOW - 5, 3600)
    case("missing", None, raw, NOW, 3600)
    case("empty", "", raw, NOW, 3600)
    case("no-session-token", token, None, NOW, 3600)
    case("tampered", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), raw, NOW, 3600)
    case("garbage", "not-a-token", raw, NOW, 3600)
    case("other-raw", token, "0" * 40, NOW, 3600)
    return {"key_hex": KEY_B.hex(), "raw": raw, "timestamp": NOW, "token": token, "validate": cases}


# --- Whole requests ---------------------------------------------------------

FLOW_KEY = "flow vectors secret key, 32 bytes!"


class User(UserMixin):
    def __init__(self, uid):
        self.id = uid


def flow_app(protection, refresh_each_request=False):
    app = Flask(f"flows-{protection}")
    app.secret_key = FLOW_KEY
    app.config["SESSION_PROTECTION"] = protection
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = refresh_each_request
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    lm = LoginManager(app)
    CSRFProtect(app)

    @lm.user_loader
    def load(uid):
        return User(uid) if uid in {"1", "42", "Ann Lee"} else None

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return e.description, 400

    @app.get("/login")
    def login():
        remember = request.args.get("remember") == "1"
        days = request.args.get("days")
        duration = datetime.timedelta(days=int(days)) if days else None
        login_user(User(request.args["user"]), remember=remember, duration=duration)
        flash("Logged in successfully.")
        return "ok"

    @app.get("/whoami")
    def whoami():
        if current_user.is_authenticated:
            return f"{current_user.get_id()} fresh={login_fresh()}"
        return "anonymous"

    @app.get("/logout")
    def logout():
        logout_user()
        flash("You were logged out.", "info")
        return "ok"

    @app.get("/flash")
    def do_flash():
        flash(request.args["m"], request.args.get("c", "message"))
        return "ok"

    @app.get("/flashes")
    def flashes():
        first = get_flashed_messages(with_categories=True, category_filter=request.args.getlist("c"))
        again = get_flashed_messages(with_categories=True)
        return json.dumps({"first": first, "again": again})

    @app.get("/form")
    def form():
        session["csrf_token"] = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
        return generate_csrf()

    @app.post("/submit")
    def submit():
        return "accepted"

    return app


def run_flow(name, app, steps):
    client = app.test_client(use_cookies=False)
    out = []
    jar = {}
    for step in steps:
        CLOCK["now"] = step.get("now", NOW)
        headers = dict(step.get("headers", {}))
        send = step.get("send", [])
        cookies = "; ".join(f"{k}={jar[k]}" for k in send if k in jar)
        if cookies:
            headers["Cookie"] = cookies
        environ = {"REMOTE_ADDR": step.get("remote_addr", "127.0.0.1")}
        if step.get("method", "GET") == "POST":
            res = client.post(step["path"], headers=headers, data=step.get("form", {}), environ_base=environ)
        else:
            res = client.get(step["path"], headers=headers, environ_base=environ)
        set_cookies = res.headers.getlist("Set-Cookie")
        for sc in set_cookies:
            k, v = sc.split(";", 1)[0].split("=", 1)
            jar[k] = v
        out.append(
            {
                "method": step.get("method", "GET"),
                "path": step["path"],
                "now": CLOCK["now"],
                "remote_addr": environ["REMOTE_ADDR"],
                "headers": headers,
                "form": step.get("form", {}),
                "status": res.status_code,
                "body": res.get_data(as_text=True),
                "set_cookie": set_cookies,
            }
        )
    CLOCK["now"] = NOW
    return {"name": name, "session_protection": app.config["SESSION_PROTECTION"], "refresh_each_request": app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"], "steps": out}


UA1 = {"User-Agent": "Mozilla/5.0 (first browser)"}
UA2 = {"User-Agent": "Mozilla/5.0 (another browser)"}


def flows():
    basic = flow_app("basic")
    strong = flow_app("strong")
    refresh = flow_app("basic", refresh_each_request=True)
    both = ["session", "remember_token"]
    out = [
        run_flow(
            "login-remember-whoami-logout",
            basic,
            [
                {"path": "/login?user=42&remember=1", "headers": UA1},
                {"path": "/whoami", "headers": UA1, "send": both, "now": NOW + 5},
                {"path": "/flashes", "headers": UA1, "send": both, "now": NOW + 6},
                {"path": "/whoami", "headers": UA2, "send": both, "now": NOW + 7},
                {"path": "/logout", "headers": UA1, "send": both, "now": NOW + 8},
                {"path": "/whoami", "headers": UA1, "send": both, "now": NOW + 9},
            ],
        ),
        run_flow(
            "remember-restores",
            basic,
            [
                {"path": "/login?user=Ann%20Lee&remember=1&days=7", "headers": UA1},
                {"path": "/whoami", "headers": UA1, "send": ["remember_token"], "now": NOW + 100},
                {"path": "/whoami", "headers": UA1, "send": both, "now": NOW + 101},
            ],
        ),
        run_flow(
            "strong-protection",
            strong,
            [
                {"path": "/login?user=1&remember=1", "headers": UA1, "remote_addr": "192.0.2.10"},
                {"path": "/whoami", "headers": UA1, "send": both, "remote_addr": "192.0.2.10", "now": NOW + 1},
                {"path": "/whoami", "headers": UA2, "send": both, "remote_addr": "192.0.2.10", "now": NOW + 2},
                {"path": "/whoami", "headers": UA1, "send": both, "remote_addr": "192.0.2.10", "now": NOW + 3},
            ],
        ),
        run_flow(
            "strong-after-restore",
            strong,
            [
                {"path": "/login?user=1&remember=1", "headers": {**UA1, "X-Forwarded-For": "203.0.113.9, 10.0.0.1"}},
                {"path": "/whoami", "headers": {**UA1, "X-Forwarded-For": "203.0.113.9"}, "send": ["remember_token"], "now": NOW + 1},
                {"path": "/whoami", "headers": {**UA1, "X-Forwarded-For": "203.0.113.9"}, "send": both, "now": NOW + 2},
            ],
        ),
        run_flow(
            "refresh-each-request",
            refresh,
            [
                {"path": "/login?user=42", "headers": UA1},
                {"path": "/whoami", "headers": UA1, "send": both, "now": NOW + 60},
            ],
        ),
        run_flow(
            "flashes",
            basic,
            [
                {"path": "/flash?m=first", "headers": UA1},
                {"path": "/flash?m=Oops%20%E2%9C%93&c=error", "headers": UA1, "send": ["session"]},
                {"path": "/flashes?c=error", "headers": UA1, "send": ["session"]},
                {"path": "/flashes", "headers": UA1, "send": ["session"]},
            ],
        ),
        run_flow(
            "csrf",
            basic,
            [
                {"path": "/form", "headers": UA1},
                {"method": "POST", "path": "/submit", "headers": UA1, "send": ["session"], "form": {}},
                {"method": "POST", "path": "/submit", "headers": UA1, "send": ["session"], "form": {"csrf_token": "garbage"}},
                {"method": "POST", "path": "/submit", "headers": UA1, "form": {"csrf_token": "garbage"}},
                {"method": "POST", "path": "/submit", "headers": UA1, "send": ["session"], "form": {"csrf_token": "@TOKEN@"}, "now": NOW + 3601},
                {"method": "POST", "path": "/submit", "headers": {**UA1, "X-CSRFToken": "@TOKEN@"}, "send": ["session"], "now": NOW + 10},
                {"method": "POST", "path": "/submit", "headers": UA1, "send": ["session"], "form": {"csrf_token": "@TOKEN@"}, "now": NOW + 10},
            ],
        ),
    ]
    # The CSRF flow's "@TOKEN@" is the token /form returned (see main).
    return out


def run_csrf_flow_with_token():
    """The CSRF flow needs the token of its first step in later steps."""
    app = flow_app("basic")
    first = run_flow("csrf-token", app, [{"path": "/form", "headers": UA1}])
    return first["steps"][0]["body"]


def main():
    token = run_csrf_flow_with_token()
    flow_list = flows()
    # Re-run the CSRF flow with the real token in place of @TOKEN@.
    for f in flow_list:
        if f["name"] == "csrf":
            app = flow_app("basic")
            steps = []
            for s in f["steps"]:
                step = {"method": s["method"], "path": s["path"], "now": s["now"], "remote_addr": s["remote_addr"]}
                step["headers"] = {k: (token if v == "@TOKEN@" else v) for k, v in s["headers"].items() if k != "Cookie"}
                step["form"] = {k: (token if v == "@TOKEN@" else v) for k, v in s["form"].items()}
                step["send"] = ["session"] if "Cookie" in s["headers"] else []
                steps.append(step)
            f.update(run_flow("csrf", app, steps))
    doc = {
        "generator": "interop/make_flask_ext_vectors.py",
        "versions": {p: version(p) for p in ["Flask", "Werkzeug", "itsdangerous", "Flask-Login", "Flask-WTF", "WTForms"]},
        "python": sys.version.split()[0],
        "now": NOW,
        "signers": signer_cases(),
        "rotation": rotation_cases(),
        "unsign": unsign_cases(),
        "serializer": serializer_cases(),
        "identifiers": identifier_cases(),
        "remember": remember_cases(),
        "csrf": csrf_cases(),
        "flow_secret_key": FLOW_KEY,
        "flows": flow_list,
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
