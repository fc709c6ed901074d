"""The audit log about the person: every recorded change, view and export of their data. Erasure keeps each row
(who did what, when) and replaces the personal values inside it — the fields the sections named as personal, and
any text holding one of the person's names, phones, emails or other identifiers — with "[erased]"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core import audit_display
from clientwise.core.models import AuditLog
from clientwise.privacy import rules
from clientwise.privacy.sections.base import Col, readable, table

CHUNK = 2000


def _record(row: AuditLog) -> str:
    return " ".join(p for p in (audit_display.object_label(row.object_type),
                                f"#{row.object_id}" if row.object_id else "") if p)


def _changes(row: AuditLog) -> list[str]:
    """Each field the entry changed: "Field: before → after" (one value when it was only added or removed)."""
    before, after, out = row.before or {}, row.after or {}, []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return out
    for key in dict.fromkeys([*before, *after]):
        name = audit_display.field_label(row.object_type, key)
        values = [readable(audit_display.field_value(row.object_type, key, side[key])).text or "—"
                  for side in (before, after) if key in side]
        out.append(f"{name}: {' → '.join(values)}")
    return out


def _detail(row: AuditLog) -> list[str]:
    return [f"{label}: {readable(value).text or '—'}"
            for label, value in audit_display.detail_items(row.detail, row.object_type)]


def export(subject) -> list[dict]:
    rows = AuditLog.objects.filter(customer_id__in=subject.customer_ids).order_by("at", "id")
    return [table("audit", _("Audit log"), rows, [
        Col("at", pgettext_lazy("export column", "When")), Col("action", pgettext_lazy("export column", "Action"), show=lambda r: audit_display.action_label(r.action)),
        Col("object_type", pgettext_lazy("export column", "Record"), show=_record), Col("object_id", pgettext_lazy("export column", "Record number"), readable=False),
        Col("before", pgettext_lazy("export column", "Before"), readable=False), Col("after", pgettext_lazy("export column", "Changes"), show=_changes),
        Col("detail", pgettext_lazy("export column", "Details"), show=_detail),
    ], model=AuditLog)]


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
