"""What the live tests' Python apps share: the plain-JSON session values
(every JSON value kind Python's json module writes and reads, with dicts
built in code-point key order, the order websession writes, so both sides
write the same bytes), and serving an ASGI app with uvicorn on a port the
tests learn from stdout. Imported by flask_app.py (which adds Flask's tagged
kinds), starlette_app.py and django_app.py."""

import json
import math
import socket
import sys

KINDS = {
    "str": "héllo wörld 😀 日本 \u0000 \"q\" \\",
    "int": 42,
    "int_neg": -17,
    "int_big": 2**80 + 7,
    "int_big_neg": -(2**70),
    "float": 0.1,
    "float_exp": 1.5e300,
    "float_small": 1e-07,
    "float_neg_zero": -0.0,
    "float_nan": float("nan"),
    "float_inf": float("-inf"),
    "bool": True,
    "false": False,
    "none": None,
    "list": [1, "two", [3.0, None], {"k": False}],
    "empty_list": [],
    "dict": {"a": {"b": [1, 2, {"c": "d"}]}, "z": 0, "é": "accent key"},
    "empty_dict": {},
    "taglike": {" t": [1, 2]},
    "surrogate": "lone \ud800 surrogate",
    "compressed": ["the same words again and again"] * 40,
}


def same(a, b):
    """Equal values of equal types (NaN equals NaN; -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def check(session, expected, rust):
    """What the apps' /check/<kind> answers: 'ok' if session['v'] is
    `expected` (type included) and, when `rust`, session['rust'] is
    'was here'; else 'missing' or 'different'."""
    if "v" not in session:
        return "missing"
    ok = same(session["v"], expected)
    if rust:
        ok = ok and session.get("rust") == "was here"
    return "ok" if ok else "different"


def compact(value):
    """The value as compact JSON with sorted keys (what the Rust side prints)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def serve(app):
    """Serves an ASGI app with uvicorn on 127.0.0.1:PORT (argv[1]; 0 for a
    free port), printing the port once connections can queue."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn serves
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])
