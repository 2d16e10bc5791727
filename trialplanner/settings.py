"""Settings for trialplanner, all read from the environment (see README "Configuration")."""

from datetime import timedelta
from pathlib import Path

from trialplanner import envconf

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envconf.env_bool("DEBUG", default=False)
SECRET_KEY = envconf.secret_key(DEBUG)
# Key rotation: put the old key here while sessions and reset links signed with it expire.
SECRET_KEY_FALLBACKS = envconf.env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = envconf.env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envconf.env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "trialplanner.accounts",
    "trialplanner.catalog",
    "trialplanner.patients",
    "trialplanner.plans",
    "trialplanner.reminders",
    "trialplanner.handouts",
    "trialplanner.audit",
    "trialplanner.ops",
    "trialplanner.outcomes",
    "trialplanner.interop",
]

MIDDLEWARE = [
    "trialplanner.ops.health.HealthMiddleware",
    "trialplanner.ops.proxy.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trialplanner.security.SessionLimitsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "trialplanner.security.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "trialplanner.audit.context.AuditContextMiddleware",
    "trialplanner.requestmemo.RequestMemoMiddleware",
    "trialplanner.security.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trialplanner.urls"
WSGI_APPLICATION = "trialplanner.wsgi.application"

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
                "trialplanner.context_processors.site",
                "trialplanner.context_processors.worklist_counts",
            ],
        },
    },
]

DATABASES = {"default": envconf.database(BASE_DIR / "db.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work during a write; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue (busy timeout) instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
# A read replica (PostgreSQL streaming replica), read explicitly with using() by the outcome review
# and its CSV only; everything else reads and writes the primary.
if envconf.env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = envconf.database(BASE_DIR / "db.sqlite3", name="DATABASE_REPLICA_URL")
REPORTS_DATABASE = "replica" if "replica" in DATABASES else "default"
for _alias in DATABASES.values():
    if _alias["ENGINE"] == "django.db.backends.postgresql":
        _alias["CONN_MAX_AGE"] = envconf.env_int("CONN_MAX_AGE", 60, minimum=0)
        _alias["CONN_HEALTH_CHECKS"] = True
        # Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator) would outlive
        # the transaction that owns its server connection.
        _alias["DISABLE_SERVER_SIDE_CURSORS"] = envconf.env_bool("PGBOUNCER", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 5 failures for one username from one address locks that pair for 15 minutes.
AXES_FAILURE_LIMIT = envconf.env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envconf.env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "trialplanner.security.axes_username"
# The client's address as TrustedProxyMiddleware settled it (never a forwarding header from anyone).
AXES_CLIENT_IP_CALLABLE = "trialplanner.ops.proxy.client_ip"
# Load balancers or proxies (addresses or CIDR networks) whose X-Forwarded-For names the client.
TRUSTED_PROXIES = envconf.env_list("TRUSTED_PROXIES")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Password-reset links work for one hour (Django's default is three days).
PASSWORD_RESET_TIMEOUT = envconf.env_int("PASSWORD_RESET_SECONDS", 3600, minimum=300)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envconf.env_time_zone("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = envconf.env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
# Outside development, static files are served by WhiteNoise from STATIC_ROOT (run collectstatic),
# compressed and with hashed names so browsers may cache them for ever.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = envconf.env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envconf.env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = envconf.env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envconf.env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envconf.env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envconf.env_bool("EMAIL_USE_TLS", default=False)
# A relay that hangs must not hold a digest (and its ledger transaction) for ever.
EMAIL_TIMEOUT = envconf.env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = envconf.env_str("DEFAULT_FROM_EMAIL", "trialplanner@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Sessions: logged out after 15 idle minutes, and after 12 hours in all.
SESSION_IDLE_SECONDS = envconf.env_int("SESSION_IDLE_SECONDS", 15 * 60, minimum=60)
SESSION_MAX_SECONDS = envconf.env_int("SESSION_MAX_SECONDS", 12 * 60 * 60, minimum=300)
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = envconf.env_bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = envconf.env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = envconf.env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if envconf.env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Two-factor sign-in (TOTP): optional per user; required for everyone when REQUIRE_2FA is on
# (the default outside development).
REQUIRE_2FA = envconf.env_bool("REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "trialplanner"

# Content Security Policy: no inline script anywhere; only this site's files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# The scheduler (`manage.py run_scheduler`) sends the reminder digest at this hour in each clinic's zone.
REMINDER_HOUR = envconf.env_int("REMINDER_HOUR", 7, minimum=0)
if REMINDER_HOUR > 23:
    raise envconf.ImproperlyConfigured(f"REMINDER_HOUR must be an hour from 0 to 23, not {REMINDER_HOUR}.")

SITE_NAME = "trialplanner"
# Absolute address of the app, for links in emails.
SITE_URL = envconf.env_str("SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_paths": {"()": "trialplanner.ops.privatefiles.RedactPathFilter"}},
    # Time, level and logger on every line, for a platform's log pipeline.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_paths"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envconf.env_str("LOG_LEVEL", "INFO").upper()},
    # WeasyPrint logs every rendering step at INFO; keep only its warnings.
    "loggers": {
        **{name: {"level": "WARNING"} for name in ("weasyprint", "fontTools", "axes")},
        # Filtered where the records are made, so every handler (console, admin e-mail) gets them redacted.
        **{name: {"filters": ["redact_paths"]} for name in ("django.request", "django.server")},
    },
}
