"""The Flask half of the bridge: login and logout live here.

    SECRET_KEY='a shared secret of at least 32 bytes!' python app.py

Listens on 127.0.0.1:5001. The Rust half (`cargo run --example flask_bridge`)
on 127.0.0.1:5002 reads the same `session` cookie: browsers send cookies to
a host whatever the port.
"""

import os

from flask import Flask, redirect, request, session

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]


@app.get("/")
def index():
    user = session.get("user_id")
    who = f"Logged in as {user}." if user else "Not logged in."
    return (
        f"<p>{who}</p>"
        '<form method="post" action="/login"><input name="user" placeholder="name"> '
        '<button>Log in</button></form>'
        '<form method="post" action="/logout"><button>Log out</button></form>'
        '<p><a href="http://127.0.0.1:5002/">See it from Rust</a></p>'
    )


@app.post("/login")
def login():
    session["user_id"] = request.form["user"]
    session.permanent = True
    return redirect("/")


@app.post("/logout")
def logout():
    session.clear()
    return redirect("/")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5001)
