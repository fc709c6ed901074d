"""Reads for imports: which jobs a user may see, their quarantined rows, saved mapping templates."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from clientwise.core import permissions as perms
from clientwise.core.pagination import Page, keyset_page
from clientwise.core.queries import get_visible
from clientwise.customers.scope import CustomerScope
from clientwise.dataio.models import ImportJob, MappingTemplate, QuarantinedRow


def visible_jobs(user) -> QuerySet[ImportJob]:
    """Import jobs the user may open: every job for a user with the 'all customers' scope, their own otherwise."""
    if not perms.has_perm(user, perms.IMPORT):
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("actor")
    if CustomerScope.for_user(user).everything:
        return qs
    return qs.filter(actor=user)


def get_job_for(user, pk) -> ImportJob:
    return get_visible(visible_jobs(user), pk)


def job_page(user, *, cursor: str | None = None, size: int = 25) -> Page:
    return keyset_page(visible_jobs(user), sort="-id", cursor=cursor, size=size)


def quarantine_page(job: ImportJob, *, status: str | None = QuarantinedRow.Status.OPEN, cursor: str | None = None,
                    size: int = 50) -> Page:
    qs = QuarantinedRow.objects.filter(job=job)
    if status:
        qs = qs.filter(status=status)
    return keyset_page(qs, sort="row_number", cursor=cursor, size=size)


def open_quarantine(job: ImportJob):
    return QuarantinedRow.objects.filter(job=job, status=QuarantinedRow.Status.OPEN).order_by("row_number")


def error_counts(job: ImportJob) -> list[tuple[str, str, int]]:
    """(field, code, rows) for the open quarantine, most frequent first."""
    rows = (QuarantinedRow.objects.filter(job=job, status=QuarantinedRow.Status.OPEN)
            .values("field", "code").annotate(n=Count("id")).order_by("-n", "field")[:30])
    return [(r["field"], r["code"], r["n"]) for r in rows]


def templates_for(*, source: str, kind: str) -> list[MappingTemplate]:
    return list(MappingTemplate.objects.filter(source=source, kind=kind))


def get_template(*, source: str, kind: str, name: str) -> MappingTemplate | None:
    return MappingTemplate.objects.filter(source=source, kind=kind, name=name).first()
