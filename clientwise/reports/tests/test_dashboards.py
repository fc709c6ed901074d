"""Default dashboards that do not mislead (issue 15 items 5 and 6): every role's dashboard holds only what the role
may see, with its own work; chart titles come from what is plotted; top-N "Others" is not drawn beside the members
it ranks; partial periods are marked; orders in no store are a named member, not "(blank)"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from clientwise.core import periods
from clientwise.core import permissions as perms
from clientwise.reports import dashboards, display, runner
from clientwise.reports.models import Dashboard, Report
from clientwise.reports.spec import ME, parse_spec

pytestmark = pytest.mark.django_db
ROLE_USERS = {"admin": "admin", "manager": "manager_sh", "sales_rep": "rep_sh_1", "marketer": "marketer",
              "analyst": "analyst", "service_agent": "agent_1"}


def _dashboard_reports(role: str) -> list[Report]:
    dash = Dashboard.objects.get(role=role, is_default=True)
    by_pk = {r.pk: r for r in Report.objects.filter(pk__in=[i["report"] for i in dash.items])}
    return [by_pk[i["report"]] for i in dash.items]


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_every_role_dashboard_holds_only_what_the_role_may_see(role, users, web_client):
    user = users[ROLE_USERS[role]]
    assert perms.user_role(user).value == role
    reports = _dashboard_reports(role)
    assert len(reports) >= 3, role
    for report in reports:
        assert dashboards.role_may_run(role, report.spec), (role, report.system_key)
        runner.run_pivot(actor=user, spec=report.spec)  # raises PermissionDenied for a field the role lacks
    page = web_client(user).get("/reports/dashboard/").content.decode()
    assert page.count('class="cw-card rp-widget') == len(reports)
    assert "alert-warning" not in page, role  # no card answers with a refusal


def test_sync_takes_off_what_a_role_may_not_see_and_keeps_hand_added_cards():
    agent = Dashboard.objects.get(role="service_agent", is_default=True)
    tiers = Report.objects.get(system_key="exec_value_tiers")  # churn scores: analytics.view, not the agent's
    mine = Report.objects.create(name="Mine", spec={"fact": "tickets", "measures": ["tickets"]}, chart="bar")
    agent.items = [{"report": tiers.pk, "width": 6}, *agent.items, {"report": mine.pk, "width": 12}]
    agent.save()
    tiers.shared_roles = [*tiers.shared_roles, "service_agent"]
    tiers.save()
    assert dashboards.sync_default_dashboards() > 0
    agent.refresh_from_db()
    tiers.refresh_from_db()
    ids = [i["report"] for i in agent.items]
    assert tiers.pk not in ids and "service_agent" not in tiers.shared_roles
    assert ids[-1] == mine.pk  # added by hand: kept, after the shipped cards
    assert dashboards.sync_default_dashboards() == 0


def test_service_agent_sees_own_tickets_sla_csat_and_todays_visits(users, web_client):
    from clientwise.customers.models import Customer
    from clientwise.service.models import Ticket

    keys = [r.system_key for r in _dashboard_reports("service_agent")]
    assert keys[:5] == ["svc_my_tickets", "svc_my_csat", "svc_visits_today", "svc_visits_open", "svc_queues"]
    agent = users["agent_1"]
    customers = list(Customer.objects.order_by("id")[:4])
    for n, (status, sla, who) in enumerate([("open", "breached", agent), ("pending", "warning", agent),
                                            ("new", "", agent), ("resolved", "breached", agent),
                                            ("open", "warning", users["admin"])]):
        Ticket.objects.create(number=f"T-DASH-{n}", customer=customers[n % 4], type="complaint", channel="phone",
                              subject="x", status=status, sla_state=sla, assignee=who, opened_at=timezone.now())
    spec = Report.objects.get(system_key="svc_my_tickets").spec
    result = runner.run_pivot(actor=agent, spec=spec)
    total = result.cells[-1][0]
    mine = Ticket.objects.filter(assignee=agent, status__in=Ticket.OPEN_STATUSES)
    assert total["open_tickets"] == mine.count() == 3
    assert total["open_sla_breached"] == mine.filter(sla_state="breached").count()
    assert total["sla_due_soon"] == mine.filter(sla_state="warning").count()
    # "@me" is each reader's own: the same shared report for the administrator counts the administrator's tickets.
    admin_total = runner.run_pivot(actor=users["admin"], spec=spec).cells[-1][0] or {}
    assert (admin_total.get("open_tickets") or 0) == Ticket.objects.filter(
        assignee=users["admin"], status__in=Ticket.OPEN_STATUSES).count()
    page = web_client(agent).get("/reports/dashboard/").content.decode()
    for words in ("My open tickets and SLA by priority", "My CSAT, last 30 days", "Today's visits"):
        assert words.replace("'", "&#x27;") in page


def test_me_filter_value_is_the_reader():
    spec = parse_spec({"fact": "tickets", "measures": ["tickets"],
                       "filters": [{"dimension": "ticket_assignee", "values": [ME, 7]}]})

    class U:
        pk = 42

    assert spec.for_user(U()).filters[0].values == [42, 7]
    assert spec.for_user(None).filters[0].values == [-1, 7]


def test_every_shipped_chart_plots_every_measure_it_names(users):
    """Bar and line charts draw every measure of their report, so a name listing them all is true; a pie draws
    one, and its title (generated) names that one."""
    admin = users["admin"]
    for item in dashboards.ITEMS:
        if item.chart == "table" or not dashboards._usable(item):
            continue
        data = display.chart(runner.run_pivot(actor=admin, spec=item.spec), item.chart)
        if item.chart == "pie":
            assert len(data["series"]) == 1 and data["title"].startswith(data["series"][0]["name"]), item.key
            continue
        assert data["not_plotted"] == [], item.key
        if item.chart != "figure" and not item.spec.get("columns"):
            assert len(data["series"]) == len(item.spec["measures"]), item.key


def test_chart_title_is_generated_from_the_plotted_measures(users):
    result = runner.run_pivot(actor=users["admin"], spec={"fact": "sales", "measures": ["revenue", "buyers", "aov"],
                                                        "rows": ["category"], "last_days": 365})
    bar = display.chart(result, "bar")
    # revenue and AOV share the money axis, buyers has its own: all three drawn, all three named.
    assert [s["name"] for s in bar["series"]] == ["Revenue", "Buyers", "Average order value"]
    assert [s["axis"] for s in bar["series"]] == [0, 1, 0]
    assert bar["title"] == "Revenue, Buyers and Average order value by Category"
    pie = display.chart(result, "pie")
    assert pie["title"] == "Revenue by Category" and pie["not_plotted"] == ["Buyers", "Average order value"]


def test_others_is_not_drawn_beside_the_top_members(users):
    spec = {"fact": "sales", "measures": ["revenue"], "rows": ["store"], "last_days": 400,
            "top_n": {"dimension": "store", "n": 2, "by": "revenue", "others": True}}
    result = runner.run_pivot(actor=users["admin"], spec=spec)
    assert any(r["labels"] == ["Others"] for r in result.rows)  # still in the table
    data = display.chart(result, "bar")
    assert len(data["x"]) == 2 and "Others" not in data["x"]
    assert data["others"][0]["label"] == "Others" and data["others"][0]["values"][0]["text"]
    # In a pie Others is its share of the whole: a slice.
    assert "Others" in display.chart(result, "pie")["x"]


def test_orders_in_no_store_are_a_named_member_not_blank(users):
    from django.db.models import Sum

    from clientwise.commerce.models import Order

    result = runner.run_pivot(actor=users["admin"], spec={"fact": "sales", "measures": ["revenue"],
                                                          "rows": ["region"], "date_from": "2020-01-01"})
    labels = [r["labels"][0] for r in result.rows if not r["total"]]
    assert "(blank)" not in labels and "Online / no store" in labels
    online = next(c[0]["revenue"] for r, c in zip(result.rows, result.cells, strict=True)
                  if r["labels"] == ["Online / no store"])
    expected = Order.objects.filter(status="completed", store__isnull=True).aggregate(s=Sum("amount"))["s"]
    assert online == pytest.approx(float(expected), abs=0.05)
    # The default region report shows it under that name in the pie.
    spec = Report.objects.get(system_key="exec_region").spec
    assert "Online / no store" in display.chart(runner.run_pivot(actor=users["admin"], spec=spec), "pie")["x"]


def test_partial_periods_are_marked_not_drawn_as_a_drop(users):
    spec = {"fact": "sales", "measures": ["revenue", "orders"], "rows": ["order_month"],
            "date_from": "2026-01-15", "date_to": "2026-06-20"}
    result = runner.run_pivot(actor=users["admin"], spec=spec)
    marks = {r["labels"][0]: r.get("partial", "") for r in result.rows if not r["total"]}
    assert marks["2026-01"] == "from 01-15 only" and marks["2026-06"] == "to 06-20 only"
    assert all(not marks[m] for m in ("2026-02", "2026-03", "2026-04", "2026-05"))
    data = display.chart(result, "line")
    assert data["partial"] == ["from 01-15 only", "", "", "", "", "to 06-20 only"]
    assert [r["partial"] for r in display.table(result)["body"]][:2] == ["from 01-15 only", ""]
    # On the columns too: the series of a cut month is marked, its header says so.
    across = runner.run_pivot(actor=users["admin"], spec={**spec, "rows": ["channel"], "columns": ["order_month"]})
    series = display.chart(across, "bar")["series"]
    assert series[0]["partial"] and series[0]["name"] == "2026-01 (from 01-15 only)"
    assert not series[1]["partial"]
    head = display.table(across)["head"][0]
    assert head[1]["partial"] == "from 01-15 only" and head[2]["partial"] == ""
    # The month still going on is "so far" (the same rule as the home page's today).
    today = timezone.localdate()
    current = periods.coverage(today.replace(day=1), "month", date_from=today - dt.timedelta(days=364),
                               date_to=today, today=today)
    assert current.running and current.partial and current.last == today
    last_month = periods.period_start(today.replace(day=1) - dt.timedelta(days=1), "month")
    assert not periods.coverage(last_month, "month", date_to=today, today=today).partial
    note = runner.partial_note((today.replace(day=1).isoformat(),), [runner.semantic.dimension("order_month")],
                               parse_spec({"measures": ["revenue"], "rows": ["order_month"], "last_days": 365})
                               .resolved(), today)
    assert note == f"so far, to {today:%m-%d}"
