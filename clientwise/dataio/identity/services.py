"""Identity operations: the batch run, decisions on candidate pairs, merges and their undo.

The merge itself (moving rows, survivorship) is `customers.services.merge_customers`; this module keeps the
merge history (MergeRecord, MergedCustomer) and the review queue's state around it. The review page, the API
and `clientwise dedup` all call these functions.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import duckdb
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clientwise.core import extensions
from clientwise.core import permissions as perms
from clientwise.core.audit import audit
from clientwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from clientwise.customers import services as customer_services
from clientwise.customers.queries import visible_customers
from clientwise.dataio.identity import engine, extract
from clientwise.dataio.identity.models import DedupRun, DuplicateCandidate, MergedCustomer, MergeRecord
from clientwise.dataio.identity.queries import get_candidate_for, get_merge_for, likely_duplicates  # noqa: F401  (re-exported)
from clientwise.dataio.identity.tasks import dedup_task

log = logging.getLogger(__name__)

STORE_BATCH = 5000


def default_threshold() -> float:
    return float(getattr(settings, "IDENTITY_THRESHOLD", 0.9))


def default_auto_merge_above() -> float | None:
    """Auto-merge is off unless settings.IDENTITY_AUTO_MERGE_ABOVE (or the CLI option) sets a probability."""
    value = getattr(settings, "IDENTITY_AUTO_MERGE_ABOVE", None)
    return float(value) if value is not None else None


def dedup_after_import(*, created: int) -> bool:
    """Queue a duplicate search after an import created customers, so a new record that is an existing customer
    under another key (another external id, a changed member number) reaches the review queue. Off with
    settings.IDENTITY_DEDUP_AFTER_IMPORT = False. Returns whether a run was queued."""
    if created <= 0 or not getattr(settings, "IDENTITY_DEDUP_AFTER_IMPORT", True):
        return False

    transaction.on_commit(dedup_task.enqueue)
    return True


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (DuckDB's native memory included), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class RunOutput:
    """A finished run and the DuckDB connection still holding its tables (for evaluation or benchmarks)."""

    run: DedupRun
    con: duckdb.DuckDBPyConnection


def run_dedup(*, actor=None, threshold: float | None = None, auto_merge_above: float | None = None,
              evaluate: bool = False, params: engine.DedupParams | None = None,
              keep_connection: bool = False) -> DedupRun | RunOutput:
    """Extract the customers, block, score and store the candidate pairs at or above `threshold`.

    `actor` None is the operator at the command line; a user must hold the merge permission. Pending pairs of
    earlier runs are replaced; decided pairs (merged, not the same person) are never proposed again. With
    `auto_merge_above`, pairs at or above it are merged at once (the actor must be able to merge).
    """
    if actor is not None:
        perms.require(actor, perms.MERGE)
    params = params or engine.DedupParams()
    params.threshold = default_threshold() if threshold is None else float(threshold)
    if not 0 < params.threshold < 1:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("The threshold must be between 0 and 1."),
                                            "threshold")])
    if auto_merge_above is not None and not params.threshold <= auto_merge_above <= 1:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("Auto-merge must be between the threshold and 1."),
                                            "auto_merge_above")])
    if auto_merge_above is not None and (actor is None or not perms.has_perm(actor, perms.MERGE)):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("Auto-merge needs a user who may merge customers."),
                          "auto_merge_above")
    run = DedupRun.objects.create(actor=actor if getattr(actor, "pk", None) else None,
                                  params={**params.as_dict(), "auto_merge_above": auto_merge_above})
    con = duckdb.connect()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        t = time.perf_counter()
        records = extract.extract_customers(con)
        seconds["extract"] = time.perf_counter() - t
        result = engine.score(con, params)
        seconds.update(result.seconds)
        t = time.perf_counter()
        counts = store_candidates(run, con, result)
        seconds["store"] = time.perf_counter() - t
        counts["records"] = records
        if evaluate:
            run.metrics = evaluate_run(con, params.threshold)
        if auto_merge_above is not None:
            t = time.perf_counter()
            counts["auto_merged"] = auto_merge(run=run, actor=actor, above=auto_merge_above)
            seconds["auto_merge"] = time.perf_counter() - t
        seconds["total"] = time.perf_counter() - started
        run.counts, run.seconds = counts, {k: round(v, 3) for k, v in seconds.items()}
        run.model = result.model
        run.status, run.finished_at = DedupRun.Status.DONE, timezone.now()
        run.peak_memory_mb = round(peak_memory_mb(), 1)
        run.save()
    except Exception as exc:
        run.status, run.error, run.finished_at = DedupRun.Status.FAILED, repr(exc)[:2000], timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        con.close()
        raise
    if keep_connection:
        return RunOutput(run=run, con=con)
    con.close()
    return run


def store_candidates(run: DedupRun, con: duckdb.DuckDBPyConnection, result: engine.ScoreResult) -> dict[str, int]:
    """Replace the pending pairs with this run's; keep decided pairs and never propose them again."""
    with transaction.atomic():
        DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.PENDING).delete()
        decided = set(DuplicateCandidate.objects.values_list("customer_a_id", "customer_b_id"))
        stored = skipped = 0
        batch: list[DuplicateCandidate] = []
        for a, b, prob, weight, evidence in engine.evidence_rows(con, result):
            if (a, b) in decided:
                skipped += 1
                continue
            batch.append(DuplicateCandidate(customer_a_id=a, customer_b_id=b, probability=prob, match_weight=weight,
                                            evidence=evidence, run=run))
            if len(batch) >= STORE_BATCH:
                DuplicateCandidate.objects.bulk_create(batch)
                stored += len(batch)
                batch = []
        if batch:
            DuplicateCandidate.objects.bulk_create(batch)
            stored += len(batch)
    return {"pairs": result.pairs, "stored": stored, "skipped_decided": skipped}


