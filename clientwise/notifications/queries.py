"""Reads of notifications for the bell, the list page and the API. A user sees their own notifications only:
another user's answers 404, like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from clientwise.core.pagination import Page, keyset_page
from clientwise.core.queries import get_visible
from clientwise.notifications import kinds
from clientwise.notifications.models import EmailPreference, Notification

BADGE_CAP = 99  # the badge shows "99+" beyond this; counting stops there


def notifications_of(user) -> QuerySet[Notification]:
    if user is None or not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=user.pk)


def get_notification_for(user, pk, *, lock: bool = False) -> Notification:
    return get_visible(notifications_of(user), pk, lock=lock)


def unread_count(user, *, cap: int = BADGE_CAP) -> int:
    """Unread notifications of `user`, counted up to cap + 1 (served by the partial index on unread rows)."""
    return notifications_of(user).filter(read_at__isnull=True).values("pk")[: cap + 1].count()


@dataclass(frozen=True)
class Item:
    """A notification as shown: the row, its sentence in the active language and its icon."""

    notification: Notification
    title: str
    body: str
    icon: str

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def present(n: Notification) -> Item:
    kind = kinds.KINDS.get(n.kind)
    title, body = kinds.render(n.kind, n.params, actor_name=str(n.actor) if n.actor_id else "")
    return Item(n, title, body, kind.icon if kind else "bell")


def notification_page(user, *, unread: bool = False, cursor: str | None = None, size: int = 25) -> Page:
    """One page of the user's notifications, newest first (only unread ones with `unread`); items are Items."""
    qs = notifications_of(user).select_related("actor")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    page = keyset_page(qs, sort="-id", cursor=cursor, size=size)
    page.items = [present(n) for n in page.items]
    return page


def email_kinds(user) -> set[str]:
    return set(EmailPreference.objects.filter(user_id=user.pk).values_list("kind", flat=True))


@dataclass(frozen=True)
class Preference:
    kind: kinds.Kind
    email: bool


def preferences(user) -> list[Preference]:
    """Every kind of notification with whether `user` also gets it by e-mail."""
    chosen = email_kinds(user)
    return [Preference(k, k.key in chosen) for k in kinds.KINDS.values()]
