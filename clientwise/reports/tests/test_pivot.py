"""Pivot results against plain SQL on the same data, on both engines: the operational database and DuckDB over the
analytics snapshot. Totals, filters, top-N with Others, percent of total, every date grain, comparisons,
visibility per role and PII masking."""

from __future__ import annotations

import datetime as dt

import pytest

from clientwise.core import masking
from clientwise.core.errors import DomainError, PermissionDenied, ValidationFailed
from clientwise.reports import runner
from clientwise.reports.runner import run_pivot
from clientwise.reports.tests.conftest import aggregate, cells_by_labels, line_rows, period

pytestmark = pytest.mark.django_db
BLANK = "(blank)"
NO_STORE = "Online / no store"  # an order placed in no store has no region: named, not blank (commerce/measures.py)


def region_of(r: dict) -> str:
    return r["region"] or (NO_STORE if r["store_id"] is None else BLANK)
ENGINES = ["database", "snapshot"]


def _run(user, engine, **spec):
    spec.setdefault("fact", "sales")
    return run_pivot(actor=user, spec={**spec, "engine": engine}, use_cache=False)


def _close(a, b):
    assert a == pytest.approx(b, abs=0.011), (a, b)


@pytest.mark.parametrize("engine", ENGINES)
def test_region_by_category_with_subtotals_and_totals_matches_sql(users, snapshot, engine):
    result = _run(users["admin"], engine, measures=["revenue", "buyers", "orders", "quantity"],
                  rows=["region", "category"], subtotals=True, totals=True)
    assert result.engine == ("duckdb" if engine == "snapshot" else runner.db_engine())
    assert (result.snapshot_at is not None) == (engine == "snapshot")
    rows = line_rows()
    leaf = aggregate(rows, lambda r: (region_of(r), r["category"] or BLANK))
    by_region = aggregate(rows, lambda r: region_of(r))
    grand = aggregate(rows, lambda r: "all")["all"]
    got = cells_by_labels(result)
    leaves = {k[0]: v for k, v in got.items() if len(k[0]) == 2}
    assert set(leaves) == set(leaf)
    for key, exp in leaf.items():
        for m in ("revenue", "buyers", "orders", "quantity"):
            _close(leaves[key][m], exp[m])
    subtotal_rows = [r for r in result.rows if r["total"] and r["depth"] == 1]
    assert {tuple(r["labels"]) for r in subtotal_rows} == {(k,) for k in by_region}
    for key, exp in by_region.items():
        cell = got[((key,), ())]
        _close(cell["revenue"], exp["revenue"])
        assert cell["buyers"] == exp["buyers"]  # distinct over the region, not a sum of the categories
    total = got[((), ())]
    assert result.rows[-1] == {"keys": [], "labels": [], "depth": 0, "total": True}
    _close(total["revenue"], grand["revenue"])
    assert total["buyers"] == grand["buyers"] and total["orders"] == grand["orders"]
    # Subtotals come right after their group's categories.
    first_region = result.rows[0]["labels"][0]
    idx = next(i for i, r in enumerate(result.rows) if r["total"] and r["labels"] == [first_region])
    assert all(r["labels"][0] == first_region for r in result.rows[:idx])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("grain", ["day", "week", "month", "quarter", "year"])
def test_each_date_grain_matches_sql(users, snapshot, engine, grain):
    result = _run(users["admin"], engine, measures=["revenue", "buyers"], rows=[f"order_{grain}"], totals=False)
    expected = aggregate(line_rows(), lambda r: period(r["day"], grain))
    got = {tuple(r["keys"]): c for r, c in zip(result.rows, result.cells, strict=True)}
    assert set(got) == {(k,) for k in expected}
    for key, exp in expected.items():
        _close(got[(key,)][0]["revenue"], exp["revenue"])
        assert got[(key,)][0]["buyers"] == exp["buyers"]
    keys = [r["keys"][0] for r in result.rows]
    assert keys == sorted(keys)  # chronological
    label = result.rows[0]["labels"][0]
    day = dt.date.fromisoformat(keys[0])
    assert label == runner.date_label(keys[0], grain)
    if grain == "quarter":
        assert label == f"{day.year} Q{(day.month - 1) // 3 + 1}"


