"""The pet-name app in Flask, for the benchmark (run under gunicorn)."""

from flask import Flask, redirect, request, session

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
