"""The Flask half of the Flask-Session bridge: Flask-Session 0.8 keeps the
sessions in Redis; login and logout live here.

    SECRET_KEY='a shared secret of at least 32 bytes!' python app.py

Listens on 127.0.0.1:5001 (Redis at REDIS_URL, default
redis://127.0.0.1:6379). The Rust half (`cargo run --example
flask_session_bridge`) on 127.0.0.1:5002 reads and writes the same Redis
records under the same `session` cookie: browsers send cookies to a host
whatever the port.
"""

import html
import os

import redis
from flask import Flask, redirect, request, session
from flask_session import Session

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SESSION_TYPE="redis",
    SESSION_REDIS=redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")),
    # Flask-Session's defaults, spelled out: what the Rust side must match.
    SESSION_KEY_PREFIX="session:",
    SESSION_SERIALIZATION_FORMAT="msgpack",
)
Session(app)


@app.get("/")
def index():
    user = session.get("user_id")
    who = f"Logged in as <b>{html.escape(user)}</b>." if user else "Not logged in."
    session["visits"] = session.get("visits", 0) + 1
    return (
        f"<p>Flask: {who} Visits (both apps count): {session['visits']}.</p>"
        '<form method="post" action="/login"><input name="user" placeholder="name"> '
        "<button>Log in</button></form>"
        '<form method="post" action="/logout"><button>Log out</button></form>'
        '<p><a href="http://127.0.0.1:5002/">See it from Rust</a></p>'
    )


@app.post("/login")
def login():
    # A new session id on login, as a careful app does.
    app.session_interface.regenerate(session)
    session["user_id"] = request.form["user"]
    return redirect("/")


@app.post("/logout")
def logout():
    # An empty session: Flask-Session deletes the record and the cookie.
    session.clear()
    return redirect("/")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5001)