@pytest.mark.parametrize("engine", ENGINES)
def test_columns_by_month_and_filters_and_date_range(users, snapshot, engine):
    rows = line_rows()
    channel = sorted({r["channel_id"] for r in rows if r["channel_id"]})[0]
    start, end = dt.date(2026, 1, 1), dt.date(2026, 3, 31)
    result = _run(users["admin"], engine, measures=["revenue", "buyers"], rows=["region"], columns=["order_month"],
                  filters=[{"dimension": "channel", "op": "in", "values": [channel]}],
                  date_from=start.isoformat(), date_to=end.isoformat(), totals=True)
    kept = [r for r in rows if r["channel_id"] == channel and start <= r["day"] <= end]
    expected = aggregate(kept, lambda r: (region_of(r), period(r["day"], "month")))
    got = {(tuple(r["labels"]), tuple(c["keys"])): cell for r, cells in zip(result.rows, result.cells, strict=True)
           for c, cell in zip(result.columns, cells, strict=True) if cell}
    leaf = {(k[0][0], k[1][0]): v for k, v in got.items() if k[0] and k[1]}
    assert set(leaf) == set(expected)
    for key, exp in expected.items():
        _close(leaf[key]["revenue"], exp["revenue"])
        assert leaf[key]["buyers"] == exp["buyers"]
    assert [c["keys"] for c in result.columns] == [["2026-01-01"], ["2026-02-01"], ["2026-03-01"], []]
    col_totals = aggregate(kept, lambda r: period(r["day"], "month"))
    for month, exp in col_totals.items():
        assert got[((), (month,))]["buyers"] == exp["buyers"]

    excluded = _run(users["admin"], engine, measures=["revenue"], rows=[],
                    filters=[{"dimension": "channel", "op": "not_in", "values": [channel]}])
    _close(excluded.cells[0][0]["revenue"], round(sum(r["amount"] for r in rows if r["channel_id"] != channel), 2))


@pytest.mark.parametrize("engine", ENGINES)
def test_top_n_with_others_and_percent_of_total(users, snapshot, engine):
    result = _run(users["admin"], engine, measures=["revenue", "buyers"], rows=["store"], totals=True,
                  top_n={"dimension": "store", "n": 3, "by": "revenue", "others": True},
                  sort={"by": "revenue", "desc": True}, percent_of="grand")
    rows = line_rows()
    per_store = aggregate(rows, lambda r: r["store_id"])
    top = sorted((k for k in per_store if k is not None), key=lambda k: -per_store[k]["revenue"])[:3]
    assert [r["keys"][0] for r in result.rows[:3]] == top  # ranked by revenue, highest first
    assert result.rows[3]["labels"] == ["Others"] and result.rows[3]["keys"] == [runner.OTHERS_KEY]
    others = [r for r in rows if r["store_id"] not in top]
    _close(result.cells[3][0]["revenue"], round(sum(r["amount"] for r in others), 2))
    assert result.cells[3][0]["buyers"] == len({r["customer_id"] for r in others})
    grand = round(sum(r["amount"] for r in rows), 2)
    _close(result.cells[4][0]["revenue"], grand)
    for i in range(4):
        assert result.pct[i][0]["revenue"] == pytest.approx(result.cells[i][0]["revenue"] / grand, rel=1e-9)
    assert result.pct[4][0]["revenue"] == pytest.approx(1.0)

    dropped = _run(users["admin"], engine, measures=["revenue"], rows=["store"], totals=True,
                   top_n={"dimension": "store", "n": 3, "by": "revenue", "others": False})
    assert len(dropped.rows) == 4
    _close(dropped.cells[-1][0]["revenue"], round(sum(per_store[k]["revenue"] for k in top), 2))


