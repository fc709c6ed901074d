"""The request memo: one computation per request and key, none shared between requests, none outside them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientwise.accounts.models import Team
from clientwise.accounts.services import team_subtree_ids
from clientwise.core.memo import RequestMemoMiddleware, forget, memoized


def _in_request(fn):
    out = {}

    def view(request):
        out["value"] = fn()
        return "response"

    RequestMemoMiddleware(view)(object())
    return out["value"]


def test_a_key_is_computed_once_per_request_and_again_in_the_next():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert _in_request(lambda: [memoized("k", compute), memoized("k", compute)]) == [1, 1]
    assert _in_request(lambda: memoized("k", compute)) == 2  # a new request computes again
    assert memoized("k", compute) == 3 and memoized("k", compute) == 4  # outside a request: every call


def test_forget_drops_the_key_for_the_rest_of_the_request():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    def request():
        first = memoized("k", compute)
        forget("k")
        return first, memoized("k", compute), memoized("k", compute)

    assert _in_request(request) == (1, 2, 2)


@pytest.mark.django_db
def test_the_team_tree_is_read_once_per_request_and_a_new_team_is_seen_at_once():
    north = Team.objects.create(name="North")
    Team.objects.create(name="North-1", parent=north)

    def request():
        with CaptureQueriesContext(connection) as ctx:
            first = sorted(team_subtree_ids(north.pk))
            second = sorted(team_subtree_ids(north.pk))
        reads = sum('"accounts_team"' in q["sql"] for q in ctx.captured_queries)
        added = Team.objects.create(name="North-2", parent=north)  # saved in the request: the memo forgets
        return first == second, reads, added.pk in team_subtree_ids(north.pk)

    assert _in_request(request) == (True, 1, True)
