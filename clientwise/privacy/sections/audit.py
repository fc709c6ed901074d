"""The audit log about the person: every recorded change, view and export of their data. Erasure keeps each row
(who did what, when) and replaces the personal values inside it — the fields the sections named as personal, and
any text holding one of the person's names, phones, emails or other identifiers — with "[erased]"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.core.models import AuditLog
from clientwise.privacy import rules
from clientwise.privacy.sections.base import table

CHUNK = 2000


def export(subject) -> list[dict]:
    rows = AuditLog.objects.filter(customer_id__in=subject.customer_ids).order_by("at", "id")
    return [table("audit", _("Audit log"), rows, ["at", "action", "object_type", "object_id", "before", "after",
                                                   "detail"], model=AuditLog)]


def erase(erasure) -> None:
    found = set(AuditLog.objects.filter(customer_id__in=erasure.subject.customer_ids).values_list("pk", flat=True))
    for label, ids in erasure.touched.items():
        ids = sorted(ids)
        for i in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            found.update(AuditLog.objects.filter(object_type=label, object_id__in=ids[i:i + 500])
                         .values_list("pk", flat=True))
    keys, texts = set(erasure.pii_keys), erasure.subject.texts()
    pks = sorted(found)
    for i in range(0, len(pks), CHUNK):
        changed = []
        for row in AuditLog.objects.filter(pk__in=pks[i:i + CHUNK]).only("pk", "before", "after", "detail"):
            dirty = False
            for name in ("before", "after", "detail"):
                value, c = rules.scrub(getattr(row, name), keys=keys, texts=texts)
                if c:
                    setattr(row, name, value)
                    dirty = True
            if dirty:
                changed.append(row)
        AuditLog.objects.bulk_update(changed, ["before", "after", "detail"])
        erasure.count("audit.rows_scrubbed", len(changed))
