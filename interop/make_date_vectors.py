"""Makes testdata/flask_date_vectors.json with the real, pinned Flask.

Usage (from the repository root):

    PY=$(bash .ci/python-env)
    "$PY" interop/make_date_vectors.py > testdata/flask_date_vectors.json

The output is deterministic (frozen clock, seeded random), so a rerun with the
pinned packages (interop/requirements.txt) gives the same bytes.

Two sections:

- "years": Flask writes datetime(YEAR, ...) under the tag " d" (Werkzeug's
  http_date, four-digit years for 1-9999) and reads it back with Werkzeug's
  parse_date (email.utils), which maps years below 100 to 1969-2068. Each
  entry has the payload and cookie Flask writes, the year Flask reads back,
  and the cookie Flask writes when the session also holds another key.
- "texts": payloads {"d": {" d": CONTENT}} with odd contents (other RFC 2822
  forms, malformed dates, non-string contents, and a seeded random set), and
  what Flask's TaggedJSONSerializer.loads makes of each: the datetime, None,
  or an exception (Flask answers 500).
"""

import datetime
import json
import random
import sys
from importlib.metadata import version

import itsdangerous.timed
from flask import Flask
from flask.json.tag import TaggedJSONSerializer

SECRET = "date vectors secret key"
NOW = 1_750_000_000
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)

itsdangerous.timed.TimestampSigner.get_timestamp = lambda self: NOW

app = Flask(__name__)
app.secret_key = SECRET
signer = app.session_interface.get_signing_serializer(app)
tagged = TaggedJSONSerializer()


def loaded_json(dt):
    """A datetime as the vectors describe it (None for None)."""
    if dt is None:
        return None
    return {
        "year": dt.year,
        "unix": (dt - EPOCH) // datetime.timedelta(seconds=1),
        "utcoffset_seconds": dt.utcoffset() // datetime.timedelta(seconds=1),
        "isoformat": dt.isoformat(),
        "python_repr": repr(dt),
    }


def year_case(dt):
    payload = tagged.dumps({"d": dt})
    aware = dt.replace(tzinfo=UTC)
    assert tagged.dumps({"d": aware}) == payload, "naive and aware UTC write the same text"
    back = tagged.loads(payload)["d"]
    with_other = {"d": dt, "other": "changed by the handler"}
    return {
        "python_repr": repr(dt),
        "year": dt.year,
        "payload": payload,
        "cookie": signer.dumps({"d": dt}),
        "loaded": loaded_json(back),
        "flask_rewrites": tagged.dumps({"d": back}),
        "payload_with_other": tagged.dumps(with_other),
        "cookie_with_other": signer.dumps(with_other),
    }


YEARS = [1, 50, 68, 69, 99, 100, 999, 1850, 1899, 1900, 1969, 2000, 9999]


def years():
    out = []
    for y in YEARS:
        out.append(year_case(datetime.datetime(y, 1, 1)))
        out.append(year_case(datetime.datetime(y, 12, 31, 23, 59, 59)))
    return out


def s(text):
    """A string content as compact, ASCII-only JSON (as Flask writes it)."""
    return json.dumps(text, ensure_ascii=True)


