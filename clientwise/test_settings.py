"""Settings for the test suite: fast hashing, no throttling surprises, in-memory SQLite by default."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from clientwise.settings import *  # noqa: E402,F403
from clientwise.settings import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_FAILURE_LIMIT = 3
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA foreign_keys=ON;"}
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("CLIENTWISE_TEST_SQLITE", "")} if os.environ.get(
        "CLIENTWISE_TEST_SQLITE"
    ) else {}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
# Tasks run at once in tests; a test that needs the queue overrides TASKS.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # One test database per run, so parallel runs (developers, CI) on one server never drop each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_clientwise_{os.getpid()}"}

# Imports do not start a duplicate search in tests (a Splink run per import test); the test of that hook
# turns it on.
IDENTITY_DEDUP_AFTER_IMPORT = False
