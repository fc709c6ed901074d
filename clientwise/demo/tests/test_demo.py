"""The demo generator: deterministic, internally consistent, with a held-out future and real structure."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Max, Min, Sum

from clientwise.accounts.models import User
from clientwise.commerce.models import Order, OrderLine, Return, ReturnLine
from clientwise.core.normalize import pinyin_keys
from clientwise.customers.models import Consent, ContactPoint, Customer, CustomerShare, Interaction
from clientwise.customers.queries import visible_customers
from clientwise.demo import catalog as C
from clientwise.demo.generator import DemoDataExists, generate
from clientwise.demo.models import CustomerTruth, DemoRun

NOW = dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC)  # midnight 2026-07-01 in Shanghai
N = 300


def run(seed: int = 7, **kw):
    return generate(customers=N, seed=seed, now=NOW, chunk_size=kw.pop("chunk_size", 120), **kw)


def fingerprint() -> dict[str, list]:
    """The generated business without database ids (users get new ids on every run)."""
    return {
        "customers": list(Customer.objects.order_by("id").values_list(
            "name", "name_pinyin", "kind", "mobile", "email", "member_number", "birth_date", "city", "status",
            "owner__username", "team__name", "stats__order_count", "stats__revenue", "stats__first_order_at",
            "organization__name")),
        "orders": list(Order.objects.order_by("id").values_list(
            "number", "customer__name", "ordered_at", "amount", "cost", "channel__code", "store__code",
            "sales_rep__username", "promoter__name")),
        "lines": list(OrderLine.objects.order_by("id").values_list("order__number", "product__sku", "quantity",
                                                                   "unit_price", "discount", "amount")),
        "truth": list(CustomerTruth.objects.order_by("customer_id").values_list(
            "purchase_rate", "dropout_prob", "dropped_at", "future_orders", "future_revenue", "is_duplicate")),
        "timeline": list(Interaction.objects.order_by("id").values_list("kind", "occurred_at", "subject")),
    }


@pytest.fixture
def demo(db):
    return run()


def test_same_seed_gives_the_same_business_and_another_seed_does_not(demo):
    first = fingerprint()
    assert len(first["customers"]) == N
    run(reset=True)
    assert fingerprint() == first
    run(seed=8, reset=True)
    other = fingerprint()
    assert len(other["customers"]) == N
    assert other["customers"] != first["customers"]
    assert other["orders"] != first["orders"]


def test_chunking_does_not_change_totals_per_chunk_seed(db):
    """Chunks are seeded (seed, chunk number): a run is reproducible for the same chunk size."""
    result = run(chunk_size=300)
    assert result.customers == N and Customer.objects.count() == N
    assert DemoRun.objects.get().orders == Order.objects.count() == result.orders


def test_refuses_to_load_twice_without_reset(demo):
    counts = (Customer.objects.count(), Order.objects.count(), User.objects.count())
    with pytest.raises(DemoDataExists) as exc:
        run()
    assert exc.value.code == "conflict" and "--reset" in exc.value.message
    assert (Customer.objects.count(), Order.objects.count(), User.objects.count()) == counts
    assert DemoRun.objects.count() == 1


def test_reset_removes_everything_the_previous_run_made(demo):
    users_before = set(User.objects.values_list("username", flat=True))
    result = run(seed=9, reset=True)
    assert Customer.objects.count() == N
    assert DemoRun.objects.count() == 1 and DemoRun.objects.get().seed == 9
    assert set(User.objects.values_list("username", flat=True)) == users_before
    assert Order.objects.count() == result.orders
    assert CustomerTruth.objects.count() == N


def test_customer_totals_equal_their_orders_minus_returns(demo):
    orders = {r["customer_id"]: r for r in Order.objects.values("customer_id").annotate(
        n=Count("id"), amount=Sum("amount"), first=Min("ordered_at"), last=Max("ordered_at"))}
    returns = dict(Return.objects.values("customer_id").annotate(a=Sum("amount")).values_list("customer_id", "a"))
    assert returns, "some orders are returned"
    checked = 0
    for c in Customer.objects.all():
        o = orders.get(c.pk)
        if o is None:
            assert (c.order_count, c.revenue, c.first_order_at, c.last_order_at) == (0, Decimal("0"), None, None)
            assert c.status == "prospect"
            continue
        expected = (o["amount"] - returns.get(c.pk, Decimal("0"))).quantize(Decimal("0.01"))
        assert c.order_count == o["n"]
        assert c.revenue == expected
        assert (c.first_order_at, c.last_order_at) == (o["first"], o["last"])
        checked += 1
    assert checked > N * 0.8


def test_orders_are_the_sums_of_their_lines(demo):
    lines = {r["order_id"]: r for r in OrderLine.objects.values("order_id").annotate(
        n=Count("id"), amount=Sum("amount"), cost=Sum("cost"), discount=Sum("discount"))}
    for o in Order.objects.all():
        line = lines[o.pk]
        assert (o.line_count, o.amount, o.cost, o.discount) == (
            line["n"], line["amount"].quantize(Decimal("0.01")), line["cost"].quantize(Decimal("0.01")),
            line["discount"].quantize(Decimal("0.01")))
        assert o.subtotal - o.discount == o.amount
    for line in OrderLine.objects.select_related("order")[:500]:
        assert line.amount == line.quantity * line.unit_price - line.discount
        assert line.customer_id == line.order.customer_id
    for rl in ReturnLine.objects.select_related("ret", "order_line"):
        assert rl.amount == rl.ret.amount == rl.order_line.amount
        assert rl.order_line.order_id == rl.ret.order_id
        assert rl.ret.returned_at > rl.order_line.order.ordered_at


def test_every_customer_has_truth_and_duplicates_share_a_group(demo):
    truth = {t.customer_id: t for t in CustomerTruth.objects.all()}
    assert set(truth) == set(Customer.objects.values_list("id", flat=True))
    groups = defaultdict(list)
    for t in truth.values():
        if t.dup_group is not None:
            groups[t.dup_group].append(t)
    duplicates = [t for t in truth.values() if t.is_duplicate]
    assert len(duplicates) == demo.duplicates == round(120 * 0.02) * 2 + round(60 * 0.02)
    for group, members in groups.items():
        originals = [t for t in members if not t.is_duplicate]
        assert [t.customer_id for t in originals] == [group]
        assert len(members) >= 2
    for d in duplicates:
        dup, orig = Customer.objects.get(pk=d.customer_id), Customer.objects.get(pk=d.dup_group)
        assert dup.kind == orig.kind == "person"
        assert dup.city == orig.city
        assert dup.name != orig.name or dup.mobile != orig.mobile


def test_the_future_is_held_out(demo):
    assert not Order.objects.filter(ordered_at__gte=NOW).exists()
    assert not Interaction.objects.filter(occurred_at__gte=NOW).exists()
    assert not Return.objects.filter(returned_at__gte=NOW).exists()
    future = CustomerTruth.objects.aggregate(n=Sum("future_orders"), r=Sum("future_revenue"))
    assert future["n"] == demo.future_orders > 0
    assert future["r"] > 0
    run_row = DemoRun.objects.get()
    assert (run_row.now, run_row.future_days, run_row.customers, run_row.seed) == (NOW, 180, N, 7)
    assert run_row.history_start == NOW - dt.timedelta(days=730)
    # Dropped-out customers buy nothing in the future.
    dropped = CustomerTruth.objects.filter(dropped_at__lt=NOW)
    assert dropped.exists()
    assert dropped.aggregate(n=Sum("future_orders"))["n"] == 0


def test_phone_buyers_buy_accessories_far_more_often(demo):
    baskets = defaultdict(set)
    for order_id, cat in OrderLine.objects.values_list("order_id", "product__category__code"):
        baskets[order_id].add(cat)
    with_phone = [b for b in baskets.values() if "PHONE" in b]
    without = [b for b in baskets.values() if "PHONE" not in b]
    assert len(with_phone) > 30
    share_with = sum("CASE" in b for b in with_phone) / len(with_phone)
    share_without = sum("CASE" in b for b in without) / len(without)
    assert share_with > 0.45
    assert share_with > 4 * share_without
    printers = [b for b in baskets.values() if "PRINTER" in b]
    no_printer = [b for b in baskets.values() if "PRINTER" not in b]
    ink_with = sum("INK" in b for b in printers) / len(printers)
    assert ink_with > 0.4
    assert ink_with > 3 * sum("INK" in b for b in no_printer) / len(no_printer)


def test_replenishment_customers_come_back_on_their_cycle(demo):
    habit = CustomerTruth.objects.filter(habit_category="FORMULA", dropped_at__isnull=True).values_list(
        "customer_id", flat=True)
    assert habit
    counts = Counter(OrderLine.objects.filter(customer_id__in=list(habit), product__category__code="FORMULA")
                     .values_list("customer_id", flat=True))
    # Alive formula buyers buy formula again and again (a cycle of about a month).
    assert sum(1 for n in counts.values() if n >= 3) >= len(habit) // 2


def test_contacts_are_valid_and_copied_onto_the_customer(demo):
    primary = defaultdict(dict)
    for cid, kind, value, norm in ContactPoint.objects.filter(is_primary=True).values_list(
            "customer_id", "kind", "value", "value_normalized"):
        primary[cid][kind] = (value, norm)
    mobiles = 0
    for c in Customer.objects.all():
        if c.mobile:
            mobiles += 1
            number = phonenumbers.parse(c.mobile)
            assert phonenumbers.is_valid_number(number), c.mobile
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == c.mobile
            assert c.mobile.startswith("+861")
            assert primary[c.pk]["mobile"] == (c.mobile, c.mobile)
        else:
            assert "mobile" not in primary[c.pk]
        if c.email:
            assert c.email == c.email.lower() and "@" in c.email
            assert primary[c.pk]["email"] == (c.email, c.email)
        assert (c.name_pinyin, c.name_initials) == pinyin_keys(c.name)
    assert mobiles > N * 0.85
    # Distinct people have distinct phones; only injected duplicates may share one.
    dup_ids = set(CustomerTruth.objects.filter(is_duplicate=True).values_list("customer_id", flat=True))
    phones = Counter(Customer.objects.exclude(mobile="").exclude(pk__in=dup_ids).values_list("mobile", flat=True))
    assert max(phones.values()) == 1
    assert Consent.objects.filter(channel="sms", purpose="marketing", status="withdrawn").exists()
    assert Consent.objects.filter(channel="sms", purpose="marketing").count() == mobiles


def test_every_order_is_on_the_timeline(demo):
    refs = Counter(Interaction.objects.filter(kind="purchase", ref_type="order").values_list("ref_id", flat=True))
    assert set(refs) == set(Order.objects.values_list("id", flat=True))
    assert set(refs.values()) == {1}
    assert Interaction.objects.filter(kind__in=["call", "visit", "sms", "note"]).exists()
    assert Interaction.objects.filter(kind="return").count() == Return.objects.count()


def test_organizations_have_contact_people(demo):
    orgs = Customer.objects.filter(kind="organization")
    assert orgs.exists()
    assert Customer.objects.filter(organization__kind="organization", kind="person").count() >= orgs.count()
    assert set(orgs.values_list("gender", flat=True)) == {""}


def test_every_team_has_customers_its_people_can_see(demo):
    admin = User.objects.get(username="admin")
    assert visible_customers(admin).count() == N
    reps = User.objects.filter(role="sales_rep")
    assert reps.count() == 30
    for rep in reps:
        visible = visible_customers(rep)
        shared = set(CustomerShare.objects.filter(team_id=rep.team_id).values_list("customer_id", flat=True))
        assert visible.exists(), rep.username
        assert all(c.owner_id == rep.pk or c.pk in shared for c in visible)
    manager = User.objects.get(username="manager_sh")
    seen = visible_customers(manager)
    assert seen.exists()
    assert set(seen.values_list("team__parent__name", flat=True)) == {"上海分公司"}
    assert seen.count() < N


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own foreign key check")
def test_foreign_keys_hold(demo):
    with connection.cursor() as cur:
        cur.execute("PRAGMA foreign_key_check")
        assert cur.fetchall() == []


def test_command_prints_users_and_password(db, capsys):
    from io import StringIO

    out = StringIO()
    call_command("demo", customers=40, seed=3, now="2026-07-01", quiet=True, stdout=out)
    text = out.getvalue()
    assert C.DEMO_PASSWORD in text
    assert "admin" in text and "rep_sh_1" in text and "analyst" in text
    assert Customer.objects.count() == 40
    # The data pages are not empty on a fresh demo: quality scored and the duplicate search run.
    from clientwise.dataio.identity.models import DedupRun
    from clientwise.dataio.quality.models import QualityRun

    assert QualityRun.objects.get().customers == 40 and DedupRun.objects.filter(status="done").count() == 1
    assert "candidate pairs to review" in text
    from clientwise.analytics.models import ScoringBatch

    assert ScoringBatch.objects.get(is_current=True).scores == 40
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", customers=40, seed=3, now="2026-07-01", quiet=True, stdout=StringIO())
    call_command("demo", customers=25, seed=3, now="2026-07-01", quiet=True, reset=True, stdout=StringIO())
    assert Customer.objects.count() == 25
    with pytest.raises(CommandError, match="not a date"):
        call_command("demo", customers=5, now="July", reset=True, stdout=StringIO())
