"""Identity resolution: batch runs, the candidate pairs they find, and the merges people (or auto-merge) make."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class DedupRun(models.Model):
    """One batch run of `clientwise dedup`: extract → block → score → store candidate pairs."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    params = models.JSONField(default=dict, blank=True)
    # records, pairs, stored, skipped_decided, auto_merged
    counts = models.JSONField(default=dict, blank=True)
    # precision / recall against the demo ground truth when evaluated
    metrics = models.JSONField(default=dict, blank=True)
    # seconds per stage (extract, train, predict, store, total)
    seconds = models.JSONField(default=dict, blank=True)
    peak_memory_mb = models.FloatField(default=0)
    # The trained Splink model (m/u per level), for explaining the evidence later.
    model = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"dedup run {self.pk} ({self.status})"


class DuplicateCandidate(models.Model):
    """Two customers that are likely one person, with the probability and the evidence per compared field.

    customer_a_id < customer_b_id always, so a pair is stored once. A decided pair (merged, rejected) is kept
    across runs: a later run neither repeats it nor brings a rejected pair back.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        MERGED = "merged", _("Merged")
        REJECTED = "rejected", _("Not the same person")

    customer_a_id = models.BigIntegerField()
    customer_b_id = models.BigIntegerField()
    probability = models.FloatField()
    match_weight = models.FloatField(default=0)
    # {comparison: {"gamma": int, "label": str, "bf": float}}
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    run = models.ForeignKey(DedupRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    merge = models.ForeignKey("MergeRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_a_id", "customer_b_id"], name="candidate_unique_pair"),
            models.CheckConstraint(condition=Q(customer_a_id__lt=F("customer_b_id")), name="candidate_ordered_pair"),
        ]
        indexes = [
            models.Index(fields=["status", "probability", "id"], name="candidate_queue"),
            models.Index(fields=["customer_b_id"], name="candidate_b"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.probability:.3f})"


class MergeRecord(models.Model):
    """One merge: the survivor, the customers merged into it, and a snapshot to undo it.

    The snapshot (written by customers.services.merge_customers) lists every row that moved, every row that was
    dropped as a duplicate (consents, contact points, tags, shares) and the profiles before the merge.
    The merged customers are archived; `merged_ids` is the pointer from them to the survivor.
    """

    survivor_id = models.BigIntegerField(db_index=True)
    merged_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    automatic = models.BooleanField(default=False)
    candidate = models.ForeignKey(DuplicateCandidate, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"merge {self.merged_ids} → {self.survivor_id}"


class MergedCustomer(models.Model):
    """The pointer from an archived, merged customer to its survivor (one row per merged customer)."""

    customer_id = models.BigIntegerField(unique=True)
    survivor_id = models.BigIntegerField(db_index=True)
    merge = models.ForeignKey(MergeRecord, on_delete=models.CASCADE, related_name="links")

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.survivor_id}"
