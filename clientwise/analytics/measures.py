"""Score measures and dimensions (value tier, RFM segment, churn risk, lifetime value) for the pivot engine
(clientwise.reports.semantic), defined once here. They read the current scoring batch's CustomerScore rows.
Registered by the reports app at start-up (reports/apps.py calls `register()`); see docs/reports.md.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clientwise.analytics.models import CustomerScore, LabelModel, LabelScore, ScoringBatch
from clientwise.analytics.rfm import SEGMENT_LABELS
from clientwise.core import permissions as perms
from clientwise.reports.semantic import (
    Dimension,
    Join,
    Measure,
    Table,
    add_joins,
    register_dimension,
    register_dynamic_dimensions,
    register_measure,
    register_table,
)


def current_batch_id() -> int | None:
    return ScoringBatch.objects.filter(is_current=True).values_list("pk", flat=True).first()


def load_scores():
    """The current batch's scores as Arrow (one row per customer), read in chunks of the scores table."""
    # pyarrow (with numpy, heavy) stays off the start-up path: reports' ready() imports this module.
    import pyarrow as pa

    names = ["customer_id", "value_tier", "rfm_segment", "churn_probability", "clv", "p_alive"]
    batch = current_batch_id()
    cols: list[list] = [[] for _n in names]
    if batch is not None:
        qs = CustomerScore.objects.filter(batch_id=batch).values_list(
            "customer_id", "value_tier", "rfm_segment", "churn_probability", "clv", "p_alive")
        for row in qs.iterator(chunk_size=20_000):
            for i, v in enumerate(row):
                cols[i].append(float(v) if i == 4 and v is not None else v)
    types = [pa.int64(), pa.string(), pa.string(), pa.float64(), pa.float64(), pa.float64()]
    return pa.table({n: pa.array(c, type=t) for n, c, t in zip(names, cols, types, strict=True)})


def _scores_filter() -> str:
    return f"scores.batch_id = {int(current_batch_id() or 0)}"


# Probability bands of a model trained on own labels (a dimension value, so reports group and filter by it).
LABEL_BANDS = ((0.8, "0.8-1.0"), (0.6, "0.6-0.8"), (0.4, "0.4-0.6"), (0.2, "0.2-0.4"), (0.0, "0.0-0.2"))


def _label_model_dimensions():
    """One dimension per model trained on own labels (label_services): `own_score.<name>`, the band of the
    customer's probability under it, read live from LabelScore (the snapshot does not hold those scores)."""
    table = LabelScore._meta.db_table
    out = []
    for pk, name in LabelModel.objects.filter(scored__gt=0).order_by("name").values_list("pk", "name"):
        bands = " ".join(f"WHEN ls.probability >= {low} THEN '{label}'" for low, label in LABEL_BANDS)
        sql = (f"(SELECT CASE {bands} END FROM {table} AS ls "
               f"WHERE ls.label_model_id = {int(pk)} AND ls.customer_id = customers.id)")
        out.append(Dimension(f"own_score.{name}", name, {"sqlite": sql, "postgresql": sql}, ("sales", "customers"),
                             tables=("customers",), group=_("Scores"), perm=perms.VIEW_ANALYTICS))
    return out


def register() -> None:
    register_table(Table("scores", "analytics.CustomerScore", "scores", db_filter=_scores_filter,
                         loader=load_scores, loader_version=lambda: str(current_batch_id() or 0)))
    add_joins("customers", Join("scores", "scores.customer_id = customers.id"))
    add_joins("sales", Join("scores", "scores.customer_id = lines.customer_id"))

    register_dynamic_dimensions(_label_model_dimensions)
    scored = _("Scores")
    both = ("sales", "customers")
    register_dimension(Dimension("value_tier", _("Value tier"), "scores.value_tier", both, tables=("scores",),
                                 group=scored, choices=dict(CustomerScore.Tier.choices)))
    register_dimension(Dimension("rfm_segment", _("RFM segment"), "scores.rfm_segment", both, tables=("scores",),
                                 group=scored, choices=dict(SEGMENT_LABELS)))

    view = perms.VIEW_ANALYTICS
    for m in (
        Measure("churn_risk", "customers", _("Average churn probability"), "AVG(scores.churn_probability)",
                tables=("scores",), format="pct", perm=view, additive=False),
        Measure("at_risk", "customers", _("Customers at risk"),
                "SUM(CASE WHEN scores.churn_probability >= 0.5 THEN 1 ELSE 0 END)", tables=("scores",),
                format="int", perm=view, description=_("Customers whose churn probability is 0.5 or more.")),
        Measure("clv", "customers", _("Lifetime value"), "SUM(scores.clv)", tables=("scores",), format="money",
                perm=view),
        Measure("avg_clv", "customers", _("Average lifetime value"), "AVG(scores.clv)", tables=("scores",),
                format="money", perm=view, additive=False),
    ):
        register_measure(m)
