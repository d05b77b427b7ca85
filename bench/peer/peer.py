"""The peer the lookups are measured against: the availability check as the
seeds' Django stack writes it (Meiduo's `GET mobiles/<mobile>/count/`, a
Django REST framework view counting users by mobile), in one file, on
SQLite (the model in peerapp/), served by gunicorn. Not part of the product: bench/run.sh starts it
beside our server when BENCH_PEER=1, so both are measured in one run on one
machine.

    python peer.py migrate          # creates the database (DATA_DIR/peer.db)
    gunicorn --chdir bench/peer peer:application
"""

import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-peer-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "peerapp",
    ],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(os.environ.get("DATA_DIR", "."), "peer.db"),
        }
    },
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    AUTH_USER_MODEL="peerapp.User",
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
    USE_TZ=True,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
django.setup()

from django.urls import re_path  # noqa: E402
from peerapp.models import User  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402


class MobileCountView(APIView):
    def get(self, request, mobile):
        count = User.objects.filter(mobile=mobile).count()
        return Response({"mobile": mobile, "count": count})


urlpatterns = [re_path(r"^mobiles/(?P<mobile>1[3-9]\d{9})/count/$", MobileCountView.as_view())]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

if __name__ == "__main__" and sys.argv[1:] == ["migrate"]:
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    User.objects.get_or_create(username="benchuser", mobile="13800000000")
