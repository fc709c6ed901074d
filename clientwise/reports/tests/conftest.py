"""One demo business for the reports tests (a few hundred customers, fixed `now`), generated once per package.

Every test runs in its own transaction on top of it. `expected` helpers compute figures independently: plain SQL
over the operational tables returns one row per order line, and Python buckets and sums them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection

NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    """Generated once for this package and removed after its last test, so other apps' tests start clean."""
    from clientwise.demo.generator import delete_demo_data, generate

    with django_db_blocker.unblock():
        result = generate(customers=300, seed=11, now=NOW, history_days=400, future_days=0, reset=True)
    yield result
    with django_db_blocker.unblock():
        from clientwise.reports.dashboards import sync_default_dashboards
        from clientwise.reports.models import Dashboard, Report

        Report.objects.all().delete()
        Dashboard.objects.all().delete()
        delete_demo_data()
        sync_default_dashboards()  # back to the state migrate left, for the tests that follow


@pytest.fixture(autouse=True)
def reports_env(settings, tmp_path):
    from django.core.cache import cache

    from clientwise.reports import runner

    settings.ANALYTICS_DIR = tmp_path / "analytics"
    settings.REPORTS_ENGINE = "auto"
    cache.clear()
    runner.reset_connections()
    yield
    runner.reset_connections()


@pytest.fixture
def users(demo, db):
    from clientwise.accounts.models import User

    return {u.username: u for u in User.objects.filter(
        username__in=["admin", "manager_sh", "rep_sh_1", "rep_hz_1", "marketer", "analyst", "agent_1"])}


@pytest.fixture
def snapshot(demo, db):
    from clientwise.analytics.extract import extract_snapshot

    return extract_snapshot()


LINE_SQL = """
SELECT l.amount, l.quantity, l.customer_id, l.order_id, o.ordered_at, o.store_id, o.channel_id,
       r.name AS region, c.name AS category, s.name AS store
FROM commerce_orderline l
JOIN commerce_order o ON o.id = l.order_id
LEFT JOIN commerce_product p ON p.id = l.product_id
LEFT JOIN commerce_productcategory c ON c.id = p.category_id
LEFT JOIN commerce_store s ON s.id = o.store_id
LEFT JOIN commerce_branch b ON b.id = s.branch_id
LEFT JOIN commerce_region r ON r.id = b.region_id
WHERE o.status = 'completed'
"""


def line_rows(customer_ids: set[int] | None = None) -> list[dict]:
    """Every completed order line with what the tests group by, from plain SQL (no reports code)."""
    from django.utils.dateparse import parse_datetime

    with connection.cursor() as cur:
        cur.execute(LINE_SQL)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    tz = ZoneInfo(settings.TIME_ZONE)
    for r in rows:
        at = r["ordered_at"]
        if isinstance(at, str):
            at = parse_datetime(at).replace(tzinfo=dt.UTC)
        r["day"] = at.astimezone(tz).date()
        r["amount"] = float(r["amount"])
    if customer_ids is not None:
        rows = [r for r in rows if r["customer_id"] in customer_ids]
    return rows


def period(day: dt.date, grain: str) -> str:
    if grain == "day":
        return day.isoformat()
    if grain == "week":
        return (day - dt.timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return day.replace(day=1).isoformat()
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1).isoformat()
    return day.replace(month=1, day=1).isoformat()


def aggregate(rows: list[dict], key) -> dict:
    """{group: {"revenue", "buyers", "orders", "quantity"}} for `key(row)` (None-able)."""
    acc: dict = defaultdict(lambda: {"revenue": 0.0, "buyers": set(), "orders": set(), "quantity": 0})
    for r in rows:
        a = acc[key(r)]
        a["revenue"] += r["amount"]
        a["buyers"].add(r["customer_id"])
        a["orders"].add(r["order_id"])
        a["quantity"] += r["quantity"]
    return {k: {"revenue": round(v["revenue"], 2), "buyers": len(v["buyers"]), "orders": len(v["orders"]),
                "quantity": v["quantity"]} for k, v in acc.items()}


def cells_by_labels(result) -> dict:
    """{(row labels, column labels): cell} of a PivotResult."""
    out = {}
    for row, cells in zip(result.rows, result.cells, strict=True):
        for col, cell in zip(result.columns, cells, strict=True):
            if cell is not None:
                out[(tuple(row["labels"]), tuple(col["labels"]))] = cell
    return out
