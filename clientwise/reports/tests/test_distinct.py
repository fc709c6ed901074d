"""Distinct counts (buyers, orders) on the snapshot: sorted (cell, value) pairs in NumPy give exactly what DuckDB's
COUNT(DISTINCT) gives, for every shape of pivot, and the plain query runs where the pairs cannot be coded."""

from __future__ import annotations

import pytest

from clientwise.reports import distinct, runner
from clientwise.reports.runner import run_pivot

pytestmark = pytest.mark.django_db

SPECS = [
    {"measures": ["revenue", "buyers"], "rows": ["region", "category"], "columns": ["order_month"]},
    {"measures": ["buyers", "orders", "quantity"], "rows": ["region", "category"], "columns": ["order_quarter"],
     "subtotals": True, "totals": True},
    {"measures": ["buyers"], "rows": ["store"], "totals": True,
     "top_n": {"dimension": "store", "n": 4, "by": "buyers", "others": True}, "percent_of": "grand"},
    {"measures": ["orders", "buyers", "revenue"], "rows": ["product"], "totals": True,
     "top_n": {"dimension": "product", "n": 5, "by": "revenue", "others": False}},
    {"measures": ["buyers", "aov", "new_customers"], "rows": ["channel"], "columns": ["order_week"], "totals": True},
    {"measures": ["buyers"], "rows": ["sales_rep"], "columns": ["order_year"], "subtotals": True, "totals": True,
     "filters": [{"dimension": "channel", "op": "not_in", "values": [1]}]},
    {"measures": ["buyers", "orders"], "rows": [], "totals": True},
    {"measures": ["buyers"], "rows": ["order_day"], "date_from": "2026-06-01", "date_to": "2026-06-30"},
    {"measures": ["buyers"], "rows": ["region"], "date_from": "2030-01-01", "date_to": "2030-01-31"},  # no rows
    {"measures": ["buyers", "revenue"], "rows": ["brand"], "columns": ["order_month"], "totals": True},  # text
    {"measures": ["orders"], "rows": ["customer_city", "region"], "subtotals": True, "totals": True},
    {"measures": ["buyers"], "rows": ["store_city"], "totals": True,
     "top_n": {"dimension": "store_city", "n": 2, "by": "buyers", "others": True}},
]


def _cells(user, spec, settings, sorted_pairs: bool):
    settings.REPORTS_SORTED_DISTINCT = sorted_pairs
    result = run_pivot(actor=user, spec={"fact": "sales", "engine": "snapshot", **spec}, use_cache=False)
    return result.rows, result.columns, result.cells, result.pct


@pytest.fixture
def fills(monkeypatch):
    """How each call of distinct.fill ended: True (counted from pairs) or False (fell back to the plain query)."""
    seen: list[bool] = []
    real = distinct.fill

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(distinct, "fill", spy)
    return seen


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("username", ["admin", "rep_sh_1"])
def test_sorted_pairs_give_the_same_counts_as_duckdb(users, snapshot, settings, fills, spec, username):
    fast = _cells(users[username], spec, settings, True)
    assert fills == [True]
    plain = _cells(users[username], spec, settings, False)
    assert fast == plain
    assert any(c for row in fast[2] for c in row) or spec.get("date_from") == "2030-01-01"


@pytest.mark.parametrize("spec", SPECS[:3] + SPECS[-3:])
def test_64_bit_keys_give_the_same_counts(users, snapshot, settings, fills, monkeypatch, spec):
    monkeypatch.setattr(distinct, "NARROW_BITS", 0)  # the demo's keys fit 32 bits; a big business's do not
    fast = _cells(users["admin"], spec, settings, True)
    assert fills == [True]
    assert fast == _cells(users["admin"], spec, settings, False)


def test_long_text_axes_fall_back_to_count_distinct(users, snapshot, settings, fills, monkeypatch):
    monkeypatch.setattr(distinct, "MAX_TEXT_VALUES", 3)
    spec = {"measures": ["buyers", "revenue"], "rows": ["brand"], "columns": ["order_month"], "totals": True}
    fast = _cells(users["admin"], spec, settings, True)
    assert fills == [False]
    assert fast == _cells(users["admin"], spec, settings, False)


def test_the_plan_is_only_for_plain_distinct_counts_on_duckdb(users, snapshot):
    spec = {"fact": "sales", "measures": ["revenue", "buyers", "aov"], "rows": ["region"], "engine": "snapshot"}
    compiled, _tables = runner.compile_for(users["admin"], runner.parse_spec(spec).resolved(), "duckdb")
    assert compiled.distinct.measures == [1]  # aov divides by a distinct count: it stays in the query
    assert "COUNT(DISTINCT" not in compiled.distinct.sql.split("m1_lo")[0].rsplit("SUM", 1)[-1]
    assert "m1_lo" in compiled.distinct.sql and "v1" in compiled.distinct.pairs
    live, _t = runner.compile_for(users["admin"], runner.parse_spec({**spec, "engine": "database"}).resolved(),
                                  runner.db_engine())
    assert live.distinct is None


def test_codes_that_do_not_fit_63_bits_fall_back(monkeypatch):
    from clientwise.reports.compiler import Compiled, DistinctPlan

    plan = DistinctPlan(sql="", pairs="", measures=[0], idents=["k0", "k1"])
    compiled = Compiled(sql="", engine="duckdb", fact="sales", dims=["region", "store"], keyed=[True, True], others=[False,
                        False], measures=["buyers"], sets=[(0, 1)], distinct=plan)
    names = ["k0", "k1", "_g", "m0", "m0_lo", "m0_hi"]
    rows = [(0, 0, 0, None, 1, 2), (2**40, 2**20, 0, None, 1, 2**10)]

    def fetch(sql):
        raise AssertionError("no pairs query when the codes cannot fit")

    assert distinct.fill(fetch, compiled, names, rows) is None


def test_text_ranks_are_quoted_in_the_pairs_query():
    axis = distinct._Axis.of({"O'Brien 店", "b"}, None)
    assert axis.code("O'Brien 店") == 0 and axis.code("b") == 1 and axis.code(None) == 2
    assert "('O''Brien 店', 0)" in axis.join(3) and "pairs.d3 = t3.v" in axis.join(3)
    assert distinct._Axis.of({1, "x"}, None) is None  # mixed kinds: counted by DuckDB