def true_pairs() -> set[tuple[int, int]]:
    """Pairs of customers known to be one person: the ground truth an installed app registers (the demo
    generator's, demo.truth); empty when none is."""
    source = extensions.ground_truth("duplicate_pairs")
    return source() if source else set()


def evaluate_run(con: duckdb.DuckDBPyConnection, threshold: float) -> dict[str, Any]:
    """Precision and recall on pairs against the demo ground truth, over the customers that were extracted."""
    truth = true_pairs()
    present = {r[0] for r in con.execute("SELECT unique_id FROM records").fetchall()}
    truth = {p for p in truth if p[0] in present and p[1] in present}
    predicted = {(min(a, b), max(a, b)) for a, b in con.execute(
        "SELECT unique_id_l, unique_id_r FROM pairs WHERE match_probability >= ?", [threshold]).fetchall()}
    tp = len(predicted & truth)
    return {
        "threshold": threshold, "true_pairs": len(truth), "predicted_pairs": len(predicted), "true_positives": tp,
        "precision": round(tp / len(predicted), 4) if predicted else None,
        "recall": round(tp / len(truth), 4) if truth else None,
    }


def auto_merge(*, run: DedupRun, actor, above: float) -> int:
    """Merge this run's pending pairs at or above `above`, most likely first. A pair whose customer was merged
    away earlier in the same pass is skipped (its survivor meets the other customer in the next run)."""
    merged = 0
    for cand in run.candidates.filter(status=DuplicateCandidate.Status.PENDING, probability__gte=above).order_by(
            "-probability", "id"):
        try:
            survivor = pick_survivor(actor, [cand.customer_a_id, cand.customer_b_id])
            other = cand.customer_b_id if survivor == cand.customer_a_id else cand.customer_a_id
            merge(actor=actor, survivor_id=survivor, duplicate_ids=[other], candidate=cand, automatic=True)
            merged += 1
        except DomainError as exc:
            log.info("auto-merge skipped pair %s: %s", cand.pk, exc.message)
    return merged


def pick_survivor(actor, customer_ids: list[int]) -> int:
    """The record that survives by default (keeps its id, member number and history): trusted source first, then
    the one with more orders — the record people already know — then the most complete, then the most recent.
    Profile values still come from the survivorship order of all records (customers.services.merge_customers)."""
    customers = list(visible_customers(actor).filter(pk__in=customer_ids).select_related("stats"))
    if not customers:
        raise NotFound()
    ranked = customer_services.survivorship_order(customers)
    ranked.sort(key=lambda c: (customer_services.source_trust(c.source), -c.order_count))  # stable
    return ranked[0].pk


