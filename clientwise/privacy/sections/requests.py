"""The person's own data-subject requests: the log is kept through an erasure (it is the record that the request
was handled); staff notes on it must not hold personal data (the form says so)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.sections.base import table


def export(subject) -> list[dict]:
    rows = SubjectRequest.objects.filter(customer_id__in=subject.customer_ids).order_by("received_at", "id")
    return [table("requests", _("Data-subject requests"), rows, [
        "id", "kind", "status", "received_at", "received_via", "due_on", "closed_at", "resolution",
    ], model=SubjectRequest)]


def erase(erasure) -> None:
    """Nothing to remove: the request log stays."""
