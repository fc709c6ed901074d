"""Customer analytics: scoring batches, one ModelRun per model per batch, and CustomerScore rows.

Scores are rows, not columns on Customer (ARCHITECTURE §4): every scoring batch writes one CustomerScore per
customer, then becomes the current batch in one short transaction. Readers find the current batch through
the partial unique index on `ScoringBatch.is_current` and read its scores through `(batch, customer)` or the
ranked-list indexes below; a batch that is still being written (or failed) is never visible to them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def money(verbose: str = "", **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose or None, max_digits=14, decimal_places=2, **kwargs)


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Engine(models.TextChoices):
    DUCKDB = "duckdb", "DuckDB"
    SPARK = "spark", "Apache Spark"


class ScoringBatch(models.Model):
    """One end-to-end scoring: extract → features (as of `as_of`) → models → CustomerScore rows.

    `is_current` marks the batch whose scores pages, API and segments read (at most one, enforced by a partial
    unique index); it moves only when a later batch has written all of its rows. `stages` holds per-stage
    timings and row counts: {"extract": {"seconds": 1.2, "rows": {...}}, ...}. `snapshot` is the directory
    of the Parquet snapshot the features were computed from.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    as_of = models.DateField(_("as of"))
    engine = models.CharField(max_length=10, choices=Engine.choices, default=Engine.DUCKDB)
    horizon_days = models.PositiveIntegerField(default=365)
    discount_rate = models.FloatField(default=0.1)  # annual; CLV discounts monthly at (1 + rate)^(1/12) - 1
    is_current = models.BooleanField(default=False)
    customers = models.IntegerField(default=0)
    scores = models.IntegerField(default=0)
    stages = models.JSONField(default=dict, blank=True)
    snapshot = models.CharField(max_length=500, blank=True, default="")
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=Q(is_current=True),
                                    name="analytics_one_current_batch"),
        ]

    def __str__(self) -> str:
        return f"scoring batch {self.pk} as of {self.as_of} ({self.status})"


class ModelRun(models.Model):
    """One model fitted (or applied) inside a scoring batch, with its parameters and validation metrics.

    `parameters` are the fitted values (e.g. BG/NBD r, alpha, a, b); `metrics` the validation the UI shows
    (holdout predicted vs actual, MAE, AUC, lift, calibration, ...). `engine` is the SQL engine that computed
    the features the model saw; `rows_in` the rows it was fitted on (e.g. unique (x, t_x, T) triples),
    `rows_out` the customers it scored.
    """

    class Model(models.TextChoices):
        RFM = "rfm", _("RFM segments")
        BGNBD = "bgnbd", _("BG/NBD purchases")
        GAMMA_GAMMA = "gamma_gamma", _("Gamma-Gamma spend")
        CLV = "clv", _("Customer lifetime value")
        CHURN = "churn", _("Churn risk")
        NEXT_PURCHASE = "next_purchase", _("Next purchase")
        RECOMMEND = "recommend", _("Recommendations")
        VALUE = "value", _("Value tiers")

    batch = models.ForeignKey(ScoringBatch, on_delete=models.CASCADE, related_name="model_runs")
    model = models.CharField(max_length=20, choices=Model.choices)
    version = models.CharField(max_length=20, default="1")
    engine = models.CharField(max_length=10, choices=Engine.choices, default=Engine.DUCKDB)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    as_of = models.DateField(_("as of"))
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    rows_in = models.IntegerField(default=0)
    rows_out = models.IntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["model", "-started_at"], name="analytics_modelrun_model")]

    def __str__(self) -> str:
        return f"{self.model} v{self.version} as of {self.as_of} ({self.status})"


