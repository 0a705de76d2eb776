"""The Django side of the live interop tests: a real Django project in one
file, with the signed_cookies session backend, served over ASGI by uvicorn.

Run by interop/tests/live/django.rs: `python django_app.py PORT` (0: a free
port, printed on stdout once bound). SECRET_KEY and SESSION_COOKIE_AGE come
from the environment and can be changed with /config.

Routes:
  /config?key=TEXT&fallbacks=TEXT,TEXT&now=UNIX   set SECRET_KEY, SECRET_KEY_FALLBACKS, and
                                                  freeze django.core.signing's clock (0 unfreezes)
  /kinds                the kinds' names, comma-separated
  /kind/<kind>          the kind's value as compact sorted JSON
  /set/<kind>           request.session['v'] = the kind's value
  /check/<kind>         'ok' if session['v'] is the kind's value (type included), and
                        session['rust'] == 'was here' when ?rust=1; else 'missing' or 'different'
  /dump                 the session as compact sorted JSON
  /clear                request.session.flush()
"""

import os
import time
import types

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["SECRET_KEY"],
    SECRET_KEY_FALLBACKS=[k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k],
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    # CommonMiddleware sets Content-Length (the tests' HTTP client reads no chunks).
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    SESSION_COOKIE_AGE=int(os.environ.get("SESSION_COOKIE_AGE", 1209600)),
)
django.setup()

import django.contrib.sessions.middleware  # noqa: E402
import django.core.signing  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from python_kinds import KINDS, compact, serve  # noqa: E402
from python_kinds import check as check_kind  # noqa: E402

FROZEN = {"now": 0}
# Signing, the age check and the cookie's expires read the time here.
CLOCK = types.SimpleNamespace(time=lambda: FROZEN["now"] or time.time())
django.core.signing.time = CLOCK
django.contrib.sessions.middleware.time = CLOCK


def config(request):
    q = request.GET
    if "key" in q:
        settings.SECRET_KEY = q["key"]
    if "fallbacks" in q:
        settings.SECRET_KEY_FALLBACKS = [k for k in q["fallbacks"].split(",") if k]
    if "now" in q:
        FROZEN["now"] = int(q["now"])
    return HttpResponse("ok")


def kinds(request):
    return HttpResponse(",".join(KINDS))


def kind(request, name):
    return HttpResponse(compact(KINDS[name]))


def set_kind(request, name):
    request.session["v"] = KINDS[name]
    return HttpResponse("ok")


def check(request, name):
    rust = request.GET.get("rust") == "1"
    return HttpResponse(check_kind(request.session, KINDS[name], rust))


def dump(request):
    return HttpResponse(compact(dict(request.session.items())))


def clear(request):
    request.session.flush()
    return HttpResponse("cleared")


urlpatterns = [
    path("config", config),
    path("kinds", kinds),
    path("kind/<str:name>", kind),
    path("set/<str:name>", set_kind),
    path("check/<str:name>", check),
    path("dump", dump),
    path("clear", clear),
]

app = get_asgi_application()

if __name__ == "__main__":
    serve(app)
