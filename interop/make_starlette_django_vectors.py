"""Makes testdata/starlette_vectors.json and testdata/django_vectors.json with
the real, pinned Starlette (its SessionMiddleware, driven over ASGI) and
Django (its signed_cookies session backend and django.core.signing).

Usage (from the repository root):

    PY=$(bash .ci/python-env)
    "$PY" interop/make_starlette_django_vectors.py starlette > testdata/starlette_vectors.json
    "$PY" interop/make_starlette_django_vectors.py django > testdata/django_vectors.json

The output is deterministic (frozen clocks, fixed keys), so a rerun with the
pinned packages (interop/requirements.txt) gives the same bytes.

Each file has:

- "meta": package versions, the frozen time, the keys (UTF-8 text).
- "encode": sessions the framework wrote at "timestamp" with key "key":
  "payload" is the JSON the framework serialized (its own json.dumps bytes;
  dicts are built with sorted keys, which is the order websession writes),
  "cookie" the cookie value it set. A Rust test parses the payload, encodes
  it and must get the cookie byte for byte, and decodes the cookie back.
- "decode": cookies the framework was asked to read at "now" with the key
  ring "keys" (current first, then fallbacks; Starlette has no fallbacks):
  "outcome" is "valid" (with the "payload" of what was loaded, re-dumped by
  the same serializer), "invalid" (an empty session) or "error" (the
  framework raised: Starlette answers 500 for a signed payload that is not
  JSON; websession starts an empty session instead).
"""

import asyncio
import base64
import json
import sys
import types
import zlib
from importlib.metadata import version

import itsdangerous.timed

NOW = 1_750_000_000
CLOCK = {"now": NOW}
KEY = "vector key: current secret of the vectors"
OLD_KEY = "vector key: the old secret, now a fallback"
OTHER_KEY = "vector key: a key nobody configured"


def _get_timestamp(self):
    return CLOCK["now"]


itsdangerous.timed.TimestampSigner.get_timestamp = _get_timestamp


