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

from django.db import connections, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from clientwise.core import permissions as perms
from clientwise.reports import semantic
from clientwise.reports.models import Dashboard, Report
from clientwise.reports.perms import USE_REPORTS

R = perms.Role


@dataclass(frozen=True)
class Item:
    key: str
    name: object
    spec: dict
    chart: str = "bar"
    width: int = 6
    roles: tuple[str, ...] = field(default_factory=tuple)
    order: int = 100  # place on the dashboard: the role's own work (lower) before overviews


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
    Item("exec_value_tiers", _("Customers, customers at risk and churn probability by value tier"),
         {"fact": "customers", "measures": ["customers", "at_risk", "churn_risk"], "rows": ["value_tier"]},
         "bar", 6, EXEC + MANAGER + MARKETER),
    Item("exec_new_repeat", _("New customers and repeat-purchase rate by month"),
         {"fact": "sales", "measures": ["new_customers", "repeat_rate"], "rows": ["order_month"], "last_days": 365,
          "totals": False}, "line", 12, EXEC + MARKETER),
    Item("mgr_reps", _("Top sales reps: revenue and orders"),
         {"fact": "sales", "measures": ["revenue", "orders"], "rows": ["sales_rep"], "last_days": 90,
          "top_n": {"dimension": "sales_rep", "n": 10, "by": "revenue", "others": True},
          "sort": {"by": "revenue"}}, "bar", 6, MANAGER),
    Item("mgr_stores", _("Top stores: revenue and buyers"),
         {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["store"], "last_days": 90,
          "top_n": {"dimension": "store", "n": 10, "by": "revenue", "others": True},
          "sort": {"by": "revenue"}}, "bar", 6, MANAGER + EXEC),
    Item("mgr_channel_month", _("Revenue by channel and month"),
         {"fact": "sales", "measures": ["revenue"], "rows": ["channel"], "columns": ["order_month"],
          "last_days": 180}, "bar", 12, MANAGER),
    Item("mgr_handsets", _("Handsets by brand, model and network type"),
         {"fact": "sales", "measures": ["quantity", "revenue"], "rows": ["brand", "model"], "columns": ["network"],
          "filters": [{"dimension": "network", "op": "not_in", "values": [None]}], "last_days": 90, "subtotals": True, "sort": {"by": "revenue"}}, "table", 12, MANAGER),
    Item("rep_month", _("My revenue, orders and buyers by month"),
         {"fact": "sales", "measures": ["revenue", "orders", "buyers"], "rows": ["order_month"], "last_days": 365},
         "line", 12, REP),
    Item("rep_categories", _("My revenue by category"),
         {"fact": "sales", "measures": ["revenue", "quantity"], "rows": ["category"], "last_days": 90,
          "top_n": {"dimension": "category", "n": 8, "by": "revenue", "others": True},
          "sort": {"by": "revenue"}}, "pie", 6, REP),
    Item("rep_tiers", _("My buyers and revenue by value tier"),
         {"fact": "sales", "measures": ["buyers", "revenue"], "rows": ["value_tier"], "last_days": 365}, "bar", 6,
         REP),
    Item("mkt_segments", _("Buyers and repeat rate by RFM segment"),
         {"fact": "sales", "measures": ["buyers", "repeat_rate"], "rows": ["rfm_segment"], "last_days": 365,
          "sort": {"by": "buyers"}}, "bar", 6, MARKETER),
    Item("mkt_cities", _("Buyers and revenue by customer city (top 10)"),
         {"fact": "sales", "measures": ["buyers", "revenue"], "rows": ["customer_city"], "last_days": 365,
          "top_n": {"dimension": "customer_city", "n": 10, "by": "buyers", "others": True},
          "sort": {"by": "buyers"}}, "bar", 6, MARKETER),
    Item("svc_urban_rural", _("Customers by city type and status"),
         {"fact": "customers", "measures": ["customers"], "rows": ["customer_urban_rural"],
          "columns": ["customer_status"]}, "bar", 6, SERVICE),
):
    register_dashboard_item(_item)


def _usable(item: Item) -> bool:
    spec = item.spec
    ids_m = spec.get("measures", [])
    ids_d = [*spec.get("rows", []), *spec.get("columns", []), *(f["dimension"] for f in spec.get("filters", []))]
    return (spec.get("fact", "sales") in semantic.FACTS and all(m in semantic.MEASURES for m in ids_m)
            and all(d in semantic.DIMENSIONS for d in ids_d))


