"""Imported history scores as of any day inside it, and every refusal of `clientwise score` is one clear line.

A year of purchases (2024) is imported today — long after it happened — through the real customers and orders
imports: the customers' rows are created on the import day, their "customer since" comes from the file. Scoring
as of the history's last day must see every customer, and scoring as of today (the nightly task) must work too.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from clientwise.analytics import services
from clientwise.analytics.models import CustomerScore, ModelRun, RunStatus, ScoringBatch
from clientwise.core.errors import DomainError

pytestmark = pytest.mark.django_db

FIRST = dt.date(2024, 1, 1)
LAST = dt.date(2024, 12, 31)  # the history's last day
CUSTOMERS = 240
CUSTOMER_HEAD = ["会员号", "姓名", "手机", "注册时间", "创建时间"]
ORDER_HEAD = ["订单号", "会员号", "门店编码", "下单时间", "商品编码", "数量", "金额"]


@pytest.fixture(autouse=True)
def analytics_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    return settings.ANALYTICS_DIR


def _history(seed: int = 7):
    """Customers registered during 2024 (some on paper long before) and their purchases up to LAST: each buys as
    a Poisson process while alive and may leave after any purchase (a BG/NBD world), so the models have
    something to find."""
    rng = np.random.default_rng(seed)
    customers, orders = [], []
    span = (LAST - FIRST).days
    for i in range(CUSTOMERS):
        member = f"M{i:04d}"
        joined = FIRST + dt.timedelta(days=int(rng.integers(0, span - 30)))
        since = joined - dt.timedelta(days=int(rng.integers(0, 400))) if i % 5 == 0 else joined
        created = f"{joined:%Y-%m-%d} 09:{i % 60:02d}"
        customers.append([member, f"客户{i}", f"139{i:08d}", since.isoformat(), created])
        rate, drop = rng.gamma(1.2, 1 / 30), rng.beta(1.0, 6.0)
        day, n = float((joined - FIRST).days), 0
        while day <= span:
            when = FIRST + dt.timedelta(days=int(day))
            n += 1
            sku = "P-1" if rng.random() < 0.6 else "P-2"
            qty = int(rng.integers(1, 4))
            amount = qty * (100 if sku == "P-1" else 20)
            orders.append([f"SO-{i}-{n}", member, "S001", f"{when:%Y-%m-%d} 1{n % 10}:00", sku, str(qty),
                           str(amount)])
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    return customers, orders


@pytest.fixture
def imported(org):
    """The history imported through the customers and orders imports (as the admin, today)."""
    from clientwise.commerce.models import Branch, Channel, Product, ProductCategory, Region, Store
    from clientwise.dataio.tests.helpers import csv_text, run

    branch = Branch.objects.create(code="SH", name="Shanghai", region=Region.objects.create(code="E", name="East"))
    store = Store.objects.create(code="S001", name="Nanjing Road", branch=branch)
    cat = ProductCategory.objects.create(code="PHONE", name="Phones")
    Product.objects.create(sku="P-1", name="Phone X", category=cat, list_price=Decimal("100.00"),
                           unit_cost=Decimal("60.00"))
    Product.objects.create(sku="P-2", name="Case", category=cat, list_price=Decimal("20.00"),
                           unit_cost=Decimal("5.00"))
    Channel.objects.create(code="store", name="Store", kind="store")
    customers, orders = _history()
    job = run(org.admin, "customers", "members.csv", csv_text([CUSTOMER_HEAD, *customers]))
    assert job.mapping["customer_since"] == "注册时间" and job.mapping["source_created_at"] == "创建时间"
    assert (job.created, job.rejected) == (CUSTOMERS, 0)
    job = run(org.admin, "orders", "orders.csv", csv_text([ORDER_HEAD, *orders]))
    assert job.rejected == 0, job.pk
    return {"customers": customers, "orders": orders, "store": store}


def test_imported_history_keeps_customer_since_and_scores_as_of_its_last_day(imported, org):
    from clientwise.customers.models import Customer

    today = timezone.localdate()
    member = imported["customers"][0]
    customer = Customer.objects.get(member_number=member[0])
    assert customer.customer_since == dt.date.fromisoformat(member[3])
    assert timezone.localtime(customer.source_created_at).date() == dt.date.fromisoformat(member[4][:10])
    assert timezone.localdate(customer.created_at) == today  # the row is new; the customer is not

    batch = services.run_scoring(as_of=LAST)
    assert batch.status == RunStatus.DONE and batch.as_of == LAST
    assert batch.customers == CUSTOMERS  # nobody dropped for having been created on the import day
    runs = {run.model: run for run in ModelRun.objects.filter(batch=batch)}
    assert runs["bgnbd"].status == RunStatus.DONE and runs["bgnbd"].metrics["customers"] > 0
    selection = runs["bgnbd"].metrics["selection"]
    assert selection["chosen"] in ("bgnbd", "mbgnbd") and set(selection["candidates"]) == {"bgnbd", "mbgnbd"}
    assert all(c["rmse"] >= 0 for c in selection["candidates"].values())
    scores = CustomerScore.objects.filter(batch=batch)
    assert scores.filter(clv__isnull=False).count() == CUSTOMERS  # everyone bought at least once
    # Tenure counts from the earlier of "customer since" and the first order, never from the import day.
    engine_rows = _features_as_of(batch, LAST)
    earliest = dt.date.fromisoformat(member[3])
    assert engine_rows[customer.pk]["tenure_days"] == (LAST - earliest).days


def _features_as_of(batch, day):
    from pathlib import Path

    from clientwise.analytics import extract, features
    from clientwise.analytics.engines import get_engine

    with get_engine("duckdb") as eng:
        eng.register(extract.Snapshot.open(Path(batch.snapshot)))
        frame = features.customer_features(eng, day).to_pandas()
    return frame.set_index("customer_id").to_dict("index")


def test_as_of_inside_the_history_sees_only_customers_who_had_started(imported):
    mid = dt.date(2024, 9, 30)
    # "Customer since" is never after the first order in this history, so it is each customer's start.
    started = sum(1 for c in imported["customers"] if dt.date.fromisoformat(c[3]) <= mid)
    batch = services.run_scoring(as_of=mid, holdout_days=90, churn_horizon_days=45)
    assert batch.status == RunStatus.DONE and batch.customers == started < CUSTOMERS


def test_early_in_the_history_the_validation_windows_shrink_to_fit(imported):
    """Two months into the history the default 180-day holdout would start before the first order: without
    chosen windows the run uses half the history for the holdout and a third for the churn horizon."""
    first = min(dt.date.fromisoformat(o[3][:10]) for o in imported["orders"])
    as_of = first + dt.timedelta(days=60)
    batch = services.run_scoring(as_of=as_of)
    assert batch.status == RunStatus.DONE
    runs = {run.model: run for run in ModelRun.objects.filter(batch=batch)}
    assert runs["bgnbd"].metrics["holdout_days"] == 30
    assert runs["churn"].status == RunStatus.FAILED or runs["churn"].parameters["horizon_days"] == 20


def test_nightly_task_scores_today_after_the_history(imported):
    from clientwise.analytics.tasks import score_customers

    batch_id = score_customers.call()
    batch = ScoringBatch.objects.get(pk=batch_id)
    assert batch.status == RunStatus.DONE and batch.as_of == timezone.localdate()
    assert batch.customers == CUSTOMERS


def _score_error(**options) -> str:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("score", stdout=out, stderr=err, **options)
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_score_refuses_with_one_line_per_error_path(imported):
    assert _score_error(as_of="2024-13-01") == "--as-of “2024-13-01” is not a date; use YYYY-MM-DD."
    future = timezone.localdate() + dt.timedelta(days=3)
    assert _score_error(as_of=future.isoformat()).startswith(f"as_of {future} is in the future")
    assert _score_error(as_of="2022-01-01").startswith("No customers had started by 2022-01-01")
    # Customers whose "customer since" is earlier than any order: they exist, but nothing was bought yet.
    first_order = min(o[3][:10] for o in imported["orders"])
    before = (dt.date.fromisoformat(first_order) - dt.timedelta(days=1)).isoformat()
    assert _score_error(as_of=before).startswith(f"No completed orders up to {before}")
    # Orders, but none before the validation cut-off the user chose.
    message = _score_error(as_of="2024-03-01", holdout_days=180)
    assert message.startswith("No purchases before 2023-09-03 (the validation cut-off: 2024-03-01 minus 180")
    assert not ScoringBatch.objects.filter(status=RunStatus.DONE).exists()
    assert set(ScoringBatch.objects.values_list("status", flat=True)) == {RunStatus.FAILED}


def test_no_customers_at_all_is_a_clear_error(org):
    with pytest.raises(DomainError) as exc:
        services.run_scoring(as_of=LAST)
    assert exc.value.field == "as_of" and exc.value.message.startswith("No customers had started by")
    assert _score_error(as_of=LAST.isoformat()).startswith("No customers had started by")


def test_a_failing_stage_is_one_line_too(imported, monkeypatch):
    from clientwise.analytics import pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("disk full\nsecond line")

    monkeypatch.setattr(pipeline, "btyd_models", boom)
    assert _score_error(as_of=LAST.isoformat()) == "Scoring failed: RuntimeError: disk full (details in the log)."
