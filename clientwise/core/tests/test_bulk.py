"""core.bulk writes the rows bulk_create writes: a row inserted by BulkInsert reads back identical, column by
column as stored, to the same row inserted through the ORM; reserve_ids hands out the ids the database would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from clientwise.commerce.models import Order, OrderLine, Product, ProductCategory
from clientwise.core.audit import jsonable
from clientwise.core.bulk import BulkInsert, JsonText, inserter, reserve_ids
from clientwise.customers.models import Consent, ContactPoint, Customer, Interaction

NOW = dt.datetime(2025, 3, 1, 6, 7, 8, 123456, tzinfo=dt.UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def stored(model, pk) -> dict:
    """The row as the database holds it (every column but the id), read with a plain cursor."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [c[0] for c in cur.description]
        row = cur.fetchone()
    out = dict(zip(names, row, strict=True))
    out.pop("id")
    return out


def both(model, values: dict, differ: dict | None = None):
    """Insert the same row through bulk_create and through BulkInsert (now frozen); return both stored rows.
    `differ` gives (ORM value, BulkInsert value) for unique columns; they are dropped from the comparison."""
    differ = differ or {}
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        orm = model.objects.bulk_create([model(**values, **{k: a for k, (a, _b) in differ.items()})])[0]
        fields = (*values, *differ)
        BulkInsert(model, fields).insert([(*values.values(), *(b for _a, b in differ.values()))])
    fast_pk = model.objects.order_by("-id").values_list("id", flat=True)[0]
    assert fast_pk != orm.pk
    a, b = stored(model, orm.pk), stored(model, fast_pk)
    for name, (va, vb) in differ.items():
        column = model._meta.get_field(name).column
        assert (a.pop(column), b.pop(column)) == (va, vb)
    return a, b


@pytest.mark.django_db
def test_customer_row_reads_back_identical(org):
    values = {"name": "张伟", "name_pinyin": "zhangwei", "name_initials": "zw",
              "source": "pos", "owner_id": org.admin.pk, "team_id": None,
              "custom": {"vip": True, "生日": "1990-01-02"}, "mobile": "+8613812345678", "email": "",
              "gender": "m", "birth_date": dt.date(1990, 1, 2), "province": "上海", "city": "上海",
              "status": "active", "notes": "引号 \" 与 \\ 反斜杠"}
    orm, fast = both(Customer, values, {"member_number": ("M001", "M002"), "external_id": ("E1", "E2")})
    assert orm == fast
    assert Customer.objects.filter(member_number="M002", birth_date=dt.date(1990, 1, 2)).exists()


@pytest.mark.django_db
def test_defaults_nulls_and_encoded_json(org):
    # Only the required values given: every other column takes the model default, as Customer(...) would.
    orm, fast = both(Customer, {"name": "李娜", "custom": {}})
    assert orm == fast
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        Customer.objects.bulk_create([Customer(name="王芳", custom={"a": [1, "二"]})])
        BulkInsert(Customer, ("name", "custom")).insert([("王芳", JsonText('{"a": [1, "\\u4e8c"]}'))])
    a, b = (stored(Customer, pk) for pk in Customer.objects.filter(name="王芳").order_by("id").values_list("id", flat=True))
    assert a == b


@pytest.mark.django_db
def test_contact_consent_and_order_rows_read_back_identical(org):
    cust = Customer.objects.create(name="张伟")
    orm, fast = both(ContactPoint, {"customer_id": cust.pk, "kind": "mobile", "value": "+8613812345678",
                                    "value_normalized": "+8613812345678", "is_primary": True})
    assert orm == fast
    Consent.objects.all().delete()
    orm, fast = both(Consent, {"customer_id": cust.pk, "purpose": "marketing", "status": "granted",
                               "decided_at": NOW, "source": "import:pos"}, {"channel": ("sms", "email")})
    assert orm == fast
    cat = ProductCategory.objects.create(code="C", name="C")
    product = Product.objects.create(sku="P-1", name="P", category=cat, list_price=Decimal("100"))
    at = dt.datetime(2025, 3, 1, 10, 30, tzinfo=SHANGHAI)
    values = {"customer_id": cust.pk, "store_id": None, "channel_id": None, "ordered_at": at, "currency": "CNY",
              "subtotal": Decimal("225.00"), "discount": Decimal("5.00"), "amount": Decimal("220.00"),
              "cost": Decimal("125.50"), "line_count": 2, "source": "pos"}
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        o1 = Order.objects.bulk_create([Order(number="SO-1", external_id="SO-1", **values)])[0]
        BulkInsert(Order, ("number", "external_id", *values)).insert([("SO-2", "SO-2", *values.values())])
    o2 = Order.objects.get(number="SO-2")
    a, b = stored(Order, o1.pk), stored(Order, o2.pk)
    assert (a.pop("number"), a.pop("external_id"), b.pop("number"), b.pop("external_id")) == (
        "SO-1", "SO-1", "SO-2", "SO-2")
    assert a == b
    assert o2.ordered_at == at and o2.amount == Decimal("220.00")
    line = {"order_id": o1.pk, "customer_id": cust.pk, "product_id": product.pk, "quantity": 3,
            "unit_price": Decimal("19.90"), "discount": Decimal("0.00"), "amount": Decimal("59.70"),
            "cost": Decimal("0")}
    orm, fast = both(OrderLine, line)
    assert orm == fast


