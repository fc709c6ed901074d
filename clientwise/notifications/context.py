"""Template context for the top bar's bell: the signed-in user's unread count, counted only when a template shows
it (a capped count served by the partial index on unread rows)."""

from __future__ import annotations

from functools import cached_property

from clientwise.notifications.queries import BADGE_CAP, unread_count


class Bell:
    cap = BADGE_CAP

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user)


def bell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_bell": Bell(user)}
