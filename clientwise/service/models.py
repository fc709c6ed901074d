"""Models of the service app."""

from django.db import models  # noqa: F401
