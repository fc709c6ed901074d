"""Per-user language, and Idempotency-Key handling for API POSTs."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import translation

from clientwise.accounts.models import IdempotencyKey
from clientwise.accounts.services import user_for_token
from clientwise.core.errors import ErrorCode


class UserLanguageMiddleware:
    """After LocaleMiddleware picked the browser's language, a signed-in user's own choice wins."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated) and request.path.startswith("/api/") and _bearer(request):
            # API clients with a token: answer (messages, labels) in the token owner's language too.
            user = user_for_token(_bearer(request))
        lang = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if lang:
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        if lang:
            response.headers.setdefault("Content-Language", lang)
        return response


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return ""


class IdempotencyMiddleware:
    """A POST to the API with an Idempotency-Key header is answered at most once per (user, key).

    The key, everything the request writes and the stored response commit in ONE transaction. A retry with the same
    key and body gets the stored response with `Idempotent-Replayed: true`; the same key with a different body is an
    error (422). When the request fails (a 5xx, an exception) or the process dies before the commit (killed,
    crashed, the machine went down), the database rolls the key back with the writes, so a retry runs the request
    again from scratch instead of being refused forever. Two racing requests with one key cannot both write: the
    second waits on the key's unique index until the first commits (then replays its response) or rolls back (then
    runs). A streamed response cannot be stored: its writes commit and the key is released.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if request.method != "POST" or not key or not request.path.startswith("/api/"):
            return self.get_response(request)

        user = user_for_token(_bearer(request)) or (request.user if request.user.is_authenticated else None)
        if user is None:
            return self.get_response(request)  # the API answers 401 itself
        if len(key) > 200:
            return JsonResponse({"code": ErrorCode.INVALID, "message": "Idempotency-Key is longer than 200 characters.",
                                 "field": "Idempotency-Key"}, status=400)
        fingerprint = hashlib.sha256(request.path.encode() + b"\0" + request.body).hexdigest()
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is not None:
            return self._replay(existing, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
                response = self.get_response(request)
                if response.status_code >= 500:
                    transaction.set_rollback(True)  # nothing of a failed request stays, the key included
                elif getattr(response, "streaming", False):
                    record.delete()
                else:
                    record.status_code = response.status_code
                    record.response_body = bytes(response.content)
                    record.content_type = response.get("Content-Type", "application/json")
                    record.save(update_fields=["status_code", "response_body", "content_type"])
        except IntegrityError:
            # Another request with this key committed first (we waited for it on the unique index).
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                raise
            return self._replay(existing, fingerprint)
        return response

    @staticmethod
    def _replay(record, fingerprint: str):
        if record.fingerprint != fingerprint:
            return JsonResponse({"code": ErrorCode.IDEMPOTENCY_MISMATCH,
                                 "message": "This Idempotency-Key was already used for a different request.",
                                 "field": "Idempotency-Key"}, status=422)
        if record.status_code is None:
            return JsonResponse({"code": ErrorCode.CONFLICT,
                                 "message": "A request with this Idempotency-Key is still being processed.",
                                 "field": "Idempotency-Key"}, status=409)
        response = HttpResponse(bytes(record.response_body or b""), status=record.status_code,
                                content_type=record.content_type or "application/json")
        response["Idempotent-Replayed"] = "true"
        return response

