"""Reads for identity: the review queue, one pair, merge history, and the "likely existing customer" check.

A pair (or a merge) is visible only when the user may see every customer in it; otherwise it is a 404 like a
missing one.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from clientwise.core import permissions as perms
from clientwise.core.errors import NotFound
from clientwise.core.pagination import Page, keyset_page
from clientwise.core.queries import get_visible
from clientwise.customers.models import Customer
from clientwise.customers.queries import (  # noqa: F401  (likely_duplicates is re-exported)
    LikelyDuplicate,
    likely_duplicates,
    visible_customers,
)
from clientwise.customers.scope import CustomerScope, restrict_by_customer
from clientwise.dataio.identity.models import DedupRun, DuplicateCandidate, MergedCustomer, MergeRecord


def visible_candidates(user) -> QuerySet[DuplicateCandidate]:
    """Pairs whose two customers the user may see; nothing for users who may not merge."""
    qs = DuplicateCandidate.objects.all()
    if not perms.has_perm(user, perms.MERGE):
        return qs.none()
    scope = CustomerScope.for_user(user)
    return scope.restrict(scope.restrict(qs, "customer_a_id"), "customer_b_id")


def get_candidate_for(user, pk) -> DuplicateCandidate:
    return get_visible(visible_candidates(user), pk)


def pending_pair_of(user, customer_id: int) -> DuplicateCandidate | None:
    """The most likely pending pair that involves this customer, for the customer page's notice."""
    return (visible_candidates(user).filter(status=DuplicateCandidate.Status.PENDING)
            .filter(Q(customer_a_id=customer_id) | Q(customer_b_id=customer_id))
            .order_by("-probability", "pk").first())


def pending_pairs_of_import(user, job) -> int:
    """Pending pairs that involve a customer the import job created (same source, created while it ran)."""
    if job.kind != "customers" or not job.created or job.started_at is None:
        return 0
    window = {"created_at__gte": job.started_at}
    if job.finished_at:
        window["created_at__lte"] = job.finished_at
    ids = Customer.objects.filter(source=job.source, **window).values("pk")
    return (visible_candidates(user).filter(status=DuplicateCandidate.Status.PENDING)
            .filter(Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids)).count())


def candidate_page(user, *, status: str = "pending", cursor: str | None = None, size: int = 25) -> Page:
    """The review queue: most likely pairs first."""
    qs = visible_candidates(user)
    if status in DuplicateCandidate.Status.values:
        qs = qs.filter(status=status)
    return keyset_page(qs, sort="-probability", cursor=cursor, size=size)


def customers_of(user, candidates) -> dict[int, object]:
    """The customers of a page of pairs, in one query (archived ones included: a merged pair shows them)."""
    ids = {c.customer_a_id for c in candidates} | {c.customer_b_id for c in candidates}
    return {c.pk: c for c in visible_customers(user).filter(pk__in=ids).select_related("owner", "team", "stats")}


def next_pending(user, after: DuplicateCandidate | None) -> DuplicateCandidate | None:
    """The pair after `after` in queue order (or the first), for the review page's j / k and after a decision."""
    qs = visible_candidates(user).filter(status=DuplicateCandidate.Status.PENDING)
    if after is not None:
        qs = qs.filter(Q(probability__lt=after.probability) | Q(probability=after.probability, id__lt=after.pk))
    # The queue's order (candidate_page): probability, then id, both descending.
    return qs.order_by("-probability", "-id").first()


def previous_pending(user, before: DuplicateCandidate) -> DuplicateCandidate | None:
    qs = visible_candidates(user).filter(status=DuplicateCandidate.Status.PENDING)
    qs = qs.filter(Q(probability__gt=before.probability) | Q(probability=before.probability, id__gt=before.pk))
    return qs.order_by("probability", "id").first()


def pending_count(user) -> int:
    return visible_candidates(user).filter(status=DuplicateCandidate.Status.PENDING).count()


def visible_merges(user) -> QuerySet[MergeRecord]:
    qs = MergeRecord.objects.all()
    if not perms.has_perm(user, perms.MERGE):
        return qs.none()
    return restrict_by_customer(qs, user, "survivor_id")


def get_merge_for(user, pk) -> MergeRecord:
    """A merge the user may see: the survivor and every merged customer must be visible."""
    record = get_visible(visible_merges(user), pk)
    ids = [record.survivor_id, *record.merged_ids]
    if visible_customers(user).filter(pk__in=ids).count() != len(ids):
        raise NotFound()
    return record


def merged_into(customer_id: int) -> int | None:
    """The survivor an archived customer was merged into, if it was (for the customer page's notice)."""
    return MergedCustomer.objects.filter(customer_id=customer_id).values_list("survivor_id", flat=True).first()


def merge_page(user, *, cursor: str | None = None, size: int = 25) -> Page:
    """Merge history, newest first."""
    return keyset_page(visible_merges(user), sort="-id", cursor=cursor, size=size)


def last_run():
    """The latest finished batch run (for the queue's header)."""
    return DedupRun.objects.filter(status=DedupRun.Status.DONE).order_by("-id").first()
