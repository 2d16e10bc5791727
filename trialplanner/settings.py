"""Settings for trialplanner, all read from the environment (see README "Configuration")."""

from pathlib import Path

from trialplanner import envconf

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envconf.env_bool("DEBUG", default=False)
SECRET_KEY = envconf.secret_key(DEBUG)
ALLOWED_HOSTS = envconf.env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envconf.env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "trialplanner.catalog",
    "trialplanner.patients",
    "trialplanner.plans",
    "trialplanner.reminders",
    "trialplanner.handouts",
    "trialplanner.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "trialplanner.audit.context.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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
DEFAULT_FROM_EMAIL = envconf.env_str("DEFAULT_FROM_EMAIL", "trialplanner@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SITE_NAME = "trialplanner"
# Absolute address of the app, for links in emails.
SITE_URL = envconf.env_str("SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envconf.env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every rendering step at INFO; keep only its warnings.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}
