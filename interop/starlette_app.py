"""The Starlette side of the live interop tests: a real Starlette app with
its SessionMiddleware, served by uvicorn.

Run by interop/tests/live/starlette.rs: `python starlette_app.py PORT` (0: a
free port, printed on stdout once bound). The key is SECRET_KEY from the
environment (Starlette has one key), the maximum age MAX_AGE (seconds,
default Starlette's 14 days).

Routes:
  /config?now=UNIX      freeze itsdangerous' clock, which signs and checks the age (0 unfreezes)
  /kinds                the kinds' names, comma-separated
  /kind/<kind>          the kind's value as compact sorted JSON
  /set/<kind>           session['v'] = the kind's value
  /check/<kind>         'ok' if session['v'] is the kind's value (type included), and
                        session['rust'] == 'was here' when ?rust=1; else 'missing' or 'different'
  /dump                 the session as compact sorted JSON
  /clear                session.clear()
"""

import os

import itsdangerous.timed
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from python_kinds import check as check_kind
from python_kinds import KINDS, compact, serve

FROZEN = {"now": 0}
_real_get_timestamp = itsdangerous.timed.TimestampSigner.get_timestamp


def _get_timestamp(self):
    return FROZEN["now"] or _real_get_timestamp(self)


# itsdangerous reads the time through this method to sign and to check the age.
itsdangerous.timed.TimestampSigner.get_timestamp = _get_timestamp


async def config(request):
    FROZEN["now"] = int(request.query_params.get("now", "0"))
    return PlainTextResponse("ok")


async def kinds(request):
    return PlainTextResponse(",".join(KINDS))


async def kind(request):
    return PlainTextResponse(compact(KINDS[request.path_params["kind"]]))


async def set_kind(request):
    request.session["v"] = KINDS[request.path_params["kind"]]
    return PlainTextResponse("ok")


async def check(request):
    expected = KINDS[request.path_params["kind"]]
    rust = request.query_params.get("rust") == "1"
    return PlainTextResponse(check_kind(request.session, expected, rust))


async def dump(request):
    return PlainTextResponse(compact(dict(request.session)))


async def clear(request):
    request.session.clear()
    return PlainTextResponse("cleared")


app = Starlette(
    routes=[
        Route("/config", config),
        Route("/kinds", kinds),
        Route("/kind/{kind}", kind),
        Route("/set/{kind}", set_kind),
        Route("/check/{kind}", check),
        Route("/dump", dump),
        Route("/clear", clear),
    ],
    middleware=[
        Middleware(
            SessionMiddleware,
            secret_key=os.environ["SECRET_KEY"],
            max_age=int(os.environ.get("MAX_AGE", 14 * 24 * 60 * 60)),
        )
    ],
)

if __name__ == "__main__":
    serve(app)