def required_perms(spec: dict) -> set[str]:
    """Every permission running `spec` needs: the reports right, its fact's, and those of its measures and of the
    dimensions it groups or filters by (the compiler refuses a run without any of them)."""
    needed = {USE_REPORTS}
    fact = semantic.FACTS.get(spec.get("fact", "sales"))
    fields = [fact] if fact else []
    fields += [semantic.MEASURES[m] for m in spec.get("measures", []) if m in semantic.MEASURES]
    dims = [*spec.get("rows", []), *spec.get("columns", []), *(f.get("dimension") for f in spec.get("filters", []))]
    fields += [semantic.DIMENSIONS[d] for d in dims if d in semantic.DIMENSIONS]
    needed |= {f.perm for f in fields if getattr(f, "perm", None)}
    return needed


def role_may_run(role: str, spec: dict) -> bool:
    """Whether a user of `role` may run `spec` (a default dashboard only shows what its role may see)."""
    try:
        granted = perms.ROLE_PERMISSIONS[R(role)]
    except ValueError:
        return False
    return required_perms(spec) <= granted


def user_may_run(user, spec: dict) -> bool:
    return all(perms.has_perm(user, p) for p in required_perms(spec))


def shipped_items(role: str) -> list[Item]:
    """The shipped items of `role`'s default dashboard, in display order: registered, meant for the role, and
    runnable by it."""
    ranked = sorted(enumerate(ITEMS), key=lambda p: (p[1].order, p[0]))
    return [item for _i, item in ranked if role in item.roles and _usable(item) and role_may_run(role, item.spec)]


def sync_default_dashboards(*, using: str = "default") -> int:
    """Bring the shipped reports and the default dashboard of each role up to what is registered; returns how many
    rows it wrote (0 when everything is there: it only reads then). Shipped reports follow their definition here
    (name, spec, chart, roles; save a copy to change one). A role's dashboard holds the shipped items it may run,
    in their order, then whatever was added by hand; a shipped item the role may not (or no longer) see is taken
    off. Names are stored in English (the default language); pages translate system reports' names."""
    writes = 0
    with override("en"), transaction.atomic(using=using):
        reports: dict[str, Report] = {}
        for item in ITEMS:
            if not _usable(item):
                continue
            roles = sorted(r for r in item.roles if role_may_run(r, item.spec))
            wanted = {"name": str(item.name), "spec": {"kind": "pivot", "version": 1, **item.spec},
                      "chart": item.chart, "shared_roles": roles}
            report, created = Report.objects.using(using).get_or_create(system_key=item.key, defaults=wanted)
            writes += created
            changed = [k for k, v in wanted.items() if getattr(report, k) != v]
            if changed:
                for k in changed:
                    setattr(report, k, wanted[k])
                report.save(using=using, update_fields=[*changed, "updated_at"])
                writes += 1
            reports[item.key] = report
        shipped_keys = {r.pk: key for key, r in reports.items()}
        for role in R:
            own = [{"report": reports[i.key].pk, "width": i.width} for i in shipped_items(role.value)]
            dash = Dashboard.objects.using(using).filter(role=role.value, is_default=True).first()
            if dash is None:
                if not own:
                    continue
                dash = Dashboard.objects.using(using).create(role=role.value, is_default=True,
                                                             name=str(DASHBOARD_NAMES[role]), items=[])
                writes += 1
            widths = {i.get("report"): i.get("width") for i in dash.items}
            own = [{**i, "width": widths.get(i["report"], i["width"])} for i in own]
            added = [i for i in dash.items if i.get("report") not in shipped_keys]
            items = own + added
            if items != dash.items:
                dash.items = items
                dash.save(using=using, update_fields=["items", "updated_at"])
                writes += 1
    return writes


def seed_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: sync the default dashboards once the reports tables exist (a migrate to an earlier
    state, or of another database without them, is left alone)."""
    tables = set(connections[using].introspection.table_names())
    if {Report._meta.db_table, Dashboard._meta.db_table} <= tables:
        sync_default_dashboards(using=using)


def display_name(report: Report) -> str:
    """A report's name in the reader's language (shipped reports are translated; saved ones are as typed)."""
    for item in ITEMS:
        if report.system_key and item.key == report.system_key:
            return str(item.name)
    return report.name
