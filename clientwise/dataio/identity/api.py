"""JSON API for identity: parse, call queries/services, return schemas. No business rules here.

Everything here needs the data.merge right (403 without it); a pair or merge with a customer the user may not
see is a 404, like a missing one.
"""

from __future__ import annotations

from ninja import Query, Router, Status

from clientwise.core import permissions as perms
from clientwise.dataio.identity import queries, services
from clientwise.dataio.identity.schemas import (
    CustomerMergeIn,
    DuplicateListParams,
    DuplicateMergeIn,
    DuplicateOut,
    DuplicatePage,
    MergeOut,
)

router = Router(tags=["identity"])


def _merger(request):
    user = request.auth
    perms.require(user, perms.MERGE)
    return user


def _out(cand, names: dict) -> dict:
    return {
        "id": cand.pk, "customer_a_id": cand.customer_a_id, "customer_b_id": cand.customer_b_id,
        "customer_a_name": getattr(names.get(cand.customer_a_id), "name", ""),
        "customer_b_name": getattr(names.get(cand.customer_b_id), "name", ""),
        "probability": cand.probability, "match_weight": cand.match_weight, "status": cand.status,
        "evidence": cand.evidence, "run_id": cand.run_id, "created_at": cand.created_at,
        "decided_at": cand.decided_at,
    }


@router.get("/duplicates", response=DuplicatePage, summary="List likely duplicate pairs")
def list_duplicates(request, params: Query[DuplicateListParams]):
    """Pairs of customers that are likely one person, most likely first, with the evidence per field."""
    user = _merger(request)
    page = queries.candidate_page(user, status=params.status, cursor=params.cursor, size=params.size)
    names = queries.customers_of(user, page.items)
    return {"items": [_out(c, names) for c in page.items], "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor}


@router.get("/duplicates/{pair_id}", response=DuplicateOut, summary="One duplicate pair")
def get_duplicate(request, pair_id: int):
    user = _merger(request)
    cand = queries.get_candidate_for(user, pair_id)
    return _out(cand, queries.customers_of(user, [cand]))


@router.post("/duplicates/{pair_id}/merge", response={201: MergeOut}, summary="Merge a duplicate pair")
def merge_duplicate(request, pair_id: int, payload: DuplicateMergeIn):
    """Merge the pair into `survivor_id` (one of the two; default: the survivorship rules' choice)."""
    user = _merger(request)
    record = services.merge_candidate(actor=user, candidate_id=pair_id, survivor_id=payload.survivor_id)
    return Status(201, record)


@router.post("/duplicates/{pair_id}/reject", response=DuplicateOut, summary="Not the same person")
def reject_duplicate(request, pair_id: int):
    """Mark the pair as two different people; later runs do not propose it again."""
    user = _merger(request)
    cand = services.reject_candidate(actor=user, candidate_id=pair_id)
    return _out(cand, queries.customers_of(user, [cand]))


@router.post("/customers/merge", response={201: MergeOut}, summary="Merge customers")
def merge_customers(request, payload: CustomerMergeIn):
    """Merge `duplicate_ids` into `survivor_id`: their orders, interactions, consents, contact points and tags
    move over, they are archived, and the merge can be undone."""
    user = _merger(request)
    record = services.merge(actor=user, survivor_id=payload.survivor_id, duplicate_ids=payload.duplicate_ids)
    return Status(201, record)


@router.get("/merges/{merge_id}", response=MergeOut, summary="One merge")
def get_merge(request, merge_id: int):
    return queries.get_merge_for(_merger(request), merge_id)


@router.post("/merges/{merge_id}/undo", response=MergeOut, summary="Undo a merge")
def undo_merge(request, merge_id: int):
    """Bring the merged customers back as they were before the merge."""
    return services.undo_merge(actor=_merger(request), merge_id=merge_id)
