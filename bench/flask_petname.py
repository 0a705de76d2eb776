"""The pet-name app in Flask, for the benchmark (run under gunicorn).

flask_session_petname.py serves the same app with Flask-Session.
"""

from flask import Flask, redirect, request, session


def make_app():
    """The pet-name app: its routes and its secret key."""
    app = Flask(__name__)
    app.secret_key = "a benchmark secret key, 32 bytes or more"

    @app.get("/")
    def home():
        name = session.get("pet_name")
        return f"Your pet's name is {name}." if name else "I do not know your pet's name."

    @app.post("/petname")
    def set_pet():
        session["pet_name"] = request.form["pet"]
        session.permanent = True
        return redirect("/")

    return app


app = make_app()
