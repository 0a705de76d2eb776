"""The Django side of the live tests of websession-python's DjangoStore: a
real Django 5.2 project in one file with the database session backend
(SESSION_ENGINE = "django.contrib.sessions.backends.db") and
django.contrib.auth, on PostgreSQL or SQLite, served over ASGI by uvicorn.
`migrate` runs at start-up and makes django_session and the auth tables.

Run by interop/tests/django_db.rs: `python django_db_app.py PORT` (0: a free
port, printed on stdout once bound). Environment:
  SECRET_KEY, SECRET_KEY_FALLBACKS (comma-separated)
  DJANGO_DB=postgres: DATABASE_URL, and DJANGO_SCHEMA, a schema made (and
                      put first in search_path) for this run
  DJANGO_DB=sqlite:   DJANGO_SQLITE, the database file

Routes (the session cookie is `sessionid`):
  /config?key=&fallbacks=&now=   SECRET_KEY, SECRET_KEY_FALLBACKS, and freeze the
                                 clock at a Unix time (0 unfreezes)
  /kinds, /kind/<kind>           the value kinds (python_kinds.py)
  /set/<kind>                    session['v'] = the kind's value
  /check/<kind>                  'ok' if session['v'] is it (type included), and
                                 session['rust'] == 'was here' when ?rust=1
  /dump                          the session as compact sorted JSON
  /touch                         session['django'] = 'was here'
  /flush                         request.session.flush()
  /cycle                         request.session.cycle_key()
  /expiry?seconds=N | ?date=ISO  request.session.set_expiry(...)
  /login?user=&password=         creates the user if needed; authenticate + login
  /whoami                        request.user's name (Django's hash check runs here), or 'anonymous'
  /set_password?user=&password=  changes the password (other sessions end)
  /password_hash?user=           auth_user.password
  /row?key=                      the row's expire_date (Unix seconds), or 'none'
  /forge?key=&how=               overwrite the row's session_data: garbage, forged
                                 (signed with another key), list (a JSON list)
  /teardown                      drops the schema (PostgreSQL)
"""

import os
import time
import types
import urllib.parse
from datetime import datetime, timezone as dt_timezone

import django
from django.conf import settings

DB = os.environ.get("DJANGO_DB", "sqlite")
SCHEMA = os.environ.get("DJANGO_SCHEMA", "")

if DB == "postgres":
    url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    DATABASE = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
        "OPTIONS": {"options": f"-c search_path={SCHEMA}"} if SCHEMA else {},
    }
else:
    DATABASE = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_SQLITE"]}

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["SECRET_KEY"],
    SECRET_KEY_FALLBACKS=[k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k],
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DATABASES={"default": DATABASE},
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
    ],
    # CommonMiddleware sets Content-Length (the tests' HTTP client reads no chunks).
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    # A fast hasher: the tests log in often; the hash's form doesn't matter.
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)

if DB == "postgres" and SCHEMA:
    import psycopg2

    conn = psycopg2.connect(os.environ["DATABASE_URL"])
    conn.autocommit = True
    conn.cursor().execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    conn.close()

django.setup()

import django.contrib.sessions.middleware  # noqa: E402
import django.core.signing  # noqa: E402
import django.utils.timezone  # noqa: E402
from django.contrib.auth import authenticate, login  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core import signing  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from python_kinds import KINDS, compact, serve  # noqa: E402
from python_kinds import check as check_kind  # noqa: E402

FROZEN = {"now": 0}
REAL_NOW = django.utils.timezone.now


def now_seconds():
    return FROZEN["now"] or time.time()


# Signing, the cookie's expires, expire_date and the live-row filter read the time here.
CLOCK = types.SimpleNamespace(time=now_seconds)
django.core.signing.time = CLOCK
django.contrib.sessions.middleware.time = CLOCK
django.utils.timezone.now = lambda: (
    datetime.fromtimestamp(FROZEN["now"], dt_timezone.utc) if FROZEN["now"] else REAL_NOW()
)

call_command("migrate", verbosity=0, interactive=False)


def text(value):
    return HttpResponse(str(value))


def config(request):
    q = request.GET
    if "key" in q:
        settings.SECRET_KEY = q["key"]
    if "fallbacks" in q:
        settings.SECRET_KEY_FALLBACKS = [k for k in q["fallbacks"].split(",") if k]
    if "now" in q:
        FROZEN["now"] = int(q["now"])
    return text("ok")


def set_kind(request, name):
    request.session["v"] = KINDS[name]
    return text("ok")


def check(request, name):
    rust = request.GET.get("rust") == "1"
    return text(check_kind(request.session, KINDS[name], rust))


def touch(request):
    request.session["django"] = "was here"
    return text("ok")


def flush(request):
    request.session.flush()
    return text("flushed")


def cycle(request):
    request.session.cycle_key()
    return text("ok")


def expiry(request):
    q = request.GET
    request.session.set_expiry(int(q["seconds"]) if "seconds" in q else q["date"])
    return text("ok")


def log_in(request):
    name, password = request.GET["user"], request.GET["password"]
    if not User.objects.filter(username=name).exists():
        User.objects.create_user(name, password=password)
    user = authenticate(request, username=name, password=password)
    if user is None:
        return text("denied")
    login(request, user)
    return text("ok")


def whoami(request):
    return text(request.user.username if request.user.is_authenticated else "anonymous")


def set_password(request):
    user = User.objects.get(username=request.GET["user"])
    user.set_password(request.GET["password"])
    user.save()
    return text("ok")


def password_hash(request):
    return text(User.objects.get(username=request.GET["user"]).password)


def row(request):
    found = Session.objects.filter(session_key=request.GET["key"]).first()
    return text(int(found.expire_date.timestamp()) if found else "none")


def forge(request):
    how = request.GET["how"]
    salt = "django.contrib.sessions.SessionStore"
    data = {
        "garbage": "not a signed session at all",
        "forged": signing.dumps({"_auth_user_id": "1"}, key="a key nobody has", salt=salt, compress=True),
        "list": signing.dumps([1, 2], salt=salt, compress=True),
    }[how]
    updated = Session.objects.filter(session_key=request.GET["key"]).update(session_data=data)
    return text(updated)


def teardown(request):
    if DB == "postgres" and SCHEMA:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    return text("ok")


urlpatterns = [
    path("config", config),
    path("kinds", lambda request: text(",".join(KINDS))),
    path("kind/<str:name>", lambda request, name: text(compact(KINDS[name]))),
    path("set/<str:name>", set_kind),
    path("check/<str:name>", check),
    path("dump", lambda request: text(compact(dict(request.session.items())))),
    path("touch", touch),
    path("flush", flush),
    path("cycle", cycle),
    path("expiry", expiry),
    path("login", log_in),
    path("whoami", whoami),
    path("set_password", set_password),
    path("password_hash", password_hash),
    path("row", row),
    path("forge", forge),
    path("teardown", teardown),
]

app = get_asgi_application()

if __name__ == "__main__":
    serve(app)
