#!/bin/sh
# Start a throwaway django-helpdesk 2.6 for the helpdesk tests and print how to reach it.
# Idempotent: reuses a django-helpdesk already answering on the port, its virtualenv and its database.
# Usage: eval "$(scripts/start-django-helpdesk.sh | sed 's/^/export /')"
# Prints DJANGO_HELPDESK_URL=, DJANGO_HELPDESK_USER=, DJANGO_HELPDESK_PASSWORD=, HELPDESK_QUEUES=,
# HELPDESK_WEBHOOK_SECRET=, DJANGO_HELPDESK_AGENT_USER=, DJANGO_HELPDESK_AGENT_PASSWORD= and
# DJANGO_HELPDESK_MAIL_DIR= on stdout (the same lines are in $DJANGO_HELPDESK_DIR/settings.env, 0600);
# progress goes to stderr.
#
# The instance: its own virtualenv under the directory (never the project's .venv), a Django project
# this script writes, SQLite, the REST API with basic and token authentication, a staff user for
# the connector and a staff agent, the queue Support. Its webhooks call the connector's
# /helpdesk/events/SECRET on DJANGO_HELPDESK_EVENTS_PORT; the tests listen there. As
# docs/helpdesks.md tells operators, django-helpdesk must not mail customers:
# its *_submitter e-mail templates are deleted, and Django's file backend writes every mail it would
# still send to DJANGO_HELPDESK_MAIL_DIR, where the tests check that none went to a customer.
set -eu

DIR="${DJANGO_HELPDESK_DIR:-/tmp/gmail-connector-django-helpdesk}"
PORT="${DJANGO_HELPDESK_PORT:-5490}"
EVENTS_PORT="${DJANGO_HELPDESK_EVENTS_PORT:-5491}"
URL="http://127.0.0.1:$PORT"
VERSION_SPEC="django-helpdesk>=2.6,<2.7"
SETUP_VERSION=1
VENV="$DIR/venv"
PY="$VENV/bin/python"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
ENV_FILE="$DIR/settings.env"

say() { echo "start-django-helpdesk: $*" >&2; }
fail() { say "error: $*"; exit 1; }
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-300; }

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"
mkdir -p "$DIR"
chmod 700 "$DIR"

setting() {   # the value of one line of settings.env
    sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null | head -n 1
}

answers() {   # the API accepts the connector's credentials
    [ -f "$ENV_FILE" ] || return 1
    python3 - "$URL" "$(setting DJANGO_HELPDESK_USER)" "$(setting DJANGO_HELPDESK_PASSWORD)" <<'EOF' 2>/dev/null
import base64, sys, urllib.request
url, user, password = sys.argv[1:4]
request = urllib.request.Request(url + "/api/tickets/?page_size=1", headers={
    "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
try:
    with urllib.request.urlopen(request, timeout=5) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

print_settings() {
    cat "$ENV_FILE"
}

if [ -f "$DIR/initialised" ] && [ "$(cat "$DIR/initialised")" = "$SETUP_VERSION" ] && answers; then
    say "django-helpdesk already answers on $URL"
    print_settings
    exit 0
fi

# Its own virtualenv: django-helpdesk 2.6 needs Django 5.2, which must never reach the project's .venv.
if [ ! -x "$PY" ] || ! "$PY" -c "import helpdesk, rest_framework" >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        say "python3 -m venv failed: installing python3-venv with apt-get"
        { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2 ||
          { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2; }; } ||
            fail "could not install python3-venv"
        python3 -m venv "$VENV" >&2 || fail "python3 -m venv $VENV failed"
    fi
    say "installing $VERSION_SPEC into $VENV (about 10 to 30 s)"
    "$PY" -m pip install -q --disable-pip-version-check "$VERSION_SPEC" >"$DIR/pip.log" 2>&1 ||
        fail "pip install $VERSION_SPEC failed: $(last_line "$DIR/pip.log") (log: $DIR/pip.log)"
fi

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# Secrets are made once and kept (0600): the database remembers the passwords.
umask 077
if [ ! -f "$ENV_FILE" ]; then
    SECRET="$(random)"
    cat >"$ENV_FILE" <<EOF
DJANGO_HELPDESK_URL=$URL
DJANGO_HELPDESK_USER=gmail-connector
DJANGO_HELPDESK_PASSWORD=$(random)
HELPDESK_QUEUES=Support=1
HELPDESK_WEBHOOK_SECRET=$SECRET
DJANGO_HELPDESK_AGENT_USER=agent
DJANGO_HELPDESK_AGENT_PASSWORD=$(random)
DJANGO_HELPDESK_MAIL_DIR=$DIR/mail
EOF
    rm -f "$DIR/initialised"
fi
chmod 600 "$ENV_FILE"
[ -f "$DIR/django-secret-key" ] || random >"$DIR/django-secret-key"
SECRET="$(setting HELPDESK_WEBHOOK_SECRET)"
mkdir -p "$DIR/project/dhtest" "$DIR/mail" "$DIR/media"

cat >"$DIR/project/dhtest/__init__.py" <<EOF
EOF
cat >"$DIR/project/dhtest/settings.py" <<EOF
"""Throwaway django-helpdesk for the gmail-connector tests (written by scripts/start-django-helpdesk.sh)."""
from pathlib import Path

DIR = Path("$DIR")
SECRET_KEY = (DIR / "django-secret-key").read_text().strip()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "rest_framework.authtoken", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "dhtest.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DIR / "db.sqlite3"),
                         "OPTIONS": {"timeout": 20}}}
# Test speed only: every basic-auth request checks the password, and PBKDF2 costs ~0.3 s each time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = str(DIR / "media")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGIN_URL = "helpdesk:login"
# Every mail django-helpdesk would send lands here, one file per message.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(DIR / "mail")
DEFAULT_FROM_EMAIL = "support@example.com"
# DRF's defaults (session, then basic: a wrong password is 403) plus tokens.
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
    "rest_framework.authentication.SessionAuthentication", "rest_framework.authentication.BasicAuthentication",
    "rest_framework.authentication.TokenAuthentication"]}
