"""Project-wide middleware owned by core."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.cache import patch_cache_control
from django.views.defaults import bad_request

from clientwise.core.errors import input_out_of_range


class ApiFeatureLevelMiddleware:
    """Adds `API-Feature-Level: <settings.API_FEATURE_LEVEL>` to every /api/ response (errors included).

    Clients compare it with docs/api-changelog.md to know which additions this server already has.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            response["API-Feature-Level"] = str(settings.API_FEATURE_LEVEL)
        return response


class PrivatePagesMiddleware:
    """`Cache-Control: no-store, private` on every response Django renders (pages, API, downloads), unless a view
    set its own Cache-Control.

    Nearly every page and API answer carries personal data or depends on who asks; neither a shared proxy nor the
    browser's disk cache (or back button after sign-out) may keep them. Static files never get here: WhiteNoise
    answers them first, with long caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class OutOfRangeInputMiddleware:
    """A page whose query got a number too large for the database (`?owner=99999999999999999999`) answers 400
    Bad Request, not a server error (the API does the same with a 422 JSON error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if input_out_of_range(exception):
            logging.getLogger(__name__).warning("input out of range on %s %s: %s", request.method, request.path,
                                                exception)
            return bad_request(request, exception)
        return None
