"""Test settings: the real settings with a test secret and a fast password hasher."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-to-pass")

from trialplanner.settings import *  # noqa: E402, F403

# The outcome review's replica alias, a mirror of the test database (tests/ops/test_deploy.py reads the
# review through it; everything else keeps REPORTS_DATABASE = "default", inside each test's transaction).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# The test server and browser speak plain HTTP on loopback; production keeps these on.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
REQUIRE_2FA = False
# Tests do not run collectstatic, so static URLs are not hashed.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# WhiteNoise reads STATIC_ROOT at start-up; give it an empty folder instead of a missing one.
STATIC_ROOT = tempfile.mkdtemp(prefix="trialplanner-static-")
