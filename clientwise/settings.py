"""Clientwise settings: everything that varies between machines comes from the environment."""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("CLIENTWISE_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment; otherwise one generated once and kept in var/secret_key (mode 600)."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(50)
        path.touch(mode=0o600)
        path.write_text(key)
        return key
    except OSError:
        warnings.warn("SECRET_KEY is not set and var/ is not writable; using a random key.", stacklevel=1)
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "ninja",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "clientwise.core",
    "clientwise.accounts",
    "clientwise.customers",
    "clientwise.commerce",
    "clientwise.dataio",
    "clientwise.dataio.identity",
    "clientwise.dataio.quality",
    "clientwise.analytics",
    "clientwise.reports",
    "clientwise.sales",
    "clientwise.service",
    "clientwise.privacy",
    "clientwise.marketing",
    "clientwise.notifications",
    "clientwise.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "clientwise.core.memo.RequestMemoMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clientwise.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "clientwise.core.middleware.PrivatePagesMiddleware",
    "clientwise.core.middleware.OutOfRangeInputMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clientwise.accounts.middleware.IdempotencyMiddleware",
    "clientwise.core.middleware.ApiFeatureLevelMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clientwise.urls"
WSGI_APPLICATION = "clientwise.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clientwise.core.context.navigation",
                "clientwise.notifications.context.bell",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'clientwise.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work at once; the init command runs on every connection.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA busy_timeout=10000; PRAGMA cache_size=-200000; PRAGMA temp_store=MEMORY; "
            "PRAGMA mmap_size=1073741824;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: five failures for a username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
# Front-end libraries come from npm (package.json / package-lock.json) at set-up time.
NODE_MODULES = PROJECT_DIR / "node_modules"
# Only the built files of each package are served, under the same paths as in node_modules.
VENDOR_DIRS = ["bootstrap/dist", "bootstrap-icons/font", "htmx.org/dist", "echarts/dist"]
STATICFILES_DIRS = [(f"vendor/{d}", NODE_MODULES / d) for d in VENDOR_DIRS if (NODE_MODULES / d).exists()]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# `clientwise serve --production` sets CLIENTWISE_PRODUCTION for its processes: static files are collected once
# (collectstatic) and served by WhiteNoise under content-hashed names with far-future caching.
PRODUCTION = env_bool("CLIENTWISE_PRODUCTION", False)
if PRODUCTION:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    WHITENOISE_USE_FINDERS = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Behind HTTPS (docs/deploy.md). HTTPS=1 switches on the SSL redirect, secure cookies and a year of HSTS; each
# can also be set on its own. TRUSTED_PROXY_SSL_HEADER names the header a trusted reverse proxy sets to "https"
# (e.g. X-Forwarded-Proto) — set it only when every request comes through that proxy.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's plain-HTTP health check
if os.environ.get("TRUSTED_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + os.environ["TRUSTED_PROXY_SSL_HEADER"].upper().replace("-", "_"), "https")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)

# Content-Security-Policy (django-csp): scripts, styles, fonts and data only from this site. Pages carry no inline
# scripts or handlers (behaviour is marked with data attributes, core/static/clientwise/app.js); inline style
# attributes are allowed. CSP_REPORT_ONLY=1 sends the same policy as report-only while a deployment checks it.
from csp.constants import NONE, SELF  # noqa: E402

_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# Background work (imports, scoring, journeys): django-tasks with its database backend, run by
# `clientwise worker`. Swap the backend for a broker at scale.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Data quality: a customer with no contact or update for this many months is flagged as stale.
QUALITY_STALE_MONTHS = int(os.environ.get("QUALITY_STALE_MONTHS", "12"))

# Identity resolution (docs/dedup.md): candidate pairs at or above IDENTITY_THRESHOLD are stored for review;
# pairs at or above IDENTITY_AUTO_MERGE_ABOVE (off when unset) are merged at once; survivorship prefers the
# sources in IDENTITY_TRUSTED_SOURCES, most trusted first ("" is a record typed into the CRM).
IDENTITY_THRESHOLD = float(os.environ.get("IDENTITY_THRESHOLD", "0.9"))
IDENTITY_AUTO_MERGE_ABOVE = (float(os.environ["IDENTITY_AUTO_MERGE_ABOVE"])
                             if os.environ.get("IDENTITY_AUTO_MERGE_ABOVE") else None)
IDENTITY_DEDUP_AFTER_IMPORT = os.environ.get("IDENTITY_DEDUP_AFTER_IMPORT", "1") not in ("0", "false", "no")
IDENTITY_TRUSTED_SOURCES = [s.strip() for s in os.environ.get("IDENTITY_TRUSTED_SOURCES", ",crm,pos,import,demo")
                            .split(",")]

# A customer's owner (or a colleague with an open call for them) may unmask one contact at a time, this many a
# user and hour (docs/access.md).
PII_REVEALS_PER_HOUR = int(os.environ.get("PII_REVEALS_PER_HOUR", "60"))

# Data-subject requests (docs/privacy.md): how long an answer may take after the day a request arrives — "15 working
# days" (PIPL practice), "1 month" (GDPR art. 12(3)), or "<n> days" — counted in local dates; PRIVACY_CALENDAR names a
# service business calendar whose holidays and make-up working days count (empty: Monday to Friday).
PRIVACY_RESPONSE_DEADLINE = os.environ.get("PRIVACY_RESPONSE_DEADLINE", "15 working days")
PRIVACY_CALENDAR = os.environ.get("PRIVACY_CALENDAR", "")

# Marketing (docs/marketing.md): campaigns larger than MARKETING_APPROVAL_SIZE customers need a manager's approval;
# frequency caps count marketing messages per customer and local day / local week (0: no cap); quiet hours are on the
# customer's local clock (their `time_zone` custom attribute, else TIME_ZONE) for SMS and WeChat; the SMS gateway
# (MARKETING_SMS_URL, signed with MARKETING_SMS_KEY_ID / MARKETING_SMS_SECRET) and the webhook secret that signs
# delivery receipts, bounces and unsubscribes; files for call centres and print go under var/marketing.
MARKETING_APPROVAL_SIZE = int(os.environ.get("MARKETING_APPROVAL_SIZE", "5000"))
MARKETING_CAP_PER_DAY = int(os.environ.get("MARKETING_CAP_PER_DAY", "1"))
MARKETING_CAP_PER_WEEK = int(os.environ.get("MARKETING_CAP_PER_WEEK", "3"))
MARKETING_QUIET_HOURS = os.environ.get("MARKETING_QUIET_HOURS", "21:00-09:00")
MARKETING_SEND_BATCH = int(os.environ.get("MARKETING_SEND_BATCH", "500"))
MARKETING_SMS_URL = os.environ.get("MARKETING_SMS_URL", "")
MARKETING_SMS_KEY_ID = os.environ.get("MARKETING_SMS_KEY_ID", "")
MARKETING_SMS_SECRET = os.environ.get("MARKETING_SMS_SECRET", "")
MARKETING_SMS_SIGN_NAME = os.environ.get("MARKETING_SMS_SIGN_NAME", "Clientwise")
MARKETING_WECHAT_URL = os.environ.get("MARKETING_WECHAT_URL", "")
MARKETING_WECHAT_TEMPLATE_ID = os.environ.get("MARKETING_WECHAT_TEMPLATE_ID", "")
MARKETING_WEBHOOK_SECRET = os.environ.get("MARKETING_WEBHOOK_SECRET", "")
MARKETING_FILE_DIR = Path(os.environ.get("MARKETING_FILE_DIR", VAR_DIR / "marketing"))

CURRENCY = os.environ.get("CURRENCY", "CNY")
PHONE_REGION = os.environ.get("PHONE_REGION", "CN")
API_FEATURE_LEVEL = 14

# The scheduler (`clientwise scheduler`, started by `clientwise serve`) keeps these periodic jobs queued: "all", or
# a comma-separated list of keys (heartbeat, nightly_scoring, sla_check, report_mailer, task_reminders).
SCHEDULER_JOBS = ("all" if os.environ.get("SCHEDULER_JOBS", "all").strip() == "all"
                  else [k.strip() for k in os.environ["SCHEDULER_JOBS"].split(",") if k.strip()])

# E-mail (notifications for users who opt in, scheduled reports; docs/deploy.md "E-mail"). With EMAIL_HOST set, mail
# goes out over SMTP; without it, to the console (development).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Clientwise <clientwise@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address of this site as users reach it (https://crm.example.com): links in e-mails are made from it.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
