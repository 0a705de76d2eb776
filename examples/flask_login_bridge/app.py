"""The Flask half of the Flask-Login bridge: a real Flask app with
Flask-Login and Flask-WTF. Its Rust twin is examples/login_bridge.rs; the
live tests (interop/tests/live/flask_login.rs) run both.

    SECRET_KEY='a shared secret of at least 32 bytes!' python examples/flask_login_bridge/app.py [PORT] [basic|strong]

PORT defaults to 5001 (0: a free port, printed on the first line).
SESSION_PROTECTION is the second argument (default "strong").

Routes:
  GET  /                the page: who is logged in, the flashed messages, links
  GET  /login           the login form (FlaskForm: username, password, remember me, csrf_token)
  POST /login           log in (CSRF checked by CSRFProtect), flash, redirect to /
  GET  /logout          log out, flash, redirect to /
  GET  /whoami          "NAME fresh=True|False", or "anonymous" (for scripts)
  GET  /flashes         the flashed messages as JSON [[category, message], ...] (and gone)
  POST /submit          any CSRF-protected form: "accepted", or 400 with Flask-WTF's reason
  GET  /config?now=UNIX only with WEBSESSION_TEST_HOOKS=1: freeze the clock of
                        itsdangerous and Flask-Login (0 unfreezes)

Users: alice / wonderland (id 1), bob / builder (id 2).
"""

import datetime
import json
import os
import sys
import time

import flask_login.login_manager
import itsdangerous.timed
from flask import Flask, flash, get_flashed_messages, redirect, request
from flask_login import LoginManager, UserMixin, current_user, login_fresh, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import escape
from wtforms import BooleanField, PasswordField, StringField

FROZEN = {"now": 0}
_real_get_timestamp = itsdangerous.timed.TimestampSigner.get_timestamp


def _get_timestamp(self):
    return FROZEN["now"] or _real_get_timestamp(self)


itsdangerous.timed.TimestampSigner.get_timestamp = _get_timestamp


class _Clock(datetime.datetime):
    """Flask-Login reads datetime.utcnow() for the remember cookie's Expires."""

    @classmethod
    def utcnow(cls):
        now = FROZEN["now"] or time.time()
        return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None)


flask_login.login_manager.datetime = _Clock

# The tiny user table: id -> (name, password).
USERS = {"1": ("alice", "wonderland"), "2": ("bob", "builder")}


class User(UserMixin):
    def __init__(self, uid):
        self.id = uid
        self.name = USERS[uid][0]


app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]
app.config["SESSION_PROTECTION"] = sys.argv[2] if len(sys.argv) > 2 else "strong"
login_manager = LoginManager(app)
csrf = CSRFProtect(app)


@login_manager.user_loader
def load_user(uid):
    return User(uid) if uid in USERS else None


class LoginForm(FlaskForm):
    username = StringField("Username")
    password = PasswordField("Password")
    remember = BooleanField("Remember me")


@app.errorhandler(CSRFError)
def csrf_error(e):
    return e.description, 400


@app.get("/")
def home():
    if current_user.is_authenticated:
        who = f"Flask sees <b>{escape(current_user.name)}</b> (fresh: {login_fresh()}). <a href=/logout>Log out</a>"
    else:
        who = "Flask sees nobody. <a href=/login>Log in</a>"
    messages = "".join(f"<li class={escape(c)}>{escape(m)}</li>" for c, m in get_flashed_messages(with_categories=True))
    return f"<p>{who}</p><ul>{messages}</ul><p><a href=http://127.0.0.1:5002/>The Rust app</a></p>"


@app.get("/login")
def login_form():
    form = LoginForm()
    return f"""<form method="post" action="/login">
{form.hidden_tag()}
<label>Username {form.username()}</label>
<label>Password {form.password()}</label>
<label>{form.remember()} Remember me</label>
<button>Log in</button>
</form>"""


@app.post("/login")
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return "invalid form", 400
    for uid, (name, password) in USERS.items():
        if name == form.username.data and password == form.password.data:
            login_user(User(uid), remember=form.remember.data)
            flash("Logged in successfully.")
            return redirect("/")
    return "Invalid username or password.", 401


@app.get("/logout")
def logout():
    logout_user()
    flash("You were logged out.")
    return redirect("/")


@app.get("/whoami")
def whoami():
    if current_user.is_authenticated:
        return f"{escape(current_user.name)} fresh={login_fresh()}"
    return "anonymous"


@app.get("/flashes")
def flashes():
    return json.dumps(get_flashed_messages(with_categories=True))


@app.post("/submit")
def submit():
    return "accepted"


@app.get("/config")
def config():
    if os.environ.get("WEBSESSION_TEST_HOOKS") != "1":
        return "test hooks are off", 404
    if "now" in request.args:
        FROZEN["now"] = int(request.args["now"])
    return "ok"


if __name__ == "__main__":
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 5001, app, threaded=False)
    print(server.port, flush=True)
    server.serve_forever()
