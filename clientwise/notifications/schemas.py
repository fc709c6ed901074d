"""API schemas of notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class ActorOut(Schema):
    id: int
    name: str


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="sla_warning, sla_breach, mention, task_reminder, assignment, job_done, job_failed")
    title: str = Field(description="In the language of the request (the user's language)")
    body: str
    params: dict[str, Any] = Field(description="The values the title and body are made from (variant, number…)")
    url: str = Field(description="Path of the page of what it is about (empty when there is none)")
    target_type: str = Field(description="e.g. service.ticket, sales.activity, dataio.importjob")
    target_id: int | None
    actor: ActorOut | None = Field(description="Who caused it; null for the system")
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    prev_cursor: str | None
    unread: int = Field(description="Unread notifications in all (counted up to 100)")


class UnreadOut(Schema):
    unread: int = Field(description="Unread notifications (counted up to 100)")


class ReadAllOut(Schema):
    marked: int


class KindPreferenceOut(Schema):
    kind: str
    label: str
    email: bool


class PreferencesOut(Schema):
    kinds: list[KindPreferenceOut]


class PreferencesIn(Schema):
    email_kinds: list[str] = Field(description="The kinds to get by e-mail as well; every other kind: in the app only")
