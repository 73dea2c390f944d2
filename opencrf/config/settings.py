"""Django settings for OpenCRF, read from the environment only (see config/env.py)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from opencrf.config.env import (
    data_dir,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    secret_key,
)
from opencrf.config.site_url import FALLBACK as SITE_URL_FALLBACK

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("OPENCRF_DEBUG", default=False)
SECRET_KEY = secret_key(DEBUG)
ALLOWED_HOSTS = env_list("OPENCRF_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("OPENCRF_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "opencrf.core",
    "opencrf.accounts",
    "opencrf.audit",
    "opencrf.projects",
    "opencrf.dictionary",
    "opencrf.files",
    "opencrf.records",
    "opencrf.api",
    "opencrf.exports",
    "opencrf.surveys",
    "opencrf.quality",
    "opencrf.randomization",
    "opencrf.alerts",
    "opencrf.scheduling",
    "opencrf.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "opencrf.core.middleware.RequestIdMiddleware",
    "opencrf.ops.metrics_middleware.RequestMetricsMiddleware",
    "opencrf.core.middleware.RequestSizeMiddleware",
    # Before CsrfViewMiddleware, which would read the form leniently first.
    "opencrf.core.middleware.RequestTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Participants' pages (/surveys/) are anonymous: the account rules below leave them alone.
    "opencrf.surveys.middleware.SurveyIsolationMiddleware",
    "opencrf.accounts.middleware.UserLanguageMiddleware",
    # Before the account rules below: an expired session leaves a message for the login page.
    "django.contrib.messages.middleware.MessageMiddleware",
    "opencrf.accounts.middleware.SessionLimitsMiddleware",
    "opencrf.accounts.middleware.TwoFactorMiddleware",
    "opencrf.accounts.middleware.PasswordChangeRequiredMiddleware",
    "opencrf.accounts.lifecycle_middleware.TermsAcceptanceMiddleware",
    "opencrf.accounts.lifecycle_middleware.LastActivityMiddleware",
    "axes.middleware.AxesMiddleware",
    # After authentication: administrators may still switch maintenance mode off.
    "opencrf.ops.maintenance.MaintenanceModeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "opencrf.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "opencrf.config.urls"
WSGI_APPLICATION = "opencrf.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "opencrf.ops.context.operations_banners",
            ],
        },
    },
]

# --- Database: embedded SQLite by default, PostgreSQL when DATABASE_URL says so. ---

_SQLITE_OPTIONS = {
    # WAL lets readers run beside the one writer; FULL makes every commit durable.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;",
    "transaction_mode": "IMMEDIATE",
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "opencrf.sqlite3"),
            "OPTIONS": dict(_SQLITE_OPTIONS),
            "TEST": {"NAME": str(DATA_DIR / "test-opencrf.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and sessions. ---

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out accounts and addresses (django-axes; see accounts/lockout.py).
    "opencrf.accounts.lockout.LockoutBackend",
    "opencrf.accounts.backends.AccountStatusBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Length and character classes come from the site settings (accounts/passwords.py).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "opencrf.accounts.passwords.ContainsUserNameValidator"},
    {"NAME": "opencrf.accounts.passwords.SitePasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "opencrf.accounts.passwords.BreachedPasswordValidator"},
]
# Lockout (django-axes): failures counted per account and, separately, per client address;
# the limit and duration come from the site settings. See accounts/lockout.py.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = "opencrf.accounts.lockout.failure_limit"
AXES_COOLOFF_TIME = "opencrf.accounts.lockout.cool_off"
AXES_CLIENT_IP_CALLABLE = "opencrf.accounts.lockout.axes_client_address"
AXES_LOCKOUT_CALLABLE = "opencrf.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code", "csrfmiddlewaretoken"]
OTP_TOTP_ISSUER = "OpenCRF"
SESSION_COOKIE_AGE = env_int("OPENCRF_SESSION_MAX_AGE", 12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- HTTPS. On by default outside development; turn off only for plain-HTTP trials. ---

HTTPS = env_bool("OPENCRF_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("OPENCRF_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env_int("OPENCRF_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# The preload flag has no effect until the domain owner submits the site to the list.
SECURE_HSTS_PRELOAD = HTTPS and env_bool("OPENCRF_HSTS_PRELOAD", default=True)
# Leaving the preload list is the domain owner's choice, not a misconfiguration.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not HTTPS else ["security.W021"]
SECURE_REDIRECT_EXEMPT = [r"^-/alive$", r"^-/ready$", r"^metrics$"]
BEHIND_PROXY = env_bool("OPENCRF_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Languages: Japanese and English, from the browser, switchable, remembered. ---

LANGUAGE_CODE = env_str("OPENCRF_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("OPENCRF_TIME_ZONE", "Asia/Tokyo")
USE_TZ = True

# --- Static and uploaded files (always through the storage API). ---

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
# Bootstrap is vendored in static/vendor/ (its README says why): no package builds at install.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]

# --- Uploads and background jobs. ---

OPENCRF_DICTIONARY_MAX_BYTES = env_int("OPENCRF_DICTIONARY_MAX_BYTES", 10 * 1024 * 1024)
OPENCRF_FILE_MAX_BYTES = env_int("OPENCRF_FILE_MAX_BYTES", 500 * 1024 * 1024)
OPENCRF_API_MAX_BYTES = env_int("OPENCRF_API_MAX_BYTES", 64 * 1024 * 1024)
# The largest file the Data Import Tool accepts (CSV or .xlsx).
OPENCRF_IMPORT_MAX_BYTES = env_int("OPENCRF_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Form fields (not files) of one request: API imports send their data so, REDCapR as multipart
# with one field per parameter. Web pages' form-encoded bodies are held to
# OPENCRF_FORM_MAX_BYTES by core.middleware.RequestSizeMiddleware.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(OPENCRF_API_MAX_BYTES, OPENCRF_DICTIONARY_MAX_BYTES + 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000
OPENCRF_FORM_MAX_BYTES = 2 * 1024 * 1024
# The longest value one field of one record may hold (REDCap's notes fields hold 64 kB).
OPENCRF_VALUE_MAX_CHARS = env_int("OPENCRF_VALUE_MAX_CHARS", 65_535)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
OPENCRF_CLAMD_ADDRESS = env_str("OPENCRF_CLAMD_ADDRESS")
OPENCRF_ALLOW_SQL_FIELDS = env_bool("OPENCRF_ALLOW_SQL_FIELDS", default=False)
# Moving a project to production waits for an administrator's approval (REDCap's default).
OPENCRF_PRODUCTION_NEEDS_APPROVAL = env_bool("OPENCRF_PRODUCTION_NEEDS_APPROVAL", default=True)
# A production draft whose changes are all safe may be applied by its designer without approval.
OPENCRF_DRAFT_SAFE_AUTO_APPLY = env_bool("OPENCRF_DRAFT_SAFE_AUTO_APPLY", default=True)
# Days a finished export stays in a project's export archive before the nightly job deletes it.
OPENCRF_EXPORT_KEEP_DAYS = env_int("OPENCRF_EXPORT_KEEP_DAYS", 30)
# Rate limits of the participants' survey pages (opencrf/surveys/ratelimit.py): per minute,
# except access codes (per 10 minutes) and return codes (per hour). Raise the per-address ones
# when many participants answer from one shared network address.
OPENCRF_SURVEY_POSTS_PER_ADDRESS = env_int("OPENCRF_SURVEY_POSTS_PER_ADDRESS", 120)
OPENCRF_SURVEY_POSTS_PER_LINK = env_int("OPENCRF_SURVEY_POSTS_PER_LINK", 30)
OPENCRF_SURVEY_STARTS_PER_ADDRESS = env_int("OPENCRF_SURVEY_STARTS_PER_ADDRESS", 60)
OPENCRF_SURVEY_CODE_TRIES_PER_ADDRESS = env_int("OPENCRF_SURVEY_CODE_TRIES_PER_ADDRESS", 20)
OPENCRF_SURVEY_RETURN_TRIES_PER_LINK = env_int("OPENCRF_SURVEY_RETURN_TRIES_PER_LINK", 10)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- E-mail: SMTP when a host is set; otherwise the console (development) or files in
# $OPENCRF_DATA_DIR/mail (a server without SMTP keeps every message for the administrator). ---

EMAIL_HOST = env_str("OPENCRF_SMTP_HOST")
_SMTP_TLS = env_choice("OPENCRF_SMTP_TLS", ("starttls", "ssl", "none"), "starttls")
EMAIL_PORT = env_int("OPENCRF_SMTP_PORT", {"ssl": 465, "starttls": 587}.get(_SMTP_TLS, 25))
EMAIL_HOST_USER = env_str("OPENCRF_SMTP_USER")
EMAIL_HOST_PASSWORD = env_str("OPENCRF_SMTP_PASSWORD")
EMAIL_USE_TLS = _SMTP_TLS == "starttls"
EMAIL_USE_SSL = _SMTP_TLS == "ssl"
EMAIL_TIMEOUT = 30
if env_str("OPENCRF_INSTANCE_ROLE").lower() == "training":
    # A training instance sends nothing: it logs one line per message instead.
    EMAIL_BACKEND = "opencrf.ops.instance.SuppressedEmailBackend"
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("OPENCRF_MAIL_FROM", "opencrf@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address users reach the site at, for links in e-mails (no trailing slash). When unset,
# `opencrf serve` sets it to the address it listens at; `opencrf check` warns (site_url.py).
OPENCRF_SITE_URL_CONFIGURED = bool(env_str("OPENCRF_SITE_URL"))
OPENCRF_SITE_URL = (env_str("OPENCRF_SITE_URL") or SITE_URL_FALLBACK).rstrip("/")

# --- Operations: instance role, backups, drills, monitoring and alerts (see ops/). ---

# production, shared (a service for other institutions), validation (for trying upgrades) or
# training (a banner on every page, no outgoing e-mail, reset nightly to the demo study).
OPENCRF_INSTANCE_ROLE = env_choice(
    "OPENCRF_INSTANCE_ROLE", ("production", "shared", "validation", "training"), "production"
)
OPENCRF_BACKUP_DIR = Path(env_str("OPENCRF_BACKUP_DIR") or DATA_DIR / "backups").expanduser()
# An S3-compatible bucket instead of the folder: s3://bucket/prefix, with endpoint and keys.
OPENCRF_BACKUP_S3_URL = env_str("OPENCRF_BACKUP_S3_URL")
OPENCRF_BACKUP_S3_ENDPOINT = env_str("OPENCRF_BACKUP_S3_ENDPOINT")
OPENCRF_BACKUP_S3_REGION = env_str("OPENCRF_BACKUP_S3_REGION", "us-east-1")
OPENCRF_BACKUP_S3_ACCESS_KEY = env_str("OPENCRF_BACKUP_S3_ACCESS_KEY")
OPENCRF_BACKUP_S3_SECRET_KEY = env_str("OPENCRF_BACKUP_S3_SECRET_KEY")
# Encrypts backups when set (a passphrase of 20+ characters); keep a copy away from the server.
OPENCRF_BACKUP_KEY = env_str("OPENCRF_BACKUP_KEY")
# Daily backup at this local time (HH:MM); empty turns scheduled backups off.
OPENCRF_BACKUP_TIME = env_str("OPENCRF_BACKUP_TIME", "02:30")
# Backups kept (docs/operations/backups.md): the newest GENERATIONS whatever their days, plus
# the newest of each of the last DAILY days and WEEKLY weeks that have one.
OPENCRF_BACKUP_KEEP_GENERATIONS = env_int("OPENCRF_BACKUP_KEEP_GENERATIONS", 7)
OPENCRF_BACKUP_KEEP_DAILY = env_int("OPENCRF_BACKUP_KEEP_DAILY", 7)
OPENCRF_BACKUP_KEEP_WEEKLY = env_int("OPENCRF_BACKUP_KEEP_WEEKLY", 4)
# The newest verified backup may be this old before /-/ready fails and an alert goes out.
OPENCRF_BACKUP_MAX_AGE_HOURS = env_int("OPENCRF_BACKUP_MAX_AGE_HOURS", 26)
# Weekly restore drill: ISO weekday (1 Monday … 7 Sunday) and local time; empty time: off.
OPENCRF_DRILL_WEEKDAY = env_int("OPENCRF_DRILL_WEEKDAY", 7)
OPENCRF_DRILL_TIME = env_str("OPENCRF_DRILL_TIME", "04:00")
# Scratch space for drills and `opencrf restore --verify` (default: a folder in the data dir).
OPENCRF_SCRATCH_DIR = Path(env_str("OPENCRF_SCRATCH_DIR") or DATA_DIR / "scratch").expanduser()
# /-/ready fails, and an alert goes out, below this share of free disk (percent).
OPENCRF_DISK_MIN_FREE_PERCENT = env_int("OPENCRF_DISK_MIN_FREE_PERCENT", 10)
# A worker silent for longer than this (seconds) counts as down.
OPENCRF_WORKER_STALE_SECONDS = env_int("OPENCRF_WORKER_STALE_SECONDS", 120)
# A job runner busy with one job for longer than this (seconds) counts as stuck, hence down.
OPENCRF_WORKER_JOB_MAX_SECONDS = env_int("OPENCRF_WORKER_JOB_MAX_SECONDS", 4 * 3600)
# /metrics: loopback always; others with `Authorization: Bearer <token>` or from these networks.
OPENCRF_METRICS_TOKEN = env_str("OPENCRF_METRICS_TOKEN")
OPENCRF_METRICS_ALLOW = env_list("OPENCRF_METRICS_ALLOW", "")
# Alert e-mails go to every active administrator with an address, and to these addresses.
OPENCRF_ALERT_EMAILS = env_list("OPENCRF_ALERT_EMAILS", "")
# Training instances reset themselves to the demo study at this local time every night.
OPENCRF_TRAINING_RESET_TIME = env_str("OPENCRF_TRAINING_RESET_TIME", "03:00")
# Signs the audit trail's checkpoints (audit/anchors.py). Never stored in the database or its
# backups; empty: derived from the secret key under its own label.
OPENCRF_AUDIT_KEY = env_str("OPENCRF_AUDIT_KEY")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("OPENCRF_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
