"""Review queue for likely duplicates: side-by-side pairs with their evidence, merge / not the same person,
keyboard shortcuts (m, n, j, k), and the merge history with undo. Views parse, call queries/services, render."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clientwise.core import permissions as perms
from clientwise.core.errors import DomainError, NotFound
from clientwise.customers.queries import visible_customers
from clientwise.dataio.identity import queries, services
from clientwise.dataio.identity.models import DuplicateCandidate
from clientwise.dataio.identity.presentation import pair_rows

QUEUE_PAGE = 25


def identity_view(view):
    """Signed-in users with the merge permission; an invisible pair or merge is a 404 like a missing one."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not perms.has_perm(request.user, perms.MERGE):
            raise DjangoPermissionDenied()
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied(exc.message) from None
            raise

    return login_required(wrapper)


def _is_partial(request) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def _pair_context(request, cand: DuplicateCandidate | None, *, error: str = "") -> dict:
    user = request.user
    if cand is None:
        return {"cand": None, "pending": queries.pending_count(user)}
    people = queries.customers_of(user, [cand])
    a, b = people.get(cand.customer_a_id), people.get(cand.customer_b_id)
    pending = cand.status == DuplicateCandidate.Status.PENDING
    return {
        "cand": cand, "pair_customers": [a, b],
        "rows": pair_rows(user, a, b, cand.evidence),
        "suggested": services.pick_survivor(user, [cand.customer_a_id, cand.customer_b_id]) if pending else None,
        "next": queries.next_pending(user, cand), "prev": queries.previous_pending(user, cand) if pending else None,
        "pending": queries.pending_count(user), "error": error,
    }


@identity_view
def queue(request):
    """The queue: the selected (or most likely) pending pair side by side, the list of pairs beside it."""
    user = request.user
    status = request.GET.get("status", "pending")
    if status not in DuplicateCandidate.Status.values:
        status = "pending"
    page = queries.candidate_page(user, status=status, cursor=request.GET.get("cursor") or None, size=QUEUE_PAGE)
    names = queries.customers_of(user, page.items)
    selected = None
    if request.GET.get("pair"):
        selected = queries.get_candidate_for(user, request.GET["pair"])
    elif status == "pending":
        selected = queries.next_pending(user, None)
    entries = [(c, getattr(names.get(c.customer_a_id), "name", "—"), getattr(names.get(c.customer_b_id), "name", "—"))
               for c in page.items]
    context = {"page": page, "entries": entries, "status": status, "statuses": DuplicateCandidate.Status.choices,
               "last_run": queries.last_run(), **_pair_context(request, selected)}
    if _is_partial(request) and request.GET.get("part") == "list":
        return render(request, "identity/_queue_list.html", context)
    return render(request, "identity/queue.html", context)


@identity_view
def pair(request, pk: int):
    cand = queries.get_candidate_for(request.user, pk)
    if _is_partial(request):
        return render(request, "identity/_pair.html", _pair_context(request, cand))
    return redirect(f"{reverse('identity:queue')}?pair={cand.pk}&status={cand.status}")


def _after_decision(request, cand: DuplicateCandidate, message: str):
    """HTMX: show the next pending pair in place; otherwise back to the queue."""
    if _is_partial(request):
        nxt = queries.next_pending(request.user, cand)
        context = _pair_context(request, nxt)
        context["flash"] = message
        return render(request, "identity/_pair.html", context)
    messages.success(request, message)
    return redirect("identity:queue")


def _decision_error(request, cand, exc: DomainError):
    if _is_partial(request):
        return render(request, "identity/_pair.html", _pair_context(request, cand, error=exc.message),
                      status=exc.status)
    messages.error(request, exc.message)
    return redirect(f"{reverse('identity:queue')}?pair={cand.pk}")


@require_POST
@identity_view
def merge(request, pk: int):
    cand = queries.get_candidate_for(request.user, pk)
    try:
        record = services.merge_candidate(actor=request.user, candidate_id=cand.pk,
                                          survivor_id=request.POST.get("survivor_id") or None)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _decision_error(request, cand, exc)
    return _after_decision(request, cand, _("Merged into customer %(id)s.") % {"id": record.survivor_id})


@require_POST
@identity_view
def reject(request, pk: int):
    cand = queries.get_candidate_for(request.user, pk)
    try:
        services.reject_candidate(actor=request.user, candidate_id=cand.pk)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _decision_error(request, cand, exc)
    return _after_decision(request, cand, _("Marked as two different people."))


@identity_view
def merge_history(request):
    page = queries.merge_page(request.user, cursor=request.GET.get("cursor") or None, size=QUEUE_PAGE)
    ids = set()
    for r in page.items:
        ids.add(r.survivor_id)
        ids.update(r.merged_ids)

    names = dict(visible_customers(request.user).filter(pk__in=ids).values_list("pk", "name"))
    rows = [{"record": r, "survivor": names.get(r.survivor_id, "—"),
             "merged": [(i, names.get(i, "—")) for i in r.merged_ids]} for r in page.items]
    return render(request, "identity/merges.html", {"page": page, "rows": rows})


@require_POST
@identity_view
def undo(request, pk: int):
    try:
        record = services.undo_merge(actor=request.user, merge_id=pk)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
        return redirect("identity:merges")
    messages.success(request, _("Merge undone: customers %(ids)s are back.") % {
        "ids": ", ".join(str(i) for i in record.merged_ids)})
    return redirect("identity:merges")