HELPDESK_TEAMS_MODE_ENABLED = False
# The connector delivers whatever customers attach (and original.eml): no extension list.
HELPDESK_VALIDATE_ATTACHMENT_TYPES = False
HELPDESK_PRIVATE_FOLLOWUP_MEANS_NO_EMAILS = True
LOGGING = {"version": 1, "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}
EOF
cat >"$DIR/project/dhtest/urls.py" <<'EOF'
"""django-helpdesk at /, the admin at /admin/, attachments under /media/ (served unauthenticated, as in many deployments)."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
EOF
cat >"$DIR/project/manage.py" <<'EOF'
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dhtest.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
EOF
cat >"$DIR/project/setup_helpdesk.py" <<'EOF'
"""Users, queue, token and mail templates of the test django-helpdesk (idempotent)."""
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dhtest.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from helpdesk.models import EmailTemplate, Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

values = dict(line.split("=", 1) for line in open(sys.argv[1]).read().splitlines() if "=" in line)
User = get_user_model()


def staff(name, password, email, first, last):
    user, _ = User.objects.get_or_create(username=name)
    user.email, user.first_name, user.last_name = email, first, last
    user.is_staff, user.is_active = True, True
    user.set_password(password)
    user.save()
    return user


connector = staff(values["DJANGO_HELPDESK_USER"], values["DJANGO_HELPDESK_PASSWORD"], "gmail-connector@example.com",
                  "Gmail", "connector")
staff(values["DJANGO_HELPDESK_AGENT_USER"], values["DJANGO_HELPDESK_AGENT_PASSWORD"], "agent@example.com", "Ada",
      "Agent")
token, _ = Token.objects.get_or_create(user=connector)
with open(sys.argv[2], "w") as out:
    out.write(token.key + "\n")
queue, _ = Queue.objects.get_or_create(slug="support", defaults={"title": "Support"})
queue.title, queue.email_address, queue.allow_email_submission = "Support", "support@example.com", False
queue.new_ticket_cc = queue.updated_ticket_cc = ""
queue.enable_notifications_on_email_events = False
queue.email_box_type = None
queue.save()
if queue.id != 1:
    sys.exit(f"the queue Support has id {queue.id}, not 1: remove {os.path.dirname(sys.argv[1])} and start again")
# Only the connector writes to customers: without these templates django-helpdesk sends them nothing.
EmailTemplate.objects.filter(template_name__iendswith="_submitter").delete()
EOF

if [ ! -f "$DIR/initialised" ] || [ "$(cat "$DIR/initialised")" != "$SETUP_VERSION" ]; then
    say "setting up django-helpdesk in $DIR"
    ( cd "$DIR/project" && "$PY" manage.py migrate --noinput >"$DIR/setup.log" 2>&1 &&
      "$PY" setup_helpdesk.py "$ENV_FILE" "$DIR/api-token" >>"$DIR/setup.log" 2>&1 ) ||
        fail "django-helpdesk setup failed: $(last_line "$DIR/setup.log") (log: $DIR/setup.log)"
    chmod 600 "$DIR/api-token"
    echo "$SETUP_VERSION" >"$DIR/initialised"
fi

running() {   # the server of the pid file is alive (and is ours, not a reused pid)
    [ -f "$PIDFILE" ] && grep -q "dhtest\|runserver" "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null
}
if running; then   # up, but from an older setup or not answering: start it again
    kill -- "-$(cat "$PIDFILE")" 2>/dev/null || kill "$(cat "$PIDFILE")" 2>/dev/null || true
    sleep 1
fi

EVENTS="http://127.0.0.1:$EVENTS_PORT/helpdesk/events/$SECRET"
say "starting django-helpdesk on $URL (log: $LOG), webhooks to http://127.0.0.1:$EVENTS_PORT/helpdesk/events/..."
# setsid and no inherited descriptors: the server outlives this script and \$(...) returns.
( cd "$DIR/project" && HELPDESK_NEW_TICKET_WEBHOOK_URLS="$EVENTS" HELPDESK_FOLLOWUP_WEBHOOK_URLS="$EVENTS" \
  DJANGO_SETTINGS_MODULE=dhtest.settings exec setsid "$PY" manage.py runserver --noreload "127.0.0.1:$PORT" \
  </dev/null >"$LOG" 2>&1 ) &
echo $! >"$PIDFILE"

waited=0
until answers; do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        fail "the django-helpdesk server exited before answering: $(last_line "$LOG") (log: $LOG)"
    fi
    if [ "$waited" -ge 150 ]; then
        fail "django-helpdesk did not answer on $URL within 30 s: $(last_line "$LOG") (log: $LOG)"
    fi
    sleep 0.2
    waited=$((waited + 1))
done
say "django-helpdesk answers on $URL"
print_settings
