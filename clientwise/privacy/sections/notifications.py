"""Notifications to staff that name the person: an SLA warning carrying a ticket's subject, an @mention with an
excerpt of a note about them, an assignment naming the customer. Found by their target (the person's customer
records, and the tickets, leads, opportunities, activities and notes an erasure touched) or by one of the person's
values in their parameters. Erasure keeps each notification (who was told what kind of thing, when) and replaces
the personal values in its parameters with "[erased]"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.notifications import kinds
from clientwise.notifications.models import Notification
from clientwise.privacy import rules
from clientwise.privacy.sections.base import Col, table

# Parameters that are codes or numbers, never personal: kept as they are; every other text parameter of a
# notification about the person is replaced.
CODE_PARAMS = {"variant", "record", "clock", "due", "count", "customers", "rows", "created", "updated", "rejected",
               "number", "kind"}
CHUNK = 2000


def _matches(subject, targets: set[tuple[str, str]]):
    texts, matcher = subject.texts(), subject.matcher

    def mentions(value) -> bool:
        if isinstance(value, dict):
            return any(mentions(v) for v in value.values())
        if isinstance(value, list):
            return any(mentions(v) for v in value)
        return isinstance(value, str) and (any(t in value for t in texts) or matcher.cell(value))

    found = []
    for n in Notification.objects.only("pk", "kind", "params", "target_type", "target_id", "created_at").iterator(
            chunk_size=CHUNK):
        if (n.target_type, str(n.target_id)) in targets or mentions(n.params):
            found.append(n)
    return found


def _customer_targets(subject) -> set[tuple[str, str]]:
    return {("customers.customer", str(i)) for i in subject.customer_ids}


def export(subject) -> list[dict]:
    rows = _matches(subject, _customer_targets(subject))
    return [table("notifications", _("Notifications to staff that name the person"), rows, [
        "created_at", Col("kind", pgettext_lazy("export column", "Notification"), show=lambda n: kinds.render(n.kind, n.params)[0]),
        Col("params", pgettext_lazy("export column", "Message"), show=lambda n: kinds.render(n.kind, n.params)[1]),
    ], model=Notification)]


def erase(erasure) -> None:
    targets = _customer_targets(erasure.subject)
    for label, ids in erasure.touched.items():
        targets.update((label, i) for i in ids)
    changed = []
    for n in _matches(erasure.subject, targets):
        keys = {k for k, v in (n.params or {}).items() if isinstance(v, str) and k not in CODE_PARAMS}
        params, dirty = rules.scrub(n.params, keys=keys, texts=erasure.subject.texts())
        if dirty:
            n.params = params
            changed.append(n)
    Notification.objects.bulk_update(changed, ["params"], batch_size=CHUNK)
    erasure.count("notifications.scrubbed", len(changed))
