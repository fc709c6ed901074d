"""Data management: the customer's data-quality row, duplicate pairs and merges, and import rows that did not go
in (quarantine) but mention the person.

Erasure deletes the quality row and pending duplicate pairs, scrubs the merge snapshots (an undo must not bring the
personal data back: it restores the anonymised profile instead) and blanks quarantined rows that mention the
person. The import files on disk are redacted after the commit (privacy.files)."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.core import labels
from clientwise.dataio.models import ImportJob, QuarantinedRow
from clientwise.privacy import rules
from clientwise.privacy.sections.base import Col, percent, table
from clientwise.privacy.sections.customers import ERASED_PROFILE, erased_name
from clientwise.privacy.subject import key_columns

PII_KEYS = {"raw", "profiles", "contacts_dropped"}


def _jobs() -> dict[int, ImportJob]:
    return {j.pk: j for j in ImportJob.objects.only("pk", "kind", "mapping", "source", "original_name")}


def quarantined_rows(subject) -> list[QuarantinedRow]:
    """Quarantined import rows (open or replayed) that mention the person. Reads every quarantined row: the
    quarantine holds rejected rows only, and this runs once per request."""
    matcher, jobs, found = subject.matcher, _jobs(), []
    keys = {pk: key_columns(j.kind, j.mapping) for pk, j in jobs.items()}
    for q in QuarantinedRow.objects.only("pk", "job_id", "raw", "row_number", "code", "message", "field", "errors",
                                         "status").iterator(chunk_size=2000):
        if not isinstance(q.raw, dict) or q.job_id not in jobs:
            continue
        member, external = keys[q.job_id]
        if matcher.mapped_row(q.raw, member_cols=member, external_cols=external, source=jobs[q.job_id].source):
            q.job = jobs[q.job_id]
            found.append(q)
    return found


def export(subject) -> list[dict]:
    ids = subject.customer_ids
    tables = []
    if apps.is_installed("clientwise.dataio.quality"):
        # Only when the data quality app is installed: its models cannot load otherwise.
        from clientwise.dataio.quality.models import CustomerQuality
        from clientwise.dataio.quality.queries import PROBLEMS

        problems = {p.key: p.label for p in PROBLEMS}
        tables.append(table("quality", _("Data quality"), CustomerQuality.objects.filter(customer_id__in=ids), [
            "computed_at", Col("completeness", _("Completeness (0-100)")), Col("validity", _("Validity (0-100)")),
            Col("problems", _("problems"), lambda q: q.problems, lambda q: [problems.get(p, p) for p in q.problems]),
        ], model=CustomerQuality))
    if apps.is_installed("clientwise.dataio.identity"):
        # Only when the identity app is installed: its models cannot load otherwise.
        from clientwise.dataio.identity.models import DuplicateCandidate, MergeRecord

        pairs = DuplicateCandidate.objects.filter(Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids))
        tables.append(table("duplicate_pairs", _("Possible duplicate records"), pairs.order_by("created_at", "id"), [
            "created_at", Col("probability", show=lambda p: percent(p.probability)), "status",
            Col("decided_at", pgettext_lazy("export column", "Decided")),
        ], model=DuplicateCandidate))
        merges = MergeRecord.objects.filter(survivor_id__in=ids).order_by("created_at", "id")
        tables.append(table("merges", _("Merged records"), merges, [
            "created_at", ("survivor", _("kept record"), lambda m: m.survivor_id),
            ("merged", _("merged records"), lambda m: m.merged_ids), Col("automatic", _("Merged automatically")),
            Col("undone_at", pgettext_lazy("export column", "Undone")),
        ], model=MergeRecord))
    tables.append(table("import_rows", _("Rejected import rows that mention the person"), quarantined_rows(subject), [
        ("job", _("import"), lambda q: q.job_id), ("file", _("file"), lambda q: q.job.original_name),
        "row_number", Col("code", show=lambda q: labels.label("errors.code", q.code)), "message",
        "raw", "status",
    ], model=QuarantinedRow))
    return tables


def _scrub_merge(snapshot: dict, ids: set[int]) -> dict:
    snapshot = dict(snapshot or {})
    profiles = dict(snapshot.get("profiles") or {})
    for key, profile in profiles.items():
        if key.isdigit() and int(key) in ids and isinstance(profile, dict):
            profiles[key] = {**profile, **{k: v for k, v in ERASED_PROFILE.items() if k in profile},
                             "name": erased_name(int(key))}
    snapshot["profiles"] = profiles
    snapshot["contacts_dropped"] = [row for row in snapshot.get("contacts_dropped") or []
                                    if not (isinstance(row, dict) and row.get("customer_id") in ids)]
    return snapshot


def erase(erasure) -> None:
    ids = set(erasure.subject.customer_ids)
    if apps.is_installed("clientwise.dataio.quality"):
        # Only when the data quality app is installed: its models cannot load otherwise.
        from clientwise.dataio.quality.models import CustomerQuality

        erasure.count("dataio.quality_rows_deleted", CustomerQuality.objects.filter(customer_id__in=ids).delete()[0])
    if apps.is_installed("clientwise.dataio.identity"):
        # Only when the identity app is installed: its models cannot load otherwise.
        from clientwise.dataio.identity.models import DuplicateCandidate, MergeRecord

        erasure.count("dataio.pending_pairs_deleted", DuplicateCandidate.objects.filter(
            Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids), status=DuplicateCandidate.Status.PENDING).delete()[0])
        merges = list(MergeRecord.objects.filter(survivor_id__in=ids))
        for m in merges:
            m.snapshot = _scrub_merge(m.snapshot, ids)
        MergeRecord.objects.bulk_update(merges, ["snapshot"])
        erasure.count("dataio.merge_snapshots_scrubbed", len(merges))
    rows = quarantined_rows(erasure.subject)
    for q in rows:
        q.raw = dict.fromkeys(q.raw, "")
        q.message = rules.ERASED
        q.errors = [{"code": e.get("code", ""), "field": e.get("field", ""), "message": rules.ERASED}
                    for e in (q.errors or []) if isinstance(e, dict)]
    QuarantinedRow.objects.bulk_update(rows, ["raw", "message", "errors"])
    erasure.count("dataio.quarantined_rows_blanked", len(rows))
    erasure.pii_keys.update(PII_KEYS)
