"""The pet-name app in Django with its database session backend
(django.contrib.sessions.backends.db) on PostgreSQL, for the benchmark: the
Python anchor of the websession contender on the same `django_session`
table (websession-python's DjangoStore). Run under gunicorn, one worker,
like flask_petname.py: `gunicorn django_db_petname:application`.

The table lives in the schema ``bench_django`` of DATABASE_URL (through
PostgreSQL's search_path), which this app creates with Django's own
migration at start; bench/run drops the schema before the contender starts.

Django's defaults otherwise: the session is saved when it changes
(SESSION_SAVE_EVERY_REQUEST = False, the rule of the Rust store peers), a
persistent connection (CONN_MAX_AGE = None, as a production app would set).
"""

import os
from urllib.parse import urlsplit

import django
from django.conf import settings

SCHEMA = "bench_django"
url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))

settings.configure(
    DEBUG=False,
    SECRET_KEY="a benchmark secret key, 32 bytes or more",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.sessions"],
    # CommonMiddleware sets Content-Length (gunicorn would send chunked
    # responses, which the benchmark's cookie maker doesn't read).
    MIDDLEWARE=[
        "django.middleware.common.CommonMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.db",
    SESSION_COOKIE_AGE=31 * 86400,
    USE_TZ=True,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/") or "test",
            "USER": url.username or "postgres",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "127.0.0.1",
            "PORT": str(url.port or 5432),
            "CONN_MAX_AGE": None,
            "OPTIONS": {"options": f"-c search_path={SCHEMA}"},
        }
    },
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse, HttpResponseRedirect  # noqa: E402
from django.urls import path  # noqa: E402

with connection.cursor() as cursor:
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
call_command("migrate", "sessions", verbosity=0)
connection.close()


def home(request):
    name = request.session.get("pet_name")
    return HttpResponse(
        f"Your pet's name is {name}." if name else "I do not know your pet's name."
    )


def set_pet(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    request.session["pet_name"] = request.POST["pet"]
    return HttpResponseRedirect("/")


urlpatterns = [path("", home), path("petname", set_pet)]
application = get_wsgi_application()
