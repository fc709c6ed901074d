"""Project-wide middleware owned by core."""

from __future__ import annotations

from django.conf import settings


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