def sorted_deep(v):
    """The same value with every dict's keys in code-point order."""
    if isinstance(v, dict):
        return {k: sorted_deep(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sorted_deep(x) for x in v]
    return v


# Sessions every case encodes: every JSON value kind, non-ASCII text,
# escapes, big numbers, floats Python spells its own way, deep nesting,
# and payloads large enough for Django to compress.
SESSIONS = [
    ("one string", {"user": "alice"}),
    ("every kind", {
        "s": "text", "i": 42, "neg": -7, "f": 1.5, "t": True, "n": None, "fa": False,
        "l": [1, "two", 3.0, None], "d": {"b": 1, "a": [True]}, "e": [], "eo": {},
    }),
    ("non-ascii", {"name": "Zoë Ångström", "cjk": "日本語", "emoji": "🍪 cookie", "rtl": "שלום"}),
    ("escapes", {"q": 'say "hi"\\', "ctl": "a\nb\tc\r\x00\x1f\x7f", "html": "<b>&amp;</b>"}),
    ("lone surrogate", {"bad": "\ud800x"}),
    ("numbers", {"big": 2**70, "nbig": -(2**64) - 5, "small": 1e-05, "huge": 1e16,
                 "pi": 3.141592653589793, "third": 1 / 3, "negz": -0.0, "i64": 2**63 - 1}),
    ("nested", {"a": {"b": {"c": {"d": [[[{"e": "deep"}]]]}}}}),
    ("tag-like keys", {" t": [1, 2], " di": {" b": "x"}}),
    ("cart", {"cart": [{"sku": f"SKU-{i:04d}", "qty": i % 3 + 1, "note": "same words again"} for i in range(12)],
              "user_id": 17}),
    ("repetitive", {"blob": "ab" * 300}),
    ("empty string key", {"": "empty key", "k": ""}),
    ("django auth", {"_auth_user_id": "1", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                     "_auth_user_hash": "9c7d1b4f0a5e4f13c1b5f1b2f8a7f3c2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6"}),
]


# --- Starlette -------------------------------------------------------------------

def starlette_vectors():
    from starlette.middleware.sessions import SessionMiddleware

    MAX_AGE = 14 * 24 * 60 * 60

    async def call(key, cookie=None, set_data=None, max_age=MAX_AGE):
        seen = {}

        async def inner(scope, receive, send):
            session = scope["session"]
            seen["loaded"] = dict(session)
            if set_data is not None:
                session.clear()
                session.update(set_data)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app = SessionMiddleware(inner, secret_key=key, max_age=max_age)
        headers = [(b"cookie", f"session={cookie}".encode())] if cookie is not None else []
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers,
                 "query_string": b"", "scheme": "http", "server": ("t", 80)}
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        set_cookies = [v.decode() for k, v in sent[0].get("headers", []) if k == b"set-cookie"]
        return seen["loaded"], set_cookies

    def run(*a, **kw):
        return asyncio.run(call(*a, **kw))

    def cookie_value(header):
        return header.split(";", 1)[0].split("=", 1)[1]

    encode = []
    for name, data in SESSIONS:
        data = sorted_deep(data)
        CLOCK["now"] = NOW
        _, headers = run(KEY, set_data=data)
        encode.append({
            "name": name,
            "key": KEY,
            "timestamp": NOW,
            "payload": json.dumps(data),
            "cookie": cookie_value(headers[0]),
            "set_cookie": headers[0],
        })

    def decode_case(name, cookie, now, keys=(KEY,)):
        CLOCK["now"] = now
        try:
            loaded, _ = run(keys[0], cookie=cookie)
            if loaded:
                return {"name": name, "cookie": cookie, "now": now, "keys": list(keys),
                        "outcome": "valid", "payload": json.dumps(loaded)}
            return {"name": name, "cookie": cookie, "now": now, "keys": list(keys), "outcome": "invalid"}
        except Exception as e:  # Starlette lets json/base64 errors through: a 500
            return {"name": name, "cookie": cookie, "now": now, "keys": list(keys),
                    "outcome": "error", "error": type(e).__name__}

    signer = itsdangerous.TimestampSigner(KEY)
    CLOCK["now"] = NOW
    base = encode[0]["cookie"]
    payload_b64, ts, sig = base.split(".")
    flip = lambda s, i: s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
    decode = [
        decode_case("fresh", base, NOW),
        decode_case("at max age", base, NOW + MAX_AGE),
        decode_case("one second past max age", base, NOW + MAX_AGE + 1),
        decode_case("signed in the future", base, NOW - 1),
        decode_case("wrong key", base, NOW, keys=(OTHER_KEY,)),
        decode_case("flipped payload", flip(base, 3), NOW),
        decode_case("flipped signature", flip(base, len(base) - 5), NOW),
        decode_case("truncated", base[:-1], NOW),
        decode_case("no signature", payload_b64, NOW),
        decode_case("empty", "", NOW),
        decode_case("signed, not json", signer.sign(base64.b64encode(b"{nope")).decode(), NOW),
        decode_case("signed, not base64", signer.sign(b"!!!!").decode(), NOW),
        decode_case("signed, json list", signer.sign(base64.b64encode(b"[1, 2]")).decode(), NOW),
        decode_case("signed, unsorted keys, compact", signer.sign(base64.b64encode(b'{"b":1,"a":"\\u00e9"}')).decode(), NOW),
        decode_case("signed, raw utf-8", signer.sign(base64.b64encode('{"a": "é"}'.encode())).decode(), NOW),
    ]
    for case in encode:
        decode.append(decode_case("roundtrip: " + case["name"], case["cookie"], NOW + 60))
    CLOCK["now"] = NOW
    return {
        "meta": {
            "made_by": "interop/make_starlette_django_vectors.py",
            "starlette": version("starlette"),
            "itsdangerous": version("itsdangerous"),
            "python": sys.version.split()[0],
            "now": NOW,
            "max_age": MAX_AGE,
            "key": KEY,
        },
        "encode": encode,
        "decode": decode,
    }


# --- Django ----------------------------------------------------------------------

