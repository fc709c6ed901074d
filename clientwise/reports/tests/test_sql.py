"""The SQL the compiler prints, kept as golden files per engine (a change to it is a deliberate diff:
REPORTS_UPDATE_GOLDEN=1 rewrites them), and what it does with hostile input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clientwise.reports.compiler import Compiler, Context, Visibility
from clientwise.reports.runner import run_pivot
from clientwise.reports.spec import parse_spec

GOLDEN = Path(__file__).parent / "golden"
SPEC = {"fact": "sales", "measures": ["revenue", "buyers"], "rows": ["region", "category"],
        "columns": ["order_month"], "subtotals": True, "totals": True, "date_from": "2026-01-01",
        "date_to": "2026-03-31", "filters": [{"dimension": "channel", "op": "in", "values": [1, 2]}],
        "top_n": {"dimension": "region", "n": 3, "by": "revenue", "others": True}}


class _Admin:
    is_authenticated = True
    is_active = True
    is_superuser = True
    role = "admin"
    pk = 1


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgresql"])
def test_compiled_sql_matches_golden_file(engine, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    ctx = Context(engine=engine, user=_Admin(), visibility=Visibility("own", 7, (), 3, (11, 12)), pii=False)
    sql = Compiler(parse_spec(SPEC), ctx).compile().sql
    path = GOLDEN / f"pivot_{engine}.sql"
    if os.environ.get("REPORTS_UPDATE_GOLDEN"):
        path.write_text(sql + "\n")
    assert sql + "\n" == path.read_text()
    assert "2026-01-01" not in sql or engine == "duckdb"  # dates become UTC bounds on the operational tables
    assert ("GROUPING SETS" in sql) == (engine != "sqlite") and ("UNION ALL" in sql) == (engine == "sqlite")


@pytest.mark.django_db
def test_hostile_filter_values_are_literals(users, demo):
    spec = {"measures": ["revenue"], "rows": ["customer_city"], "engine": "database",
            "filters": [{"dimension": "customer_city", "values": ["x' OR '1'='1", "\"; DROP TABLE commerce_order; --"]}]}
    result = run_pivot(actor=users["admin"], spec=spec, use_cache=False)
    assert result.cells == [[{"revenue": None}]] and result.rows == [{"keys": [], "labels": [], "depth": 0, "total": True}]
    from clientwise.commerce.models import Order

    assert Order.objects.exists()
