"""JSON API of notifications: the signed-in user's own notifications and e-mail choices. Parse, call
queries/services, return schemas; another user's notification is 404 like a missing one."""

from __future__ import annotations

from ninja import Query, Router

from clientwise.notifications import queries, services
from clientwise.notifications.schemas import (
    NotificationOut,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    UnreadOut,
)

router = Router(tags=["notifications"])


def _out(item: queries.Item) -> dict:
    n = item.notification
    return {"id": n.pk, "kind": n.kind, "title": item.title, "body": item.body, "params": n.params, "url": n.url,
            "target_type": n.target_type, "target_id": n.target_id,
            "actor": {"id": n.actor_id, "name": str(n.actor)} if n.actor_id else None,
            "created_at": n.created_at, "read_at": n.read_at}


@router.get("/notifications", response=NotificationPage, summary="My notifications, newest first")
def list_notifications(request, unread: bool = False, cursor: str | None = None,
                       size: int = Query(25, ge=1, le=200)):
    page = queries.notification_page(request.user, unread=unread, cursor=cursor, size=size)
    return {"items": [_out(i) for i in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor, "unread": queries.unread_count(request.user)}


@router.get("/notifications/unread-count", response=UnreadOut, summary="How many of my notifications are unread")
def unread_count(request):
    return {"unread": queries.unread_count(request.user)}


@router.post("/notifications/read-all", response=ReadAllOut, summary="Mark all my notifications read")
def read_all(request):
    return {"marked": services.mark_all_read(actor=request.user)}


@router.post("/notifications/{notification_id}/read", response=NotificationOut,
             summary="Mark one of my notifications read")
def read(request, notification_id: int):
    n = services.mark_read(actor=request.user, notification_id=notification_id)
    return _out(queries.present(n))


def _preferences(user) -> dict:
    return {"kinds": [{"kind": p.kind.key, "label": str(p.kind.label), "email": p.email}
                      for p in queries.preferences(user)]}


@router.get("/notifications/preferences", response=PreferencesOut,
            summary="Which kinds of notification I also get by e-mail")
def get_preferences(request):
    return _preferences(request.user)


@router.put("/notifications/preferences", response=PreferencesOut,
            summary="Choose which kinds of notification I also get by e-mail")
def put_preferences(request, payload: PreferencesIn):
    services.set_email_kinds(actor=request.user, kinds=payload.email_kinds)
    return _preferences(request.user)
