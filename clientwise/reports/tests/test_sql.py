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


@pytest.mark.parametrize(("rows", "per_line", "after"), [
    (["region", "category"], set(), {"regions", "categories"}),  # carried keys: no join per line
    (["region", "brand"], {"products"}, {"regions"}),  # brand has no key: products joined per line
    (["store", "store_city"], {"stores"}, set()),  # store city groups by the stores column itself
    (["branch", "channel", "sales_rep"], set(), {"branches", "channels", "users"}),
])
def test_snapshot_joins_only_what_each_line_needs(rows, per_line, after):
    """On the snapshot, keys the materialized sales_lines carries are read from the line and label tables are
    joined after the aggregation, on the result rows; figures are checked against SQL in test_pivot.py."""
    ctx = Context(engine="duckdb", user=_Admin(), visibility=Visibility("all"), pii=False)
    sql = Compiler(parse_spec({"measures": ["revenue", "buyers"], "rows": rows, "columns": ["order_month"]}),
                   ctx).compile().sql
    inner, _sep, outer = sql.rpartition(") AS p") if after else (sql, "", "")
    joined_inner = {t for t in ("products", "categories", "stores", "branches", "regions", "channels", "users")
                    if f"JOIN {t} AS" in inner}
    assert joined_inner == per_line
    assert {t for t in ("categories", "branches", "regions", "channels", "users") if f"JOIN {t} AS" in outer} == after
    assert "lines.month_start" in inner and "DATE_TRUNC" not in sql
