"""Service measures and dimensions for the pivot engine (clientwise.reports.semantic): tickets, SLA, CSAT, NPS and
the satisfaction index, by type, channel, status, priority, queue, agent and month. Two facts, one row per ticket
(`tickets`) and one per survey (`surveys`); both read the operational tables (they are not in the analytics
snapshot, so the runner uses the database engine for them). Registered from ServiceConfig.ready().
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clientwise.reports.dashboards import Item, register_dashboard_item
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
from clientwise.reports.spec import ME
from clientwise.service.models import Channel, Priority, Ticket, TicketType, WorkOrder
from clientwise.service.perms import SERVICE_REPORTS, SERVICE_VIEW


def register() -> None:
    if "tickets" in FACTS:
        return
    register_table(Table("tickets", "service.Ticket", None))
    register_table(Table("surveys", "service.Survey", None, db_filter=db_only("surveys.answered_at IS NOT NULL")))
    register_table(Table("service_queues", "service.Queue", None))
    register_table(Table("ticket_agents", settings.AUTH_USER_MODEL, None))
    register_table(Table("survey_agents", settings.AUTH_USER_MODEL, None))
    register_table(Table("work_orders", "service.WorkOrder", None))
    register_table(Table("technicians", "service.Technician", None))
    joins = [Join("service_queues", db_only("service_queues.id = tickets.queue_id")),
             Join("ticket_agents", db_only("ticket_agents.id = tickets.assignee_id"))]
    register_fact(Fact(name="tickets", label=_("Service tickets"), base="tickets", customer_column="tickets.customer_id",
                       perm=SERVICE_REPORTS, date_column={"db": "tickets.opened_at"}, joins=tuple(joins)))
    register_fact(Fact(name="surveys", label=_("Satisfaction surveys"), base="surveys",
                       customer_column="surveys.customer_id", perm=SERVICE_REPORTS,
                       date_column={"db": "surveys.answered_at"},
                       joins=(Join("survey_agents", db_only("survey_agents.id = surveys.agent_id")),)))
    # Field visits, one row per work order, dated by the start of the visit window (local day).
    register_fact(Fact(name="work_orders", label=_("Work orders"), base="work_orders",
                       customer_column="work_orders.customer_id", perm=SERVICE_VIEW,
                       date_column={"db": "work_orders.window_start"},
                       joins=(Join("technicians", db_only("technicians.id = work_orders.technician_id")),)))
    share_customer_dimensions("tickets", "tickets.customer_id")  # by customer city, team, value tier, ...
    share_customer_dimensions("surveys", "surveys.customer_id")
    share_customer_dimensions("work_orders", "work_orders.customer_id")

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
        Measure("sla_due_soon", "tickets", _("SLA due soon"),
                db_only(f"SUM(CASE WHEN tickets.status IN ({open_statuses}) AND tickets.sla_state = 'warning' "
                        "THEN 1 ELSE 0 END)"), tables=t, format="int",
                description=_("Open tickets close to a first-response or resolution target.")),
        Measure("open_sla_breached", "tickets", _("Open and SLA breached"),
                db_only(f"SUM(CASE WHEN tickets.status IN ({open_statuses}) AND tickets.sla_state = 'breached' "
                        "THEN 1 ELSE 0 END)"), tables=t, format="int",
                description=_("Open tickets that already missed a target: answer these first.")),
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
    agent_name = db_only("COALESCE(NULLIF(ticket_agents.display_name, ''), ticket_agents.username)")
    register_dimension(Dimension("ticket_assignee", _("Assigned agent"), agent_name, ("tickets",),
                                 key=db_only("tickets.assignee_id"), tables=("tickets", "ticket_agents"), group=group))
    survey_agent = db_only("COALESCE(NULLIF(survey_agents.display_name, ''), survey_agents.username)")
    register_dimension(Dimension("survey_agent", _("Agent surveyed"), survey_agent, ("surveys",),
                                 key=db_only("surveys.agent_id"), tables=("surveys", "survey_agents"), group=group))
    register_dimension(Dimension("ticket_month", _("Ticket opened · month"), local_period_start("month", "tickets.opened_at"),
                                 ("tickets",), tables=t, group=group, grain="month", kind="date"))
    register_dimension(Dimension("survey_csat", _("CSAT score"), db_only("surveys.csat"), ("surveys",), tables=s,
                                 group=group, kind="number"))
    register_dimension(Dimension("survey_trigger", _("Survey sent"), db_only("surveys.trigger"), ("surveys",),
                                 tables=s, group=group, choices={"resolution": _("After resolution"),
                                                                 "purchase": _("After purchase")}))
    register_dimension(Dimension("survey_month", _("Survey answered · month"), local_period_start("month", "surveys.answered_at"),
                                 ("surveys",), tables=s, group=group, grain="month", kind="date"))

    w = ("work_orders",)
    wo_open = ", ".join(f"'{s}'" for s in WorkOrder.OPEN_STATUSES)
    # The window's end against the database's clock (UTC on both engines, as the column is stored).
    now = {"sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')", "postgresql": "CURRENT_TIMESTAMP"}
    for m in (
        Measure("work_orders", "work_orders", _("Work orders"), db_only("COUNT(*)"), tables=w, format="int"),
        Measure("open_work_orders", "work_orders", _("Visits to do"),
                db_only(f"SUM(CASE WHEN work_orders.status IN ({wo_open}) THEN 1 ELSE 0 END)"), tables=w,
                format="int", description=_("Scheduled, assigned or in progress.")),
        Measure("overdue_work_orders", "work_orders", _("Overdue visits"),
                {e: f"SUM(CASE WHEN work_orders.status IN ({wo_open}) AND work_orders.window_end <= {now[e]} "
                    "THEN 1 ELSE 0 END)" for e in now}, tables=w, format="int",
                description=_("The window has passed and the visit is not done.")),
    ):
        register_measure(m)
    register_dimension(Dimension("work_order_status", _("Work order status"), db_only("work_orders.status"),
                                 ("work_orders",), tables=w, group=group, choices=dict(WorkOrder.Status.choices)))
    register_dimension(Dimension("work_order_kind", _("Work order kind"), db_only("work_orders.kind"),
                                 ("work_orders",), tables=w, group=group, choices=dict(WorkOrder.Kind.choices)))
    register_dimension(Dimension("technician", _("Technician"), db_only("technicians.name"), ("work_orders",),
                                 key=db_only("work_orders.technician_id"), tables=("work_orders", "technicians"),
                                 group=group))
    register_dimension(Dimension("work_order_day", _("Visit day"), local_period_start("day", "work_orders.window_start"),
                                 ("work_orders",), tables=w, group=group, grain="day", kind="date"))
    register_dashboard_items()


def register_dashboard_items() -> None:
    """The service agent's default dashboard: their own open tickets and SLA, their CSAT, today's visits, and the
    team's queues (reports.dashboards; `@me` filters make one shared report show each agent their own)."""
    agent = ("service_agent",)
    open_tickets = {"dimension": "ticket_status", "values": list(Ticket.OPEN_STATUSES)}
    for item in (
        Item("svc_my_tickets", _("My open tickets and SLA by priority"),
             {"fact": "tickets", "measures": ["open_tickets", "sla_due_soon", "open_sla_breached"],
              "rows": ["ticket_priority"], "filters": [{"dimension": "ticket_assignee", "values": [ME]}, open_tickets]},
             "figure", 6, agent, order=10),
        Item("svc_my_csat", _("My CSAT, last 30 days"),
             {"fact": "surveys", "measures": ["surveys_answered", "avg_csat", "nps"], "rows": ["survey_month"],
              "filters": [{"dimension": "survey_agent", "values": [ME]}], "last_days": 30},
             "figure", 6, agent, order=11),
        Item("svc_visits_today", _("Today's visits"),
             {"fact": "work_orders", "measures": ["work_orders", "open_work_orders", "overdue_work_orders"],
              "rows": ["work_order_status"], "last_days": 1},
             "figure", 6, agent, order=12),
        Item("svc_visits_open", _("Visits to do and overdue, by technician"),
             {"fact": "work_orders", "measures": ["open_work_orders", "overdue_work_orders"], "rows": ["technician"],
              "filters": [{"dimension": "work_order_status", "values": list(WorkOrder.OPEN_STATUSES)}],
              "sort": {"by": "open_work_orders"}},
             "figure", 6, agent, order=12),
        Item("svc_queues", _("Open tickets and SLA by queue"),
             {"fact": "tickets", "measures": ["open_tickets", "sla_due_soon", "open_sla_breached"],
              "rows": ["ticket_queue"], "filters": [open_tickets], "sort": {"by": "open_tickets"}},
             "bar", 6, agent, order=13),
        Item("svc_csat_month", _("Answered surveys and average CSAT by month"),
             {"fact": "surveys", "measures": ["surveys_answered", "avg_csat"], "rows": ["survey_month"],
              "last_days": 365}, "line", 12, agent, order=14),
    ):
        register_dashboard_item(item)