class CustomerScore(models.Model):
    """A customer's scores in one batch. Null means "not applicable" (e.g. a prospect without purchases has no
    RFM score, P(alive) or churn probability) or "that model did not run in this batch".

    BTYD inputs are in days (docs/analytics.md): frequency = repeat purchase days (days with a purchase after
    the first one), recency = days from the first to the last purchase day (t_x), age = days from the first
    purchase day to `as_of` (T). Money is in the default currency.
    """

    class Tier(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"

    class Action(models.TextChoices):
        CALL = "call", _("Call")
        OFFER = "offer", _("Offer")
        WIN_BACK = "win_back", _("Win back")
        NURTURE = "nurture", _("Nurture")
        NONE = "", _("None")

    batch = models.ForeignKey(ScoringBatch, on_delete=models.CASCADE, related_name="+", db_index=False)
    # A visible reverse name: code that deletes customers generically (demo reset) finds this table through
    # Customer._meta.related_objects, which skips hidden ("+") relations.
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="analytics_scores",
                                 db_index=False)
    as_of = models.DateField(_("as of"))

    # RFM: quintile scores 1-5 (5 best) and the named segment (rfm.SEGMENTS codes).
    rfm_r = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_f = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_m = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=20, blank=True, default="")

    # BTYD inputs and outputs.
    frequency = models.IntegerField(null=True, blank=True)
    recency = models.IntegerField(null=True, blank=True)
    age = models.IntegerField(null=True, blank=True)
    monetary = money(_("average repeat order value"), null=True, blank=True)
    p_alive = models.FloatField(_("probability alive"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    expected_spend = money(_("expected average order value"), null=True, blank=True)
    clv = money(_("lifetime value"), null=True, blank=True)

    # Churn risk and its reasons: [{"feature": ..., "label": ..., "value": ..., "contribution": ...}, ...].
    churn_probability = models.FloatField(_("churn probability"), null=True, blank=True)
    churn_reasons = models.JSONField(default=list, blank=True)
    # Churn probability × CLV: the lifetime value that leaves if the customer does; churn lists rank by it.
    value_at_risk = money(_("value at risk"), null=True, blank=True)

    # Next purchase: overall date, and per replenishable category [{"category": code, "date": "YYYY-MM-DD"}].
    next_purchase_on = models.DateField(_("next purchase"), null=True, blank=True)
    next_purchase_categories = models.JSONField(default=list, blank=True)

    # Value: tier A-D, margin over the last 12 months, predicted value beyond it, share of wallet (0-1) where
    # the customer's total demand is recorded.
    value_tier = models.CharField(_("value tier"), max_length=1, choices=Tier.choices, blank=True, default="")
    immediate_value = money(_("immediate value"), null=True, blank=True)
    potential_value = money(_("potential value"), null=True, blank=True)
    share_of_wallet = models.FloatField(_("share of wallet"), null=True, blank=True)

    # Recommendations: [{"product_id": ..., "sku": ..., "category": ..., "score": ..., "reason": ...}, ...].
    recommendations = models.JSONField(default=list, blank=True)
    next_action = models.CharField(_("next best action"), max_length=10, choices=Action.choices, blank=True,
                                   default="")
    acquisition_channel = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "customer"], name="analytics_score_unique"),
        ]
        indexes = [
            # Ranked lists inside a batch; keyset pages walk them (nulls excluded, so both databases agree).
            models.Index(fields=["batch", "-churn_probability", "-id"], name="analytics_score_churn",
                         condition=Q(churn_probability__isnull=False)),
            models.Index(fields=["batch", "-clv", "-id"], name="analytics_score_clv",
                         condition=Q(clv__isnull=False)),
            models.Index(fields=["batch", "-value_at_risk", "-id"], name="analytics_score_risk_value",
                         condition=Q(value_at_risk__isnull=False)),
            models.Index(fields=["batch", "rfm_segment"], name="analytics_score_segment"),
            models.Index(fields=["batch", "value_tier"], name="analytics_score_tier"),
        ]

    def __str__(self) -> str:
        return f"scores of customer {self.customer_id} as of {self.as_of}"



class LabelModel(models.Model):
    """A classifier trained on a table of the company's own labels (analytics/labels.py), e.g. a telecom's
    contract customers marked churned or not. Its `name` is the score kind its scores are filed under
    (LabelScore rows, the pivot dimension `own_score.<name>`).

    `features` holds how each column was encoded ({"features": [...], "dropped": [...]}) so a later table is
    encoded the same way; `metrics` the cross-validation beside its naive baselines; `parameters` the LightGBM
    settings, tree count and feature importance; `model_file` the fitted booster under the var dir.
    """

    class IdKind(models.TextChoices):
        EXTERNAL_ID = "external_id", _("External id")
        MEMBER_NUMBER = "member_number", _("Member number")
        CUSTOMER_ID = "customer_id", _("Customer id")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True, default="")
    id_column = models.CharField(max_length=200)
    id_kind = models.CharField(max_length=20, choices=IdKind.choices)
    label_column = models.CharField(max_length=200)
    positive_label = models.CharField(max_length=100)
    negative_label = models.CharField(max_length=100)
    rows = models.IntegerField(default=0)  # labelled rows it was trained and cross-validated on
    positives = models.IntegerField(default=0)
    matched = models.IntegerField(default=0)  # rows whose id matched a customer
    features = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    model_file = models.CharField(max_length=500)
    applied_at = models.DateTimeField(null=True, blank=True)
    scored = models.IntegerField(default=0)  # customers with a current LabelScore of this model

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"own-label model {self.name}"


class LabelScore(models.Model):
    """A customer's probability of the positive label under one LabelModel, from its latest application.

    One row per (model, customer): applying again replaces the probability. Read through the customer's
    visibility like every customer-owned row.
    """

    label_model = models.ForeignKey(LabelModel, on_delete=models.CASCADE, related_name="scores", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="label_scores")
    probability = models.FloatField(_("probability"))
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["label_model", "customer"], name="analytics_labelscore_unique"),
        ]
        indexes = [models.Index(fields=["label_model", "-probability", "-id"], name="analytics_labelscore_rank")]

    def __str__(self) -> str:
        return f"{self.label_model_id}: customer {self.customer_id} {self.probability:.3f}"
