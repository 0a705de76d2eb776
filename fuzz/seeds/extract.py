"""Writes fuzz seed files from the Flask vectors: cookies for the cookie
targets, JSON payloads for tagged_json. Run from the fuzz/ directory."""

import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
vectors = json.load(open(os.path.join(HERE, "../../testdata/flask_vectors_public.json")))
for target in ("signed_decode", "sealed_decode", "cookie_header", "session_id", "tagged_json"):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)


def put(target, data):
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


for case in vectors["cases"]:
    cookie = case.get("cookie")
    if cookie is not None:
        put("signed_decode", cookie.encode())
        put("sealed_decode", cookie.encode())
        put("cookie_header", b"theme=dark; session=" + cookie.encode())
    for field in ("session_tagged_json",):
        if case.get(field):
            put("tagged_json", case[field].encode())
            put("signed_decode", case[field].encode())
    parts = case.get("cookie_parts") or {}
    if parts.get("payload_json"):
        put("tagged_json", parts["payload_json"].encode())
put("session_id", b"q9Tn2o0Q4JmU6b3jP0x4bqkR0wq6yQ8X0b0r2cXk5nY")
put("session_id", b"short")
