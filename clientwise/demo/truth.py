"""The demo generator's ground truth, offered to the apps that evaluate themselves against it (dedup) through
core.extensions.register_ground_truth: dataio sits below demo and never imports it."""

from __future__ import annotations

from collections import defaultdict

from clientwise.demo.models import CustomerTruth


def duplicate_pairs() -> set[tuple[int, int]]:
    """Pairs of customers the demo generator made from one person (same CustomerTruth.dup_group)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for cid, group in CustomerTruth.objects.filter(dup_group__isnull=False).values_list("customer_id", "dup_group"):
        groups[group].append(cid)
    out = set()
    for ids in groups.values():
        ids.sort()
        out.update((ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids)))
    return out