HAND = [
    # Other RFC 2822 forms.
    s("Fri, 17 May 2024 14:34:56 +0200"),
    s("Sat, 01 Jan 2000 00:00:00 +0000"),
    s("Sat, 01 Jan 2000 00:00:00 -0000"),
    s("Sat, 01 Jan 2000 00:00:00 UT"),
    s("Sat, 01 Jan 2000 00:00:00 UTC"),
    s("Sat, 01 Jan 2000 00:00:00 Z"),
    s("Sat, 01 Jan 2000 00:00:00 EST"),
    s("Sat, 01 Jan 2000 00:00:00 pdt"),
    s("Sat, 01 Jan 2000 00:00:00 XYZ"),
    s("Sat, 01 Jan 2000 00:00:00"),
    s("Sat, 01 Jan 2000 00:00 GMT"),
    s("Sat, 01 Jan 2000 00.00.00 GMT"),
    s("Sat, 01 Jan 2000 00.00 GMT"),
    s("01 Jan 2000 00:00:00 GMT"),
    s("Sat,01 Jan 2000 00:00:00 GMT"),
    s("Mon, 01 Jan 2000 00:00:00 GMT"),
    s("sat, 01 jan 2000 00:00:00 gmt"),
    s("Saturday, 01 January 2000 00:00:00 GMT"),
    s("Jan 01 2000 00:00:00 GMT"),
    s("Sunday, 06-Nov-94 08:49:37 GMT"),
    s("06-Nov-94 08:49:37 GMT"),
    s("Sun Nov  6 08:49:37 1994"),
    s("Sat, 01 Jan 2000 00:00:00+0200"),
    s("Sat, 01 Jan 2000 00:00:00-0530"),
    s("  Sat, 01 Jan 2000 00:00:00 GMT  "),
    s("Sat,\t01\x1cJan\u30002000 00:00:00 GMT"),
    s("Sat, 01 Jan 2000, 00:00:00, GMT"),
    s("Sat, 01 Jan 00:00:00 2000 GMT"),
    s("Sat, 1_0 Jan 2_000 0_0:00:00 GMT"),
    s("Sat, +01 Jan +2000 +0:-0:+0 GMT"),
    s("Sat, 01 Jan 2000 00:00:00 Eſt"),
    # Two-digit and short years.
    s("Sat, 01 Jan 00 00:00:00 GMT"),
    s("Sat, 01 Jan 68 00:00:00 GMT"),
    s("Sat, 01 Jan 69 00:00:00 GMT"),
    s("Sat, 01 Jan 99 00:00:00 GMT"),
    s("Sat, 01 Jan 100 00:00:00 GMT"),
    s("Sat, 01 Jan 0100 00:00:00 GMT"),
    s("Sat, 01 Jan 00100 00:00:00 GMT"),
    s("Sat, 01 Jan 1 00:00:00 GMT"),
    s("01 Jan GMT 00:00:00 -5"),
    s("01 Jan GMT 00:00:00 -50000"),
    # Out of range: None, or an exception that Flask does not catch.
    s("Sat, 01 Jan 0000 00:00:00 GMT"),
    s("Sat, 01 Jan 10000 00:00:00 GMT"),
    s("Sat, 01 Jan 2147483647 00:00:00 GMT"),
    s("Sat, 01 Jan 2147483648 00:00:00 GMT"),
    s("Sat, 01 Jan 99999999999999999999999999999999999999999 00:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:00:00 +2359"),
    s("Sat, 01 Jan 2000 00:00:00 -2359"),
    s("Sat, 01 Jan 2000 00:00:00 +2400"),
    s("Sat, 01 Jan 2000 00:00:00 +0099"),
    s("Sat, 01 Jan 2000 00:00:00 +99999999999999"),
    s("Sat, 01 Jan 2000 00:00:00 +99999999999999999"),
    s("Sat, 01 Jan 2000 00:00:00 -8640000000000000"),
    s("Sat, 01 Jan 2000 00:00:00 -8640000000000100"),
    s("Sat, 01 Jan 10000 00:00:00 +2400"),
    s("Sat, 01 Jan 2147483648 00:00:00 +2400"),
    s("Sat, 01 Jan 10000 00:00:00 +99999999999999999"),
    s("Sat, 01 Jan 2000 24:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:60:00 GMT"),
    s("Sat, 01 Jan 2000 23:59:60 GMT"),
    s("Sat, 01 Jan 2000 -1:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:00:9999999999 GMT"),
    s("Sat, 31 Feb 2000 00:00:00 GMT"),
    s("Sat, 29 Feb 1900 00:00:00 GMT"),
    s("Sat, 29 Feb 2000 00:00:00 GMT"),
    s("Sat, 00 Jan 2000 00:00:00 GMT"),
    s("Sat, 01 Jan " + "1" * 4301 + " 00:00:00 GMT"),
    s("Sat, 01 Jan " + "1" * 4300 + " 00:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:00:00 +" + "1" * 4301),
    # Malformed.
    s("not a date"),
    s(""),
    s("   "),
    s(","),
    s("Sat,"),
    s("Sat, 01 Jan 2000"),
    s("Sat, 01 Foo 2000 00:00:00 GMT"),
    s("Sat, 01 Jan , 00:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:00:00:00 GMT"),
    s("Sat, 01 Jan 2000 1.2.3.4 GMT"),
    s("Sat, 01 Jan 2000 12 GMT"),
    s("Sat, 01 Jan 2000 00:00:00 GMT\ud800"),
    s("Sat\ud800, 01 Jan 2000 00:00:00 GMT"),
    s("Sat, 01 Jan 2000 00:00:00 GMT extra words here"),
    s("Sat, 01 Jan 1_ 00:00:00 GMT"),
    s("Sat, 01 Jan _1 00:00:00 GMT"),
    s("Sat, 01 Jan 1__0 00:00:00 GMT"),
    # Non-string contents.
    "null",
    "0",
    "0.0",
    "-0.0",
    "false",
    "[]",
    "{}",
    '{" t":[]}',
    '{" b":""}',
    '{" b":"YQ=="}',
    '{" b":"ICA="}',
    '{" m":"Sat, 01 Jan 2000 00:00:00 GMT"}',
    '{" m":"Sat, 01 Jan 0050 00:00:00 GMT"}',
    '{" m":""}',
    '{" d":"garbage"}',
    '{" d":null}',
    '{" d":"Sat, 01 Jan 2000 00:00:00 GMT"}',
    "1",
    "-1",
    "1.5",
    "NaN",
    "true",
    "18446744073709551616",
    "[1]",
    '{"a":1}',
    '{" u":"12345678123456781234567812345678"}',
    '{" t":[1]}',
]