def django_vectors():
    import django
    from django.conf import settings

    settings.configure(SECRET_KEY=KEY, SECRET_KEY_FALLBACKS=[],
                       SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    django.setup()
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.core import signing

    signing.time = types.SimpleNamespace(time=lambda: CLOCK["now"])
    AGE = settings.SESSION_COOKIE_AGE
    SALT = "django.contrib.sessions.backends.signed_cookies"

    def make(data, key=KEY):
        settings.SECRET_KEY = key
        s = SessionStore()
        for k, v in data.items():
            s[k] = v
        s.save()
        settings.SECRET_KEY = KEY
        return s.session_key

    encode = []
    for name, data in SESSIONS:
        data = sorted_deep(data)
        CLOCK["now"] = NOW
        cookie = make(data)
        encode.append({
            "name": name,
            "key": KEY,
            "timestamp": NOW,
            "payload": signing.JSONSerializer().dumps(data).decode("latin-1"),
            "compressed": cookie.startswith("."),
            "cookie": cookie,
        })

    def decode_case(name, cookie, now, keys=(KEY,)):
        CLOCK["now"] = now
        settings.SECRET_KEY = keys[0]
        settings.SECRET_KEY_FALLBACKS = list(keys[1:])
        case = {"name": name, "cookie": cookie, "now": now, "keys": list(keys)}
        try:
            signing.loads(cookie, salt=SALT, max_age=AGE)
            case["reason"] = "ok"
        except Exception as e:
            case["reason"] = type(e).__name__
        try:
            loaded = dict(SessionStore(cookie).items())
        except Exception as e:  # a signed payload that is JSON but not a dict: a 500
            case["outcome"] = "error"
            case["error"] = type(e).__name__
            return case
        finally:
            settings.SECRET_KEY = KEY
            settings.SECRET_KEY_FALLBACKS = []
        if loaded:
            case["outcome"] = "valid"
            case["payload"] = signing.JSONSerializer().dumps(loaded).decode("latin-1")
        else:
            case["outcome"] = "invalid"
        return case

    def signed(raw_segment, key=KEY):
        """A cookie whose signature is right over an arbitrary payload segment."""
        return signing.TimestampSigner(key=key, salt=SALT).sign(raw_segment)

    CLOCK["now"] = NOW
    base = encode[0]["cookie"]
    compressed = next(c["cookie"] for c in encode if c["compressed"])
    old = make({"user": "from the old key"}, key=OLD_KEY)
    old_compressed = make({"blob": "old key " * 40}, key=OLD_KEY)
    flip = lambda s, i: s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
    bomb = "." + signing.b64_encode(zlib.compress(b'{"a":"' + b"x" * (1 << 20) + b'"}')).decode()
    decode = [
        decode_case("fresh", base, NOW),
        decode_case("at max age", base, NOW + AGE),
        decode_case("one second past max age", base, NOW + AGE + 1),
        decode_case("signed in the future", base, NOW - 3600),
        decode_case("compressed", compressed, NOW),
        decode_case("compressed, past max age", compressed, NOW + AGE + 1),
        decode_case("old key as fallback", old, NOW, keys=(KEY, OLD_KEY)),
        decode_case("old compressed as fallback", old_compressed, NOW, keys=(KEY, OTHER_KEY, OLD_KEY)),
        decode_case("old key, no fallback", old, NOW),
        decode_case("wrong key", base, NOW, keys=(OTHER_KEY,)),
        decode_case("flipped payload", flip(base, 3), NOW),
        decode_case("flipped compressed payload", flip(compressed, 5), NOW),
        decode_case("flipped signature", flip(base, len(base) - 5), NOW),
        decode_case("truncated", base[:-1], NOW),
        decode_case("no separator", base.replace(":", ""), NOW),
        decode_case("empty", "", NOW),
        decode_case("itsdangerous cookie", itsdangerous.TimestampSigner(KEY).sign(b"e30").decode(), NOW),
        decode_case("signed, not json", signed(signing.b64_encode(b"{nope").decode()), NOW),
        decode_case("signed, not zlib", signed("." + signing.b64_encode(b"not zlib at all").decode()), NOW),
        decode_case("signed, bad timestamp", signing.Signer(key=KEY, salt=SALT).sign("e30:!!"), NOW),
        decode_case("signed, json list", signed(signing.b64_encode(b"[1,2]").decode()), NOW),
        decode_case("signed, latin-1 bytes", signed(signing.b64_encode('{"a":"é"}'.encode("latin-1")).decode()), NOW),
        decode_case("signed, unsorted keys, spaces", signed(signing.b64_encode(b'{"b": 1, "a": 2}').decode()), NOW),
    ]
    for case in encode:
        decode.append(decode_case("roundtrip: " + case["name"], case["cookie"], NOW + 60))
    CLOCK["now"] = NOW
    return {
        "meta": {
            "made_by": "interop/make_starlette_django_vectors.py",
            "django": version("django"),
            "python": sys.version.split()[0],
            "zlib": zlib.ZLIB_VERSION,
            "now": NOW,
            "session_cookie_age": AGE,
            "salt": SALT,
            "key": KEY,
            "old_key": OLD_KEY,
        },
        "encode": encode,
        "decode": decode,
        # A 1 MiB zlib bomb under a valid signature: Django inflates it;
        # websession refuses it past its inflate cap (an empty session).
        "bomb": signed(bomb),
    }


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    if which == "starlette":
        out = starlette_vectors()
    elif which == "django":
        out = django_vectors()
    else:
        sys.exit("usage: make_starlette_django_vectors.py starlette|django")
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