@pytest.mark.django_db
def test_values_of_other_types_go_through_the_field(org):
    """A str where an int is expected, a lazy string, a TextChoices member: converted as the field would."""
    from django.utils.translation import gettext_lazy

    cust = Customer.objects.create(name="张伟")
    orm, fast = both(Interaction, {"customer_id": str(cust.pk), "kind": Interaction.Kind.PROFILE, "direction": "",
                                   "occurred_at": dt.datetime(2025, 1, 1, 8, tzinfo=SHANGHAI), "actor_id": None,
                                   "subject": gettext_lazy("Customer created"), "body": "", "payload": {"x": 1},
                                   "ref_type": "", "ref_id": None, "source": "", "external_id": None})
    assert orm == fast


def _record_events_with_orm(events, actor):
    """record_events_bulk as it was written with bulk_create: the reference the fast one must equal."""
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    Interaction.objects.bulk_create([
        Interaction(customer_id=e["customer_id"], kind=e["kind"], direction=e.get("direction", ""),
                    occurred_at=e.get("occurred_at") or now, actor_id=actor_id, subject=(e.get("subject") or "")[:200],
                    body=e.get("body", ""), payload=jsonable(e.get("payload") or {}), ref_type=e.get("ref_type", ""),
                    ref_id=e.get("ref_id"), source=e.get("source", ""), external_id=e.get("external_id"))
        for e in events])


@pytest.mark.django_db
def test_record_events_bulk_writes_what_bulk_create_wrote(org):
    from clientwise.customers.services import record_events_bulk

    cust = Customer.objects.create(name="张伟")
    events = [
        {"customer_id": cust.pk, "kind": "purchase", "occurred_at": dt.datetime(2025, 3, 1, 10, 30, tzinfo=SHANGHAI),
         "ref_type": "order", "ref_id": 7, "subject": "Order SO-1 · ¥220.00" + "x" * 300,
         "payload": {"number": "SO-1", "amount": Decimal("220.00"), "currency": "CNY", "line_count": 2,
                     "store": "南京路", "lines": [{"sku": "P-1", "quantity": 2, "amount": Decimal("200.00")}],
                     "at": dt.datetime(2025, 3, 1, 2, 30, tzinfo=dt.UTC), "day": dt.date(2025, 3, 1),
                     "tags": ("a", "b"), "customer": cust}},
        {"customer_id": cust.pk, "kind": "profile", "subject": "Customer created", "payload": None},
        {"customer_id": cust.pk, "kind": "call", "direction": "in", "occurred_at": NOW, "subject": "回访",
         "body": "满意", "payload": {"import_job": 3, "row": 2}, "source": "pos", "external_id": "h:abc"},
    ]
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        _record_events_with_orm(events, org.admin)
        ids_orm = list(Interaction.objects.order_by("id").values_list("id", flat=True))
        events[2]["external_id"] = "h:abd"
        assert record_events_bulk(events=events, actor=org.admin) == 3
    ids_fast = list(Interaction.objects.exclude(id__in=ids_orm).order_by("id").values_list("id", flat=True))
    assert len(ids_orm) == len(ids_fast) == 3
    for a, b in zip(ids_orm, ids_fast, strict=True):
        ra, rb = stored(Interaction, a), stored(Interaction, b)
        if ra["external_id"]:
            assert (ra.pop("external_id"), rb.pop("external_id")) == ("h:abc", "h:abd")
        assert ra == rb


@pytest.mark.django_db
def test_payload_a_json_cannot_encode_fails_like_before(org):
    from clientwise.customers.services import record_events_bulk

    cust = Customer.objects.create(name="张伟")
    with pytest.raises(TypeError):
        record_events_bulk(events=[{"customer_id": cust.pk, "kind": "note", "payload": {"x": object()}}])


