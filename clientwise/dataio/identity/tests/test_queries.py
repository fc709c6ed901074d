"""The review page's j / k walk the pairs in the same order as the queue list."""

from __future__ import annotations

from clientwise.dataio.identity import queries
from clientwise.dataio.identity.models import DuplicateCandidate


def test_next_and_previous_follow_the_queue_order(org, people):
    a, b, c = (people[k].pk for k in "abc")
    ids = sorted([a, b, c])
    pairs = [DuplicateCandidate.objects.create(customer_a_id=x, customer_b_id=y, probability=p)
             for (x, y), p in [((ids[0], ids[1]), 0.95), ((ids[0], ids[2]), 0.95), ((ids[1], ids[2]), 0.99)]]
    listed = [cand.pk for cand in queries.candidate_page(org.admin).items]
    walked, cand = [], queries.next_pending(org.admin, None)
    while cand is not None:
        walked.append(cand.pk)
        cand = queries.next_pending(org.admin, cand)
    assert walked == listed == [pairs[2].pk, pairs[1].pk, pairs[0].pk]
    assert queries.previous_pending(org.admin, pairs[0]).pk == pairs[1].pk
    assert queries.previous_pending(org.admin, pairs[2]) is None
    assert queries.pending_count(org.manager_a) == 1 and queries.pending_count(org.rep_a) == 0
