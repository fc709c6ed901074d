"""Models of the sales app."""

from django.db import models  # noqa: F401
