"""Django settings for Aftersales.

Everything a deployment changes comes from the environment:
- ``AFTERSALES_DATA_DIR``: where the embedded database, uploads, the broker queue and the secret key live.
- ``DATABASE_URL``: e.g. ``postgres://user:pass@db:5432/aftersales`` (default: SQLite in the data dir).
- ``CELERY_BROKER_URL``: e.g. ``redis://127.0.0.1:6379/0`` (default: a durable on-disk queue in the data dir).
- ``AFTERSALES_CACHE_URL``: e.g. ``redis://127.0.0.1:6379/1`` for the shared cache (attempt counters, the WeChat
  access token); default: a file cache in the data dir, shared by the processes of one machine.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("AFTERSALES_DATA_DIR", BASE_DIR.parent / "var")).resolve()
if "PYTEST_XDIST_WORKER" in os.environ and "pytest" in sys.modules:
    # parallel tests: each worker its own database, uploads, queue and outbox files (not the processes a test starts
    # with its own AFTERSALES_DATA_DIR, which inherit the variable)
    DATA_DIR = DATA_DIR / os.environ["PYTEST_XDIST_WORKER"]
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if os.environ.get("AFTERSALES_SECRET_KEY"):
        return os.environ["AFTERSALES_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("AFTERSALES_DEBUG", "") == "1"
AFTERSALES_CSP = os.environ.get("AFTERSALES_CSP", "")  # empty: common.middleware.DEFAULT_CSP
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("AFTERSALES_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# ---- TLS and headers (issue 13, item 8; docs/security.md "Behind TLS") --------------------------------------------
# A public https address means production: secure cookies, HSTS and only that host, unless the environment says
# otherwise. A plain-http address (the shop's own network, the demo) keeps the relaxed defaults.
_PUBLIC = urlsplit(os.environ.get("AFTERSALES_PUBLIC_URL", "http://localhost:8000"))
_HTTPS = _PUBLIC.scheme == "https"
ALLOWED_HOSTS = [
    h for h in os.environ.get(
        "AFTERSALES_ALLOWED_HOSTS", f"{_PUBLIC.hostname},localhost,127.0.0.1" if _HTTPS else "*"
    ).split(",") if h
]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("AFTERSALES_SECURE_COOKIES", "1" if _HTTPS else "0") == "1"
SECURE_HSTS_SECONDS = int(os.environ.get("AFTERSALES_HSTS_SECONDS", "31536000" if _HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("AFTERSALES_HSTS_INCLUDE_SUBDOMAINS", "0") == "1"
SECURE_HSTS_PRELOAD = os.environ.get("AFTERSALES_HSTS_PRELOAD", "0") == "1"
SECURE_SSL_REDIRECT = os.environ.get("AFTERSALES_SSL_REDIRECT", "0") == "1"
# e.g. AFTERSALES_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO when a trusted reverse proxy ends TLS and sets that header
_PROXY_SSL_HEADER = os.environ.get("AFTERSALES_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the API docs (Swagger UI) from local static files instead of a CDN
    "aftersales.common",
    "aftersales.stores",
    "aftersales.staff",
    "aftersales.customers",
    "aftersales.vehicles",
    "aftersales.workshop",
    "aftersales.billing",
    "aftersales.messaging",
    "aftersales.parts",
    "aftersales.appointments",
    "aftersales.reception",
    "aftersales.engagement",
    "aftersales.feedback",
    "aftersales.care",
    "aftersales.estimates",
    "aftersales.web",
    "aftersales.loyalty",
    "aftersales.inspections",
    "aftersales.analytics",
    "aftersales.rescue",
    "aftersales.assessments",
    "aftersales.telematics",
    "aftersales.mobility",
    "aftersales.portal",
    "aftersales.people",
    "aftersales.demo",  # the demo loader: the top layer (issue 19)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "aftersales.common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "aftersales.common.middleware.NoStoreMiddleware",
    "aftersales.common.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aftersales.urls"
WSGI_APPLICATION = "aftersales.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "aftersales.messaging.context_processors.notifications",
                "aftersales.common.context_processors.demo_install",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'aftersales.sqlite3'}"
# Persistent connections in production; none under pytest, whose live-server threads would otherwise keep
# the test database open after the run.
_conn_max_age = 0 if "PYTEST_VERSION" in os.environ else int(os.environ.get("AFTERSALES_DB_CONN_MAX_AGE", "60"))
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=_conn_max_age)}
# One cache shared by every process: login/public-form attempt counters and the WeChat access token (which WeChat
# invalidates when another process fetches a new one). Tests use memory, emptied before each test.
if "PYTEST_VERSION" in os.environ:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif os.environ.get("AFTERSALES_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["AFTERSALES_CACHE_URL"]}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(DATA_DIR / "cache")}}
AFTERSALES_PROXY_IP_HEADER = os.environ.get("AFTERSALES_PROXY_IP_HEADER", "")  # e.g. HTTP_X_REAL_IP behind nginx
AUTHENTICATION_BACKENDS = ["aftersales.staff.backends.StaffBackend"]  # ModelBackend, permissions in one query

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so two
        # concurrent read-then-write transactions serialise instead of failing half-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-aftersales.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "staff.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_LINK_SECONDS = int(os.environ.get("AFTERSALES_MEDIA_LINK_SECONDS", str(6 * 3600)))  # signed file addresses
STORAGES = {
    "default": {"BACKEND": "aftersales.common.media.SignedMediaStorage"},  # private files, signed addresses
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"

# ---- Celery -------------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport, a durable queue of files under the data dir (survives a
# killed process; no server to install). Production: CELERY_BROKER_URL=redis://... (or amqp://...).
CELERY_QUEUE_DIR = DATA_DIR / "queue"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (CELERY_QUEUE_DIR / sub).mkdir(parents=True, exist_ok=True)
    # control_folder: kombu's exchange/queue table. Left unset, kombu writes it to ``control/`` relative to the
    # current directory (a stray folder in whatever directory the process started in).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "data_folder_in": str(CELERY_QUEUE_DIR / "out"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "out"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "") == "1"
# Domain events (common/events.py): background handlers (tiers, points) run in a worker after commit; in the
# process that committed when inline (tests: the assertions right after a request see their effect).
AFTERSALES_EVENTS_INLINE = os.environ.get("AFTERSALES_EVENTS_INLINE", "1" if "PYTEST_VERSION" in os.environ else "") == "1"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AFTERSALES_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Demo and product defaults
# The owner app's shop: a pickup order not paid within this many minutes expires and its reserved stock goes back
# (the sweep, aftersales.portal.shop_expiry_sweep, every minute; an online payment still open at the provider waits)
SHOP_ORDER_UNPAID_MINUTES = int(os.environ.get("SHOP_ORDER_UNPAID_MINUTES", "30"))
PARTS_ADJUSTMENT_APPROVAL_VALUE = 500  # CNY: stock adjustments worth more need a manager's approval
PARTS_DEFAULT_LEAD_TIME_DAYS = 7  # a part with no lead time of its own nor a default supplier (suggested minimums)
PARTS_SAFETY_Z = 1.65  # safety stock of the suggested minimums: a 95 % cycle service level
# The address customers open the links in messages with. Unset, it is the address this process serves on
# (``aftersales run`` sets it from HOST/PORT; else localhost and PORT): fine on one machine, wrong for customers'
# phones, so a system check warns at start when it is unset outside DEBUG (aftersales.W001).
AFTERSALES_PUBLIC_URL_SET = bool(os.environ.get("AFTERSALES_PUBLIC_URL"))
AFTERSALES_PUBLIC_URL = os.environ.get("AFTERSALES_PUBLIC_URL") or f"http://localhost:{os.environ.get('PORT', '8000')}"
AFTERSALES_MAIL_DOMAIN = os.environ.get("AFTERSALES_MAIL_DOMAIN", "aftersales.local")
DEFAULT_FROM_EMAIL = os.environ.get("AFTERSALES_FROM_EMAIL", "noreply@aftersales.local")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
MESSAGING_BATCH_SIZE = int(os.environ.get("MESSAGING_BATCH_SIZE", "200"))
MESSAGING_SEND_THREADS = int(os.environ.get("MESSAGING_SEND_THREADS", "16"))
MESSAGING_MAX_ATTEMPTS = 6
MESSAGING_RETRY_BASE_SECONDS = 30
MESSAGING_RETRY_MAX_SECONDS = 3600
# The SMS provider's reply callback (POST /api/messaging/sms/inbound) must present this shared secret in the
# X-Inbound-Secret header or the ?secret= query parameter. Empty: every inbound call is refused.
MESSAGING_INBOUND_SECRET = os.environ.get("MESSAGING_INBOUND_SECRET", "")
MESSAGING_STALE_AFTER_SECONDS = int(os.environ.get("MESSAGING_STALE_AFTER_SECONDS", "120"))
AFTERSALES_DEFAULT_REGION = "CN"
AFTERSALES_PAGE_SIZE = 25

# Connected vehicles (aftersales/telematics): the MQTT broker the ingesters subscribe to, how long readings are kept,
# how late a device's message may arrive (several ingesters share the load) and still be taken.
TELEMATICS_MQTT_HOST = os.environ.get("TELEMATICS_MQTT_HOST", "127.0.0.1")
TELEMATICS_MQTT_PORT = int(os.environ.get("TELEMATICS_MQTT_PORT", "1883"))
TELEMATICS_MQTT_TOPIC_ROOT = os.environ.get("TELEMATICS_MQTT_TOPIC_ROOT", "telematics")
TELEMATICS_RETENTION_DAYS = int(os.environ.get("TELEMATICS_RETENTION_DAYS", "400"))
TELEMATICS_REORDER_WINDOW_SECONDS = int(os.environ.get("TELEMATICS_REORDER_WINDOW_SECONDS", "300"))
#: GB/T 32960 general alarm flags: reserved bits (28–31) a vendor raises on a collision / an airbag deployment, e.g.
#: {31: "crash", 30: "airbag"}; unnamed reserved bits are ignored and counted (docs/telematics.md, "Vendor adapters")
TELEMATICS_GBT32960_RESERVED_BITS: dict[int, str] = {}
