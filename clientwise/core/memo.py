"""A memo that lives for one request: values a request asks for many times (the team tree behind every customer
scope) are read once per request, never across requests.

`RequestMemoMiddleware` opens a fresh memo for each request and drops it at the end; `memoized(key, compute)`
answers from it, or simply computes outside a request (commands, tasks, tests calling services), so nothing can go
stale between requests. A write that changes a memoized value within the request calls `forget(key)`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("clientwise_request_memo", default=None)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per request for `key` (every call outside a request computes)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(key: Hashable) -> None:
    """Drop `key` from the current request's memo (after a write that changes it)."""
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)


class RequestMemoMiddleware:
    """Gives each request its own memo (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _memo.set({})
        try:
            return self.get_response(request)
        finally:
            _memo.reset(token)
