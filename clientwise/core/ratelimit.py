"""Fixed-window counters in the cache, for per-user or per-address limits (public forms, revealing contacts)."""

from __future__ import annotations

from django.core.cache import cache


def count_hit(key: str, window_seconds: int) -> int:
    """Count one more hit under `key` in a window of `window_seconds` (the window starts with the first hit) and
    return how many there have been in it, this one included."""
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr: this hit opens a new window
        cache.set(key, 1, window_seconds)
        return 1
