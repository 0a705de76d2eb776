"""The FastAPI half of the FastAPI bridge: a shopping cart in Starlette's
session cookie, which the Rust half (fastapi_bridge/main.rs) shares.

    SECRET_KEY='a shared secret of at least 32 bytes!' python examples/fastapi_bridge/app.py

Serves http://127.0.0.1:5001 (or the port given as the first argument; 0
picks a free one). It prints the port once it accepts connections.
"""

import os
import socket
import sys

import uvicorn
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

app = FastAPI()
# FastAPI's sessions are Starlette's middleware: websession's
# Sessions::starlette with SessionConfig::starlette() reads and writes them.
app.add_middleware(SessionMiddleware, secret_key=os.environ["SECRET_KEY"])


@app.get("/cart")
def cart(request: Request):
    return {"served_by": "fastapi", "user": request.session.get("user"), "cart": request.session.get("cart", [])}


@app.get("/login")
def login(request: Request, user: str):
    request.session["user"] = user
    return cart(request)


@app.get("/add")
def add(request: Request, item: str):
    request.session["cart"] = request.session.get("cart", []) + [item]
    return cart(request)


@app.get("/checkout")
def checkout(request: Request):
    request.session.pop("cart", None)
    return cart(request)


if __name__ == "__main__":
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 5001))
    print(listener.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])