@pytest.mark.django_db
def test_reserve_ids_hands_out_what_the_database_would(org):
    first = Customer.objects.create(name="a")
    last = Customer.objects.create(name="b")
    last_pk = last.pk
    last.delete()  # the database never hands this id out again (AUTOINCREMENT / a sequence)
    ids = list(reserve_ids(Customer, 3))
    assert len(ids) == 3 and min(ids) > last_pk > first.pk
    assert ids == sorted(ids)
    inserter(Customer, ("id", "name")).insert([(pk, f"n{pk}") for pk in ids])
    assert list(Customer.objects.filter(pk__in=ids).order_by("id").values_list("name", flat=True)) == [
        f"n{pk}" for pk in ids]
    after = Customer.objects.create(name="c")
    assert after.pk > max(ids)
    assert list(reserve_ids(Customer, 0)) == []


def test_auto_fields_cannot_be_given():
    with pytest.raises(ValueError):
        BulkInsert(Customer, ("name", "created_at"))


@pytest.mark.django_db
def test_datetime_columns_match_the_field_for_every_kind_of_datetime():
    import warnings

    from django.db import models

    from clientwise.core.bulk import column_value

    field = models.DateTimeField()
    convert, _unchanged = column_value(field, connection)
    zones = [dt.UTC, SHANGHAI, ZoneInfo("America/New_York"), dt.timezone(dt.timedelta(hours=-3, minutes=-30))]
    values = [dt.datetime(2024, 3, 10, 6, 59, 59, tzinfo=dt.UTC) + dt.timedelta(minutes=17 * i, microseconds=7 * i)
              for i in range(200)]
    cases = [v.astimezone(z) for v in values for z in zones]
    cases += [dt.datetime(2021, 11, 7, 1, 30, fold=f, tzinfo=ZoneInfo("America/New_York")) for f in (0, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a naive datetime makes Django warn; it goes through the field itself
        cases.append(dt.datetime(2025, 1, 1, 12, 0))
        for value in cases + cases[::-1]:  # the second time from the converter's cache (fold 1 before fold 0)
            assert convert(value) == field.get_db_prep_save(value, connection), value
    assert convert(None) is None


@pytest.mark.django_db
def test_decimals_of_every_shape_read_back_identical(org):
    # On SQLite BulkInsert binds str(Decimal) itself, the text Django's adapter binds; the stored values must not
    # differ for any shape of Decimal (exponents, trailing zeros, negatives) or for a column of mixed types.
    cat = ProductCategory.objects.create(code="D", name="D")
    product = Product.objects.create(sku="P-D", name="P", category=cat, list_price=Decimal("1"))
    cust = Customer.objects.create(name="张伟")
    order = Order.objects.create(number="SO-D", customer=cust, ordered_at=NOW, line_count=1, source="pos")
    for price in (Decimal("19.90"), Decimal("1E+2"), Decimal("-0.50"), Decimal("0"), Decimal("12345678.1"), 7):
        orm, fast = both(OrderLine, {"order_id": order.pk, "customer_id": cust.pk, "product_id": product.pk,
                                     "quantity": 1, "unit_price": price, "discount": Decimal("0.00"),
                                     "amount": price, "cost": Decimal("0.5")})
        assert orm == fast, price


@pytest.mark.django_db(transaction=True)
def test_planner_statistics_follow_a_table_a_bulk_job_grew():
    """PostgreSQL: a table that grew past its statistics is ANALYZEd between batches, so the next batch's lookups
    are planned for its real size (with autovacuum off, as on this machine, it is never analysed otherwise).
    Elsewhere: nothing runs."""
    import time

    from django.db import transaction

    from clientwise.core.bulk import PlannerStatistics

    planner = PlannerStatistics(interval=0)
    if connection.vendor != "postgresql":
        assert planner.after_commit() == []
        return
    with transaction.atomic():
        ProductCategory.objects.bulk_create([ProductCategory(code=f"PS{i}", name=f"Cat {i}") for i in range(3000)])
        assert planner.after_commit() == []  # not inside a transaction
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")
    deadline = time.monotonic() + 10
    while "commerce_productcategory" not in planner.analyzed and time.monotonic() < deadline:
        planner.after_commit()
        time.sleep(0.2)
    assert "commerce_productcategory" in planner.analyzed
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'commerce_productcategory'")
        assert cur.fetchone()[0] >= 3000
    # Analysed: nothing to do until the table grows again.
    assert "commerce_productcategory" not in planner.after_commit()
