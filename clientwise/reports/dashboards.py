"""Default dashboards per role, shipped as data: each item is a saved report (system_key) shared with the role.

`sync_default_dashboards()` creates what is missing. It runs after every `migrate` (reports/apps.py connects it to
Django's post_migrate, the hook Django itself uses to create content types and permissions), so a new install, an
upgrade, the test database and a test database flushed by a transactional test all have the dashboards, and a later
domain that registers its own items with `register_dashboard_item(...)` (service: tickets and SLA breaches, sales:
pipeline, ...) shows up on the existing dashboards at its next migrate. Pages only read: nothing is written on a GET.
An item is only added when every field of its spec is registered, so apps can ship items for measures that land
later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from clientwise.core import permissions as perms
from clientwise.reports import semantic
from clientwise.reports.models import Dashboard, Report

R = perms.Role


@dataclass(frozen=True)
class Item:
    key: str
    name: object
    spec: dict
    chart: str = "bar"
    width: int = 6
    roles: tuple[str, ...] = field(default_factory=tuple)


DASHBOARD_NAMES = {
    R.ADMIN: _("Executive"),
    R.ANALYST: _("Executive"),
    R.MANAGER: _("Sales manager"),
    R.SALES_REP: _("My sales"),
    R.SERVICE_AGENT: _("Service"),
    R.MARKETER: _("Marketing"),
}

ITEMS: list[Item] = []


def register_dashboard_item(item: Item) -> None:
    if all(i.key != item.key for i in ITEMS):
        ITEMS.append(item)


EXEC = (R.ADMIN.value, R.ANALYST.value)
MANAGER = (R.MANAGER.value,)
REP = (R.SALES_REP.value,)
SERVICE = (R.SERVICE_AGENT.value,)
MARKETER = (R.MARKETER.value,)

for _item in (
    Item("exec_revenue_month", _("Revenue and buyers by month"),
         {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["order_month"], "last_days": 365,
          "totals": True}, "line", 12, EXEC + MANAGER),
    Item("exec_region", _("Revenue by region"),
         {"fact": "sales", "measures": ["revenue", "orders", "aov"], "rows": ["region"], "last_days": 365,
          "sort": {"by": "revenue"}}, "pie", 6, EXEC),
    Item("exec_value_tiers", _("Customers by value tier: churn risk and lifetime value"),
         {"fact": "customers", "measures": ["customers", "at_risk", "churn_risk", "clv"], "rows": ["value_tier"]},
         "bar", 6, EXEC + MANAGER + MARKETER + SERVICE),
    Item("exec_new_repeat", _("New customers and repeat-purchase rate by month"),
         {"fact": "sales", "measures": ["new_customers", "repeat_rate"], "rows": ["order_month"], "last_days": 365,
          "totals": False}, "line", 12, EXEC + MARKETER),
    Item("mgr_reps", _("Top sales reps by revenue"),
         {"fact": "sales", "measures": ["revenue", "orders"], "rows": ["sales_rep"], "last_days": 90,
          "top_n": {"dimension": "sales_rep", "n": 10, "by": "revenue", "others": True},
          "sort": {"by": "revenue"}}, "bar", 6, MANAGER),
    Item("mgr_stores", _("Top stores by revenue"),
         {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["store"], "last_days": 90,
          "top_n": {"dimension": "store", "n": 10, "by": "revenue", "others": True},
          "sort": {"by": "revenue"}}, "bar", 6, MANAGER + EXEC),
    Item("mgr_channel_month", _("Revenue by channel and month"),
         {"fact": "sales", "measures": ["revenue"], "rows": ["channel"], "columns": ["order_month"],
          "last_days": 180}, "bar", 12, MANAGER),
    Item("mgr_handsets", _("Handsets by brand, model and network type"),
         {"fact": "sales", "measures": ["quantity", "revenue"], "rows": ["brand", "model"], "columns": ["network"],
          "last_days": 90, "subtotals": True, "sort": {"by": "revenue"}}, "table", 12, MANAGER),
    Item("rep_month", _("My revenue by month"),
         {"fact": "sales", "measures": ["revenue", "orders", "buyers"], "rows": ["order_month"], "last_days": 365},
         "line", 12, REP),
    Item("rep_categories", _("My sales by category"),
         {"fact": "sales", "measures": ["revenue", "quantity"], "rows": ["category"], "last_days": 90,
          "sort": {"by": "revenue"}}, "pie", 6, REP),
    Item("rep_tiers", _("My customers by value tier"),
         {"fact": "sales", "measures": ["buyers", "revenue"], "rows": ["value_tier"], "last_days": 365}, "bar", 6,
         REP),
    Item("mkt_segments", _("Buyers and repeat rate by RFM segment"),
         {"fact": "sales", "measures": ["buyers", "repeat_rate", "aov"], "rows": ["rfm_segment"], "last_days": 365,
          "sort": {"by": "buyers"}}, "bar", 6, MARKETER),
    Item("mkt_cities", _("Buyers by customer city (top 10)"),
         {"fact": "sales", "measures": ["buyers", "revenue"], "rows": ["customer_city"], "last_days": 365,
          "top_n": {"dimension": "customer_city", "n": 10, "by": "buyers", "others": True},
          "sort": {"by": "buyers"}}, "bar", 6, MARKETER + SERVICE),
    Item("svc_urban_rural", _("Customers by city type and status"),
         {"fact": "customers", "measures": ["customers", "active_customers"], "rows": ["customer_urban_rural"],
          "columns": ["customer_status"]}, "bar", 6, SERVICE),
):
    register_dashboard_item(_item)


def _usable(item: Item) -> bool:
    spec = item.spec
    ids_m = spec.get("measures", [])
    ids_d = [*spec.get("rows", []), *spec.get("columns", [])]
    return all(m in semantic.MEASURES for m in ids_m) and all(d in semantic.DIMENSIONS for d in ids_d)


def sync_default_dashboards(*, using: str = "default") -> int:
    """Create the shipped reports and one default dashboard per role, adding items registered since; returns how
    many rows it wrote (0 when everything is there: it only reads then). Names are stored in English (the default
    language); pages translate system reports' names when they show them."""
    writes = 0
    with override("en"), transaction.atomic(using=using):
        for item in ITEMS:
            if not _usable(item):
                continue
            report, created = Report.objects.using(using).get_or_create(
                system_key=item.key,
                defaults={"name": str(item.name), "spec": {"kind": "pivot", "version": 1, **item.spec},
                          "chart": item.chart, "shared_roles": sorted(item.roles)})
            writes += created
            for role in item.roles:
                dash, made = Dashboard.objects.using(using).get_or_create(
                    role=role, is_default=True, defaults={"name": str(DASHBOARD_NAMES[R(role)]), "items": []})
                writes += made
                if all(i.get("report") != report.pk for i in dash.items):
                    dash.items = [*dash.items, {"report": report.pk, "width": item.width}]
                    dash.save(update_fields=["items", "updated_at"])
                    writes += 1
    return writes


def seed_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: sync the default dashboards once the reports tables exist (a migrate to an earlier
    state, or of another database without them, is left alone)."""
    from django.db import connections

    tables = set(connections[using].introspection.table_names())
    if {Report._meta.db_table, Dashboard._meta.db_table} <= tables:
        sync_default_dashboards(using=using)


def display_name(report: Report) -> str:
    """A report's name in the reader's language (shipped reports are translated; saved ones are as typed)."""
    for item in ITEMS:
        if report.system_key and item.key == report.system_key:
            return str(item.name)
    return report.name
