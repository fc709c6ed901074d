"""The JSON API v1: one NinjaAPI assembled from each app's router, one error format for everything.

Every error is `{"code", "message", "field"}` with a fitting 4xx status; a bug is a 500 with the same shape.
Auth: `Authorization: Bearer cw_…` (a personal API token) or the browser session (with CSRF).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from clientwise.accounts.api import router as accounts_router
from clientwise.accounts.services import user_for_token
from clientwise.analytics.api import router as analytics_router
from clientwise.analytics.api_labels import router as label_models_router
from clientwise.commerce.api import router as commerce_router
from clientwise.core.errors import DomainError, ErrorCode, input_out_of_range
from clientwise.customers.api import router as customers_router
from clientwise.dataio.api import router as dataio_router
from clientwise.dataio.identity.api import router as identity_router
from clientwise.dataio.quality.api import router as quality_router
from clientwise.marketing.api import router as marketing_router
from clientwise.notifications.api import router as notifications_router
from clientwise.privacy.api import router as privacy_router
from clientwise.reports.api import router as reports_router
from clientwise.sales.api import router as sales_router
from clientwise.service.api import router as service_router

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """A personal API token sent as `Authorization: Bearer cw_…`."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session cookie; CSRF is checked on unsafe methods (ninja does it for cookie auth)."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        # Without a session cookie there is no session to protect: skip the CSRF check, so a call with a missing or
        # bad token is answered 401 (not authenticated), not 403 "CSRF check failed".
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


# The error answers every operation may give, documented beside its own 2xx: one shape (ErrorOut), the status
# decided by what the operation takes (docs/api.md "Errors").
ERROR_DESCRIPTIONS = {
    400: "The request breaks a business rule (code says which).",
    401: "No valid token or session.",
    403: "Signed in, but without the right for this.",
    404: "No such record, or one you may not see.",
    409: "Conflicts with the current state (e.g. already done, still running, Idempotency-Key in use).",
    413: "The upload is too large.",
    422: "A parameter or field is missing or malformed (field says which; errors lists all).",
    429: "Too many requests; try again later.",
}
ERROR_SCHEMA = {
    "title": "ErrorOut", "type": "object", "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "A stable error code (docs/api.md lists them)."},
        "message": {"type": "string", "description": "In the user's language."},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "The offending field, if any."},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorOut"},
                   "description": "Every validation error (422 only)."},
    },
}


def error_statuses(method: str, operation: dict) -> list[int]:
    """Which error statuses an operation documents: 400 and 422 always (rules and input), 401/403/404 when it needs
    authentication (a record it names may not exist or not be visible), 404 when its path names a record, 409/413
    for writes (413 only with a file upload), 429 for unauthenticated writes (the public forms are rate-limited)."""
    statuses = {400, 422}
    params = operation.get("parameters", [])
    secured = operation.get("security", [{}]) != [] and "security" in operation
    if secured:
        statuses |= {401, 403, 404}  # any record named in the path, query or body may be missing or not visible
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if method in ("post", "put", "patch", "delete"):
        statuses.add(409)
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
            statuses.add(413)
        if not secured:
            statuses.add(429)
    return sorted(statuses)


class ClientwiseAPI(NinjaAPI):
    """NinjaAPI whose schema documents the error answers of every operation (ErrorOut) beside its own."""

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ERROR_SCHEMA
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in error_statuses(method, operation):
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": ERROR_DESCRIPTIONS[status], "content": ref}
        return schema


api = ClientwiseAPI(
    title="Clientwise API",
    version="1",
    urls_namespace="api-v1",
    description="Customers, contact points, consent, interactions, products, stores and orders. "
    "Errors are JSON {code, message, field}. Lists use cursor pagination (`cursor`, `next_cursor`). "
    "POST honours `Idempotency-Key`.",
    auth=[TokenAuth(), SessionAuth()],
)


def error_response(request, status: int, code: str, message: str, field: str | None = None, **extra):
    return api.create_response(request, {"code": str(code), "message": message, "field": field, **extra},
                               status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "payload", "filters")]
        errors.append({"code": ErrorCode.INVALID.value, "message": err.get("msg", "Invalid value."),
                       "field": ".".join(loc) or None})
    first = errors[0] if errors else {"code": ErrorCode.INVALID.value, "message": "Invalid request.", "field": None}
    return api.create_response(request, {**first, "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return error_response(request, 401, ErrorCode.NOT_AUTHENTICATED, "Authentication required: send a Bearer token.")


@api.exception_handler(Http404)
def on_404(request, exc):
    return error_response(request, 404, ErrorCode.NOT_FOUND, "Not found.")


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc):
    return error_response(request, 400, ErrorCode.INVALID, f"The multipart body cannot be read: {exc}")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = {400: ErrorCode.INVALID, 401: ErrorCode.NOT_AUTHENTICATED, 403: ErrorCode.PERMISSION_DENIED,
            404: ErrorCode.NOT_FOUND, 429: ErrorCode.THROTTLED}.get(exc.status_code, ErrorCode.INVALID)
    return error_response(request, exc.status_code, code, str(exc.message))


@api.exception_handler(Exception)
def on_unexpected(request, exc):
    if input_out_of_range(exc):
        log.warning("API input out of range on %s %s: %s", request.method, request.path, exc)
        return error_response(request, 422, ErrorCode.INVALID,
                              "A number is too large (or a text too long) for what it stands for.")
    log.exception("API error on %s %s", request.method, request.path)
    return error_response(request, 500, "server_error", "Something went wrong on our side; it has been logged.")


@api.get("/health", auth=None, tags=["meta"])
def health(request):
    """Liveness check: answers without auth."""
    return {"status": "ok", "api_feature_level": settings.API_FEATURE_LEVEL}


def _mount_routers() -> None:
    api.add_router("/", accounts_router)
    api.add_router("/", customers_router)
    api.add_router("/", commerce_router)
    api.add_router("/", dataio_router)
    api.add_router("/", identity_router)
    api.add_router("/", quality_router)
    api.add_router("/", analytics_router)
    api.add_router("/", label_models_router)
    api.add_router("/", reports_router)
    api.add_router("/", sales_router)
    api.add_router("/", service_router)
    api.add_router("/", privacy_router)
    api.add_router("/", marketing_router)
    api.add_router("/", notifications_router)


_mount_routers()