def test_percent_of_row_and_column(users, snapshot):
    result = _run(users["admin"], "database", measures=["revenue"], rows=["region"], columns=["order_quarter"],
                  percent_of="row", totals=True)
    for i in range(len(result.rows)):
        total = result.cells[i][-1]["revenue"]
        for j, cell in enumerate(result.cells[i]):
            if cell:
                assert result.pct[i][j]["revenue"] == pytest.approx(cell["revenue"] / total)
    col = _run(users["admin"], "database", measures=["revenue"], rows=["region"], columns=["order_quarter"],
               percent_of="column", totals=True)
    for j in range(len(col.columns)):
        shares = [col.pct[i][j]["revenue"] for i in range(len(col.rows) - 1) if col.pct[i][j]]
        assert sum(shares) == pytest.approx(1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_compare_with_previous_year_and_previous_period(users, snapshot, engine):
    spec = {"measures": ["revenue"], "rows": ["region"], "date_from": "2026-04-01", "date_to": "2026-06-30",
            "compare": "previous_year"}
    result = _run(users["admin"], engine, **spec)
    rows = line_rows()
    prev = aggregate([r for r in rows if dt.date(2025, 4, 1) <= r["day"] <= dt.date(2025, 6, 30)],
                     lambda r: region_of(r))
    for row, p, ch, cur in zip(result.rows, result.previous, result.change, result.cells, strict=True):
        label = row["labels"][0] if row["labels"] else None
        if label is None:
            continue
        want = prev.get(label)
        if want is None:
            assert p[0] is None
            continue
        _close(p[0]["revenue"], want["revenue"])
        assert ch[0]["revenue"] == pytest.approx((cur[0]["revenue"] - want["revenue"]) / want["revenue"])
    period_result = _run(users["admin"], engine, measures=["revenue"], rows=[], date_from="2026-05-01",
                         date_to="2026-05-31", compare="previous_period")
    before = round(sum(r["amount"] for r in rows if dt.date(2026, 3, 31) <= r["day"] <= dt.date(2026, 4, 30)), 2)
    _close(period_result.previous[0][0]["revenue"], before)

    by_month = _run(users["admin"], engine, measures=["revenue"], rows=["order_month"], date_from="2026-05-01",
                    date_to="2026-06-30", compare="previous_year")
    june = next(i for i, r in enumerate(by_month.rows) if r["keys"] == ["2026-06-01"])
    last_june = round(sum(r["amount"] for r in rows if r["day"].year == 2025 and r["day"].month == 6), 2)
    assert last_june > 0
    _close(by_month.previous[june][0]["revenue"], last_june)
    with pytest.raises(ValidationFailed):
        _run(users["admin"], engine, measures=["revenue"], rows=["order_month"], date_from="2026-01-01",
             date_to="2026-06-30", compare="previous_period")


@pytest.mark.parametrize("engine", ENGINES)
def test_new_customers_and_repeat_rate(users, snapshot, engine):
    result = _run(users["admin"], engine, measures=["buyers", "new_customers", "repeat_rate"], rows=["order_month"],
                  totals=True)
    rows = line_rows()
    first: dict[int, dt.date] = {}
    for r in rows:
        first[r["customer_id"]] = min(first.get(r["customer_id"], r["day"]), r["day"])
    months: dict[str, dict] = {}
    for r in rows:
        m = months.setdefault(period(r["day"], "month"), {"buyers": set(), "new": set(), "repeat": set()})
        m["buyers"].add(r["customer_id"])
        if r["day"] == first[r["customer_id"]]:
            m["new"].add(r["customer_id"])
        if r["day"] > first[r["customer_id"]]:
            m["repeat"].add(r["customer_id"])
    for row, cells in zip(result.rows, result.cells, strict=True):
        if row["total"]:
            assert cells[0]["new_customers"] == len(first)  # every buyer is new exactly once over all time
            continue
        m = months[row["keys"][0]]
        assert cells[0]["buyers"] == len(m["buyers"])
        assert cells[0]["new_customers"] == len(m["new"])
        assert cells[0]["repeat_rate"] == pytest.approx(len(m["repeat"]) / len(m["buyers"]))


def test_cancelled_orders_are_left_out(users, snapshot):
    from clientwise.commerce.models import Order

    before = _run(users["admin"], "database", measures=["revenue", "orders"])
    order = Order.objects.order_by("id").first()
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    after = _run(users["admin"], "database", measures=["revenue", "orders"])
    assert after.cells[0][0]["orders"] == before.cells[0][0]["orders"] - 1
    _close(after.cells[0][0]["revenue"], before.cells[0][0]["revenue"] - float(order.amount))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_sales_reps_report_covers_only_their_customers(users, snapshot, engine):
    from clientwise.customers.queries import visible_customers

    for name in ("rep_sh_1", "manager_sh"):
        user = users[name]
        visible = set(visible_customers(user).filter(archived_at__isnull=True).values_list("pk", flat=True))
        assert visible
        result = _run(user, engine, measures=["revenue", "buyers", "orders"], rows=["region"], totals=True)
        rows = line_rows(visible)
        total = result.cells[-1][0]
        _close(total["revenue"], round(sum(r["amount"] for r in rows), 2))
        assert total["buyers"] == len({r["customer_id"] for r in rows})
        everyone = _run(users["admin"], engine, measures=["buyers"])
        assert total["buyers"] < everyone.cells[0][0]["buyers"]


def test_visibility_predicate_matches_visible_customers_for_every_role(users, snapshot):
    """The compiler's scope (database and snapshot) gives the same customers as customers.queries."""
    from clientwise.customers.queries import visible_customers
    from clientwise.customers.services import share_customer

    rep = users["rep_sh_1"]
    other = visible_customers(users["admin"]).exclude(owner=rep).exclude(team_id=rep.team_id).first()
    share_customer(actor=users["admin"], customer_id=other.pk, team_id=rep.team_id)
    for name, user in users.items():
        expected = visible_customers(user).filter(archived_at__isnull=True).count()
        for engine in ENGINES:
            result = run_pivot(actor=user, spec={"fact": "customers", "measures": ["customers"], "engine": engine},
                               use_cache=False)
            assert result.cells[0][0]["customers"] == expected, (name, engine)
    assert other.pk in set(visible_customers(rep).values_list("pk", flat=True))


def test_masked_dimensions_stay_masked(users, snapshot):
    from clientwise.customers.queries import visible_customers

    spec = {"fact": "customers", "measures": ["customers"], "rows": ["customer_mobile"], "totals": False}
    masked = run_pivot(actor=users["marketer"], spec=spec, use_cache=False)
    assert masked.engine != "duckdb"  # contact points are not in the snapshot
    mobiles = dict(visible_customers(users["marketer"]).filter(archived_at__isnull=True).values_list("pk", "mobile"))
    labels = {r["keys"][0]: r["labels"][0] for r in masked.rows}
    assert len(labels) == len(mobiles)
    for pk, label in labels.items():
        want = masking.mask_phone(mobiles[pk]) or "(blank)"
        assert label == want
        if mobiles[pk]:
            assert mobiles[pk] not in masked.sql and label != mobiles[pk]
    clear = run_pivot(actor=users["admin"], spec=spec, use_cache=False)
    assert {r["keys"][0]: r["labels"][0] for r in clear.rows} == {k: v or "(blank)" for k, v in mobiles.items()}
    # Filters on a masked dimension still match only by key; the masked text is never a way back to the value.
    one = next(k for k, v in mobiles.items() if v)
    filtered = run_pivot(actor=users["marketer"], spec={**spec, "filters": [
        {"dimension": "customer_mobile", "op": "in", "values": [one]}]}, use_cache=False)
    assert [r["labels"][0] for r in filtered.rows] == [masking.mask_phone(mobiles[one])]


def test_rights_on_fields(users, snapshot):
    with pytest.raises(PermissionDenied):
        _run(users["marketer"], "database", measures=["margin"])
    assert _run(users["analyst"], "database", measures=["margin"]).cells[0][0]["margin"] > 0
    with pytest.raises(PermissionDenied):
        run_pivot(actor=users["rep_sh_1"], spec={"fact": "customers", "measures": ["churn_risk"]})
    with pytest.raises(DomainError):
        _run(users["admin"], "database", measures=["customers"])  # a measure of another fact
    with pytest.raises(DomainError):
        _run(users["admin"], "database", measures=["revenue"], rows=["customer_since_month"])


def test_auto_engine_and_snapshot_requirements(users, demo, settings):
    spec = {"measures": ["revenue"], "rows": ["region"]}
    assert run_pivot(actor=users["admin"], spec=spec, use_cache=False).engine == runner.db_engine()
    with pytest.raises(DomainError):
        run_pivot(actor=users["admin"], spec={**spec, "engine": "snapshot"}, use_cache=False)
    from clientwise.analytics.extract import extract_snapshot

    extract_snapshot()
    assert run_pivot(actor=users["admin"], spec=spec, use_cache=False).engine == "duckdb"
    assert run_pivot(actor=users["admin"], spec={**spec, "rows": ["customer"]}, use_cache=False).engine != "duckdb"
    settings.REPORTS_ENGINE = "database"
    assert run_pivot(actor=users["admin"], spec=spec, use_cache=False).engine == runner.db_engine()


def test_results_are_cached_per_scope(users, snapshot):
    spec = {"measures": ["revenue"], "rows": ["region"], "engine": "snapshot"}
    first = run_pivot(actor=users["admin"], spec=spec)
    second = run_pivot(actor=users["admin"], spec=spec)
    assert not first.cached and second.cached and second.cells == first.cells
    rep = run_pivot(actor=users["rep_sh_1"], spec=spec)
    assert not rep.cached and rep.cells != first.cells


@pytest.mark.parametrize("dims", [["sales_rep"], ["promoter"], ["channel", "store_city"], ["brand", "model"],
                                  ["network"], ["customer_city", "customer_urban_rural"], ["customer_owner"],
                                  ["branch", "customer_team"], ["product"]])
def test_both_engines_give_the_same_figures_for_every_dimension(users, snapshot, dims):
    spec = {"measures": ["revenue", "buyers", "orders", "quantity"], "rows": dims, "totals": True}
    live = _run(users["admin"], "database", **spec)
    snap = _run(users["admin"], "snapshot", **spec)
    assert live.engine != "duckdb" and snap.engine == "duckdb"
    assert [r["labels"] for r in live.rows] == [r["labels"] for r in snap.rows]
    for a, b in zip(live.cells, snap.cells, strict=True):
        _close(a[0]["revenue"], b[0]["revenue"])
        assert (a[0]["buyers"], a[0]["orders"], a[0]["quantity"]) == (b[0]["buyers"], b[0]["orders"], b[0]["quantity"])


def test_network_type_comes_from_product_attributes(users, snapshot):
    from clientwise.commerce.models import OrderLine

    result = _run(users["admin"], "database", measures=["quantity"], rows=["network"], totals=False)
    expected: dict = {}
    for attrs, qty in OrderLine.objects.filter(order__status="completed").values_list("product__attributes",
                                                                                     "quantity"):
        key = (attrs or {}).get("network") or BLANK
        expected[key] = expected.get(key, 0) + qty
    assert {r["labels"][0]: c[0]["quantity"] for r, c in zip(result.rows, result.cells, strict=True)} == expected
    assert {"4G", "5G"} <= set(expected)


def test_custom_attribute_dimensions(users, snapshot):
    from clientwise.customers.models import Customer
    from clientwise.customers.services import define_attribute

    define_attribute(actor=users["admin"], key="club", label="Club", type="text")
    buyers = list(Customer.objects.filter(stats__order_count__gt=0).order_by("id").values_list("pk", flat=True)[:5])
    Customer.objects.filter(pk__in=buyers).update(custom={"club": "gold"})
    result = run_pivot(actor=users["admin"], spec={"measures": ["buyers"], "rows": ["custom.club"]}, use_cache=False)
    assert result.engine != "duckdb"  # custom attributes are read live
    got = {r["labels"][0]: c[0]["buyers"] for r, c in zip(result.rows, result.cells, strict=True) if not r["total"]}
    assert got["gold"] == 5