PIECES = [
    "Mon", "mon,", "Tue,", "Sat,", "Sunday,", "Foo,", ",", "-", "Jan", "jan", "JANUARY", "May", "dec",
    "Foo", "01", "1", "31", "32", "0", "00", "-1", "+5", "1_0", "2000", "0050", "50", "99", "69", "68",
    "100", "999", "1850", "9999", "10000", "2147483648", "-5", "00:00:00", "23:59:59", "24:00:00",
    "12:30", "1.2.3", "1.2", "00:00:60", "12:34:56,", "GMT", "gmt", "UT", "Z", "EST", "pdt", "+0000",
    "-0000", "+0200", "-0530", "+2359", "+2400", "-9999", "+99999999999999", "XYZ", "06-Nov-94",
    "Nov-06-94", "1-Jan-2000", "2000,", "01,", "Jan,", "00:00:00+0100", "00:00:00-0100", "é", "Eſt",
]
SEPS = [" ", " ", " ", "  ", "\t", ", ", ",", "\x1c", "\u3000"]
CHARS = "0123456789 ,:.-+_JanMonGTZxé\t"


def pick(rng, options):
    return rng.choice(options[:3] if rng.random() < 0.6 else options)


def random_texts():
    rng = random.Random(20240517)
    seen = set()
    out = []
    while len(out) < 150:
        n = rng.randint(2, 7)
        parts = [rng.choice(PIECES) for _ in range(n)]
        text = parts[0]
        for p in parts[1:]:
            text += rng.choice(SEPS) + p
        if text not in seen:
            seen.add(text)
            out.append(text)
    # Date-shaped: optional weekday, day, month, year, time, optional zone.
    days = ["", "Sat, ", "Sat,", "mon ", "Sunday, ", "Foo, "]
    dds = ["01", "1", "29", "31", "0", "32", "-1", "+5", "1_0", "Jan"]
    months = ["Jan", "feb", "FEB", "May", "Dec", "june", "Foo", "01"]
    years_ = ["2000", "1850", "0050", "50", "69", "68", "0", "100", "0999", "1900", "9999", "10000",
              "-5", "2147483648", "2_000", "00:00:00", "GMT"]
    times = ["00:00:00", "23:59:59", "12:30", "24:00:00", "00:00:60", "1.2.3", "1.2", "12:34:56,",
             "00:00:00+0100", "00:00:00-0100", "2000", "12", "::"]
    zones = ["", " GMT", " gmt", " UT", " Z", " EST", " pdt", " +0000", " -0000", " +0200", " -0530",
             " +2359", " +2400", " -9999", " XYZ", " +99999999999999", " Eſt", " +", " -"]
    while len(out) < 450:
        sep = rng.choice([" ", " ", " ", "  ", "\t", "\x1c", "\u3000"])
        # Mostly well-formed pieces (the first three of each list), some odd ones.
        parts = [pick(rng, dds), pick(rng, months), pick(rng, years_), pick(rng, times)]
        if rng.random() < 0.2:
            i = rng.randrange(3)
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
        text = pick(rng, days) + sep.join(parts) + pick(rng, zones)
        if text not in seen:
            seen.add(text)
            out.append(text)
    base = "Sat, 01 Jan 2000 12:34:56 GMT"
    while len(out) < 600:
        text = list(base)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            i = rng.randrange(len(text) + (op == 1))
            if op == 0 and text:
                text[min(i, len(text) - 1)] = rng.choice(CHARS)
            elif op == 1:
                text.insert(i, rng.choice(CHARS))
            elif text:
                del text[min(i, len(text) - 1)]
        text = "".join(text)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return [s(t) for t in out]


def text_case(content):
    payload = '{"d":{" d":' + content + "}}"
    case = {"content": content, "payload": payload}
    try:
        back = tagged.loads(payload)
    except Exception as e:  # Flask does not catch it either: the request fails
        case["outcome"] = "error"
        case["error"] = type(e).__name__
        return case
    d = back["d"]
    case["outcome"] = "valid"
    case["loaded"] = loaded_json(d) if isinstance(d, datetime.datetime) else None
    case["loaded_python_repr"] = repr(d)
    case["flask_rewrites"] = tagged.dumps(back)
    return case


def main():
    texts = [text_case(c) for c in HAND] + [text_case(c) for c in random_texts()]
    for i, case in enumerate(texts):
        case["id"] = f"text-{i:03}"
    doc = {
        "meta": {
            "generator": "interop/make_date_vectors.py",
            "python": sys.version.split()[0],
            "flask": version("flask"),
            "werkzeug": version("werkzeug"),
            "itsdangerous": version("itsdangerous"),
            "secret_key_utf8": SECRET,
            "timestamp": NOW,
            "max_age_note": "cookies are signed at 'timestamp'; decode them at that time",
        },
        "years": years(),
        "texts": texts,
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
