"""Strings defined outside any app (settings.py) that still need a translation catalog: core's holds them."""

from django.utils.translation import gettext_noop

# settings.LANGUAGES
LANGUAGE_NAMES = (gettext_noop("Simplified Chinese"), gettext_noop("English"))
