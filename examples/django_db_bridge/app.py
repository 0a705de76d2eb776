"""The Django half of the bridge: a one-file Django 5.2 project on the
database session backend, with django.contrib.auth. Login, logout and the
password live here.

    SECRET_KEY='a shared secret of at least 32 bytes!' python app.py

Listens on 127.0.0.1:5001. The sessions are rows of `django_session` in
the SQLite file `target/django_db_bridge.sqlite3` (or `DJANGO_SQLITE`), or
in PostgreSQL when `DATABASE_URL` is set; `migrate` runs at start-up. The
Rust half (`cargo run --example django_db_bridge`) on 127.0.0.1:5002 reads
and writes the same rows under the same `sessionid` cookie.
"""

import html
import os
import urllib.parse
from wsgiref.simple_server import make_server

import django
from django.conf import settings

if "DATABASE_URL" in os.environ:
    url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
    DATABASE = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
    }
else:
    DATABASE = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SQLITE", "target/django_db_bridge.sqlite3"),
    }

settings.configure(
    SECRET_KEY=os.environ["SECRET_KEY"],
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DATABASES={"default": DATABASE},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.db",
)
django.setup()

from django.contrib.auth import authenticate, login, logout  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, HttpResponseRedirect  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)


def index(request):
    who = f"Logged in as <b>{html.escape(request.user.username)}</b>." if request.user.is_authenticated else "Not logged in."
    pet = html.escape(request.session.get("pet_name", "(none)"))
    return HttpResponse(
        f"<p>Django: {who} Pet name: <b>{pet}</b>.</p>"
        '<form method="post" action="/login"><input name="user" placeholder="name"> '
        '<input name="password" type="password" placeholder="password"> <button>Log in</button></form>'
        '<form method="post" action="/pet"><input name="name" placeholder="pet name"> <button>Name the pet</button></form>'
        '<form method="post" action="/password"><input name="password" type="password" placeholder="new password"> '
        "<button>Change password</button></form>"
        '<form method="post" action="/logout"><button>Log out</button></form>'
        '<p><a href="http://127.0.0.1:5002/">See it from Rust</a></p>'
    )


@csrf_exempt
def log_in(request):
    name, password = request.POST["user"], request.POST["password"]
    # A demo: the first login with a name makes the user.
    if not User.objects.filter(username=name).exists():
        User.objects.create_user(name, password=password)
    user = authenticate(request, username=name, password=password)
    if user is not None:
        login(request, user)  # cycle_key(), then the _auth_user_* keys
    return HttpResponseRedirect("/")


@csrf_exempt
def pet(request):
    request.session["pet_name"] = request.POST["name"]
    return HttpResponseRedirect("/")


@csrf_exempt
def change_password(request):
    if request.user.is_authenticated:
        # Without update_session_auth_hash: every session of the user ends,
        # this one included, on the Django side and on the Rust side.
        request.user.set_password(request.POST["password"])
        request.user.save()
    return HttpResponseRedirect("/")


@csrf_exempt
def log_out(request):
    logout(request)  # flush(): the row goes
    return HttpResponseRedirect("/")


urlpatterns = [
    path("", index),
    path("login", log_in),
    path("pet", pet),
    path("password", change_password),
    path("logout", log_out),
]

if __name__ == "__main__":
    print("Django on http://127.0.0.1:5001", flush=True)
    make_server("127.0.0.1", 5001, get_wsgi_application()).serve_forever()
