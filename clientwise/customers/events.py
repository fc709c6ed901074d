"""The one way to put a row on a customer's timeline. Every app's services call `record_event`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from clientwise.core import labels
from clientwise.core.audit import jsonable
from clientwise.customers.models import Interaction


def record_event(*, customer_id: int, kind: str, actor=None, subject: str = "", body: str = "",
                 payload: dict[str, Any] | None = None, occurred_at: dt.datetime | None = None,
                 ref_type: str = "", ref_id: int | None = None, direction: str = "") -> Interaction:
    """Write one timeline row. Call inside the service's transaction so the event and the change commit together.

    A `subject` made with core.labels.deferred(...) is stored as written (in the actor's language) and with its
    message and parameters in payload["_subject"], so every reader sees it in their own language
    (core.labels.row_text, the |subject_text template filter)."""
    payload = dict(payload or {})
    if isinstance(subject, labels.Deferred):
        payload[labels.DEFERRED_KEY] = subject.stored()
    return Interaction.objects.create(
        customer_id=customer_id,
        kind=kind,
        direction=direction,
        occurred_at=occurred_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        subject=subject[:200],
        body=body,
        payload=jsonable(payload),
        ref_type=ref_type,
        ref_id=ref_id,
    )
