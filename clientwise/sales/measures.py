"""Sales measures and dimensions for the pivot engine (clientwise.reports.semantic): pipeline, weighted pipeline,
won and lost deals, win rate, by stage, status, pipeline, owner, lost reason and expected-close or close month.

One fact, `opportunities`, one row per opportunity, read from the operational tables (opportunities are not in the
analytics snapshot, so the runner uses the database engine). The spec's date range applies to when the
opportunity was created. The forecast and funnel pages (sales.services) compute the same figures for their own
layout; these make them sliceable by any other dimension. Registered from SalesConfig.ready().
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clientwise.reports.semantic import (
    FACTS,
    Dimension,
    Fact,
    Join,
    Measure,
    Table,
    db_only,
    local_period_start,
    register_dimension,
    register_fact,
    register_measure,
    register_table,
    share_customer_dimensions,
)
from clientwise.sales.models import Opportunity
from clientwise.sales.perms import VIEW_SALES


def _date_month(column: str) -> dict[str, str]:
    """The first day of the month of a date column (a calendar date: no time zone to convert)."""
    return {"sqlite": f"date({column}, 'start of month')",
            "postgresql": f"CAST(date_trunc('month', {column}) AS DATE)"}


def register() -> None:
    if "opportunities" in FACTS:
        return
    register_table(Table("opportunities", "sales.Opportunity", None))
    register_table(Table("sales_stages", "sales.Stage", None))
    register_table(Table("sales_pipelines", "sales.Pipeline", None))
    register_table(Table("opportunity_owners", "accounts.User", None))
    joins = (Join("sales_stages", db_only("sales_stages.id = opportunities.stage_id")),
             Join("sales_pipelines", db_only("sales_pipelines.id = opportunities.pipeline_id")),
             Join("opportunity_owners", db_only("opportunity_owners.id = opportunities.owner_id")))
    register_fact(Fact(name="opportunities", label=_("Opportunities"), base="opportunities",
                       customer_column="opportunities.customer_id", perm=VIEW_SALES,
                       date_column={"db": "opportunities.created_at"}, joins=joins))
    share_customer_dimensions("opportunities", "opportunities.customer_id")  # by customer city, team, tier, ...

    t = ("opportunities",)
    is_open = "opportunities.status = 'open'"
    is_won = "opportunities.status = 'won'"
    is_lost = "opportunities.status = 'lost'"
    for m in (
        Measure("opportunities", "opportunities", _("Opportunities"), db_only("COUNT(*)"), tables=t, format="int"),
        Measure("pipeline_amount", "opportunities", _("Open pipeline"),
                db_only(f"SUM(CASE WHEN {is_open} THEN opportunities.amount ELSE 0 END)"), tables=t, format="money",
                description=_("Amount of the opportunities still open.")),
        Measure("weighted_pipeline", "opportunities", _("Weighted pipeline"),
                db_only(f"SUM(CASE WHEN {is_open} THEN opportunities.amount * opportunities.probability / 100.0 "
                    "ELSE 0 END)"), tables=t, format="money",
                description=_("Open amount × stage probability: what the pipeline is expected to bring.")),
        Measure("won_amount", "opportunities", _("Won amount"),
                db_only(f"SUM(CASE WHEN {is_won} THEN opportunities.amount ELSE 0 END)"), tables=t, format="money"),
        Measure("won_deals", "opportunities", _("Won deals"),
                db_only(f"SUM(CASE WHEN {is_won} THEN 1 ELSE 0 END)"), tables=t, format="int"),
        Measure("lost_deals", "opportunities", _("Lost deals"),
                db_only(f"SUM(CASE WHEN {is_lost} THEN 1 ELSE 0 END)"), tables=t, format="int"),
        Measure("win_rate", "opportunities", _("Win rate"),
                db_only(f"1.0 * SUM(CASE WHEN {is_won} THEN 1 ELSE 0 END) / "
                    f"NULLIF(SUM(CASE WHEN {is_won} OR {is_lost} THEN 1 ELSE 0 END), 0)"),
                tables=t, format="pct", additive=False, description=_("Won deals ÷ decided (won or lost) deals.")),
        Measure("avg_deal", "opportunities", _("Average won deal"),
                db_only(f"AVG(CASE WHEN {is_won} THEN opportunities.amount END)"), tables=t, format="money",
                additive=False),
    ):
        register_measure(m)

    group = _("Sales")
    register_dimension(Dimension("opp_stage", _("Stage"), db_only("sales_stages.name"), t,
                                 key=db_only("opportunities.stage_id"), tables=("opportunities", "sales_stages"),
                                 group=group, order=db_only("sales_stages.pipeline_id * 1000 + sales_stages.position")))
    register_dimension(Dimension("opp_status", pgettext_lazy("opportunity", "Status"), db_only("opportunities.status"),
                                 t, tables=t, group=group, choices=dict(Opportunity.Status.choices)))
    register_dimension(Dimension("opp_pipeline", _("Pipeline"), db_only("sales_pipelines.name"), t,
                                 key=db_only("opportunities.pipeline_id"), tables=("opportunities", "sales_pipelines"),
                                 group=group))
    register_dimension(Dimension("opp_owner", _("Opportunity owner"), db_only("opportunity_owners.username"), t,
                                 key=db_only("opportunities.owner_id"), tables=("opportunities", "opportunity_owners"),
                                 group=group))
    register_dimension(Dimension("opp_lost_reason", _("Lost reason"), db_only("opportunities.lost_reason"), t,
                                 tables=t, group=group, choices=dict(Opportunity.LostReason.choices)))
    register_dimension(Dimension("opp_close_month", _("Expected close · month"),
                                 _date_month("opportunities.expected_close"), t, tables=t, group=group,
                                 grain="month", kind="date"))
    register_dimension(Dimension("opp_created_month", _("Opportunity created · month"),
                                 local_period_start("month", "opportunities.created_at"), t, tables=t, group=group,
                                 grain="month", kind="date"))
