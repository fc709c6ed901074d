"""Service measures and dimensions for the pivot engine (clientwise.reports.semantic): tickets, SLA, CSAT, NPS and
the satisfaction index, by type, channel, status, priority, queue, agent and month. Two facts, one row per ticket
(`tickets`) and one per survey (`surveys`); both read the operational tables (they are not in the analytics
snapshot, so the runner uses the database engine for them). Registered from ServiceConfig.ready().
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def register() -> None:
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
    from clientwise.service.models import Channel, Priority, Ticket, TicketType
    from clientwise.service.perms import SERVICE_REPORTS

    if "tickets" in FACTS:
        return
    register_table(Table("tickets", "service.Ticket", None))
    register_table(Table("surveys", "service.Survey", None, db_filter=db_only("surveys.answered_at IS NOT NULL")))
    register_table(Table("service_queues", "service.Queue", None))
    joins = [Join("service_queues", db_only("service_queues.id = tickets.queue_id"))]
    register_fact(Fact(name="tickets", label=_("Service tickets"), base="tickets", customer_column="tickets.customer_id",
                       perm=SERVICE_REPORTS, date_column={"db": "tickets.opened_at"}, joins=tuple(joins)))
    register_fact(Fact(name="surveys", label=_("Satisfaction surveys"), base="surveys",
                       customer_column="surveys.customer_id", perm=SERVICE_REPORTS,
                       date_column={"db": "surveys.answered_at"}))
    share_customer_dimensions("tickets", "tickets.customer_id")  # by customer city, team, value tier, ...
    share_customer_dimensions("surveys", "surveys.customer_id")

    group = _("Service")
    t = ("tickets",)
    open_statuses = ", ".join(f"'{s}'" for s in Ticket.OPEN_STATUSES)
    for m in (
        Measure("tickets", "tickets", _("Tickets"), db_only("COUNT(*)"), tables=t, format="int"),
        Measure("open_tickets", "tickets", _("Open tickets"),
                db_only(f"SUM(CASE WHEN tickets.status IN ({open_statuses}) THEN 1 ELSE 0 END)"), tables=t, format="int"),
        Measure("sla_breached", "tickets", _("SLA breached"),
                db_only("SUM(CASE WHEN tickets.sla_state = 'breached' THEN 1 ELSE 0 END)"), tables=t, format="int",
                description=_("Tickets that missed a first-response or resolution target.")),
        Measure("resolved_in_time", "tickets", _("Resolved in time"),
                db_only("AVG(CASE WHEN tickets.resolved_at IS NULL OR tickets.resolution_due IS NULL THEN NULL "
                    "WHEN tickets.resolved_at <= tickets.resolution_due THEN 1.0 ELSE 0.0 END)"),
                tables=t, format="pct", additive=False),
        Measure("escalated_tickets", "tickets", _("Escalated tickets"),
                db_only("SUM(CASE WHEN tickets.escalated_at IS NOT NULL THEN 1 ELSE 0 END)"), tables=t, format="int"),
    ):
        register_measure(m)
    s = ("surveys",)
    for m in (
        Measure("surveys_answered", "surveys", _("Answered surveys"), db_only("COUNT(*)"), tables=s, format="int"),
        Measure("avg_csat", "surveys", _("Average CSAT"), db_only("AVG(surveys.csat)"), tables=s, additive=False),
        Measure("nps", "surveys", _("NPS"),
                db_only("100.0 * (SUM(CASE WHEN surveys.nps >= 9 THEN 1 ELSE 0 END) - SUM(CASE WHEN surveys.nps <= 6 "
                    "THEN 1 ELSE 0 END)) / NULLIF(SUM(CASE WHEN surveys.nps IS NOT NULL THEN 1 ELSE 0 END), 0)"),
                tables=s, additive=False, description=_("% promoters (9-10) minus % detractors (0-6).")),
        Measure("satisfaction_index", "surveys", _("Weighted satisfaction index"), db_only("AVG(surveys.weighted_index)"),
                tables=s, additive=False),
        Measure("satisfaction_simple", "surveys", _("Simple satisfaction index"), db_only("AVG(surveys.simple_index)"),
                tables=s, additive=False),
    ):
        register_measure(m)

    register_dimension(Dimension("ticket_type", _("Ticket type"), db_only("tickets.type"), ("tickets",), tables=t,
                                 group=group, choices=dict(TicketType.choices)))
    register_dimension(Dimension("ticket_channel", _("Ticket channel"), db_only("tickets.channel"), ("tickets",),
                                 tables=t, group=group, choices=dict(Channel.choices)))
    register_dimension(Dimension("ticket_status", _("Ticket status"), db_only("tickets.status"), ("tickets",), tables=t,
                                 group=group, choices=dict(Ticket.Status.choices)))
    register_dimension(Dimension("ticket_priority", _("Ticket priority"), db_only("tickets.priority"), ("tickets",),
                                 tables=t, group=group, choices=dict(Priority.choices)))
    register_dimension(Dimension("ticket_queue", _("Queue"), db_only("service_queues.name"), ("tickets",),
                                 key=db_only("tickets.queue_id"), tables=("tickets", "service_queues"), group=group))
    register_dimension(Dimension("ticket_month", _("Ticket opened · month"), local_period_start("month", "tickets.opened_at"),
                                 ("tickets",), tables=t, group=group, grain="month", kind="date"))
    register_dimension(Dimension("survey_csat", _("CSAT score"), db_only("surveys.csat"), ("surveys",), tables=s,
                                 group=group, kind="number"))
    register_dimension(Dimension("survey_trigger", _("Survey sent"), db_only("surveys.trigger"), ("surveys",),
                                 tables=s, group=group, choices={"resolution": _("After resolution"),
                                                                 "purchase": _("After purchase")}))
    register_dimension(Dimension("survey_month", _("Survey answered · month"), local_period_start("month", "surveys.answered_at"),
                                 ("surveys",), tables=s, group=group, grain="month", kind="date"))