def merge(*, actor, survivor_id: int, duplicate_ids: list[int], candidate: DuplicateCandidate | None = None,
          automatic: bool = False) -> MergeRecord:
    """Merge customers and keep the history: a MergeRecord with the undo snapshot, pointers from the merged
    customers to the survivor, and every pending pair among them marked merged."""
    with transaction.atomic():
        result = customer_services.merge_customers(survivor=survivor_id, duplicates=duplicate_ids, actor=actor)
        record = MergeRecord.objects.create(survivor_id=result.survivor_id, merged_ids=result.merged_ids,
                                            snapshot=result.snapshot, moved=result.moved, actor=actor,
                                            automatic=automatic, candidate=candidate)
        MergedCustomer.objects.bulk_create([MergedCustomer(customer_id=i, survivor_id=result.survivor_id, merge=record)
                                            for i in result.merged_ids])
        ids = [result.survivor_id, *result.merged_ids]
        now = timezone.now()
        DuplicateCandidate.objects.filter(customer_a_id__in=ids, customer_b_id__in=ids).update(
            status=DuplicateCandidate.Status.MERGED, decided_at=now, decided_by=actor, merge=record)
    return record


def merge_candidate(*, actor, candidate_id: int, survivor_id: int | None = None) -> MergeRecord:
    """Merge a reviewed pair; `survivor_id` (one of the two) defaults to the survivorship choice."""
    perms.require(actor, perms.MERGE)
    cand = get_candidate_for(actor, candidate_id)
    if cand.status != DuplicateCandidate.Status.PENDING:
        raise DomainError(ErrorCode.CONFLICT, _("This pair has already been decided."))
    pair = [cand.customer_a_id, cand.customer_b_id]
    if survivor_id is None:
        survivor_id = pick_survivor(actor, pair)
    try:
        survivor_id = int(survivor_id)
    except (TypeError, ValueError):
        survivor_id = -1
    if survivor_id not in pair:
        raise ValidationFailed([DomainError(ErrorCode.INVALID, _("The survivor must be one of the pair."),
                                            "survivor_id")])
    other = pair[1] if survivor_id == pair[0] else pair[0]
    return merge(actor=actor, survivor_id=survivor_id, duplicate_ids=[other], candidate=cand)


def reject_candidate(*, actor, candidate_id: int) -> DuplicateCandidate:
    """Mark a pair "not the same person": it leaves the queue and later runs do not propose it again."""
    perms.require(actor, perms.MERGE)
    with transaction.atomic():
        cand = get_candidate_for(actor, candidate_id)
        if cand.status != DuplicateCandidate.Status.PENDING:
            raise DomainError(ErrorCode.CONFLICT, _("This pair has already been decided."))
        cand.status, cand.decided_at, cand.decided_by = DuplicateCandidate.Status.REJECTED, timezone.now(), actor
        cand.save(update_fields=["status", "decided_at", "decided_by"])
        audit(actor=actor, action="duplicate.reject", obj=cand, customer_id=cand.customer_a_id,
              detail={"customer_ids": [cand.customer_a_id, cand.customer_b_id], "probability": cand.probability})
    return cand


def undo_merge(*, actor, merge_id: int) -> MergeRecord:
    """Undo a merge: the merged customers come back as they were; their pair returns to the review queue."""
    perms.require(actor, perms.MERGE)
    with transaction.atomic():
        record = get_merge_for(actor, merge_id)
        if record.undone_at is not None:
            raise DomainError(ErrorCode.CONFLICT, _("This merge has already been undone."))
        if MergedCustomer.objects.filter(customer_id=record.survivor_id).exists():
            raise DomainError(ErrorCode.CONFLICT, _("A later merge involves these customers; undo it first."))
        customer_services.unmerge_customers(actor=actor, snapshot=record.snapshot)
        record.undone_at, record.undone_by = timezone.now(), actor
        record.save(update_fields=["undone_at", "undone_by"])
        MergedCustomer.objects.filter(merge=record).delete()
        DuplicateCandidate.objects.filter(merge=record).update(status=DuplicateCandidate.Status.PENDING,
                                                               decided_at=None, decided_by=None, merge=None)
    return record
