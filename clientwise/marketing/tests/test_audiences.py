"""Audiences: a rule compiled through the report compiler gives exactly the customers a plain Python reading of
the same world gives (the oracle), cut to the reader's scope; fixed lists from the customer list, a score list and
an upload; the audited, masked export."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clientwise.core.errors import PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.marketing import queries, services
from clientwise.marketing.models import Audience

# Indexes into world.customers (甲一 … 乙四); see conftest.world.
ALL = set(range(8))
CASES = [
    ({"filters": [{"dimension": "customer_city", "op": "in", "values": ["上海"]}]}, {0, 1, 4, 7}),
    ({"filters": [{"dimension": "customer_urban_rural", "op": "not_in", "values": ["rural"]}]}, {0, 3, 5, 7}),
    ({"filters": [{"dimension": "value_tier", "op": "in", "values": ["A"]}]}, {0, 4}),
    ({"filters": [{"dimension": "rfm_segment", "op": "in", "values": ["at_risk"]}]}, {1, 3, 5, 7}),
    ({"tags_any": "VIP"}, {0, 2, 5}),
    ({"tags_none": "VIP"}, ALL - {0, 2, 5}),
    ({"consent": ["sms"]}, {0, 1, 4, 6, 7}),
    ({"consent": ["sms", "email"]}, {1, 7}),
    ({"bought": {"categories": "shoes", "within_days": 30}}, {0, 5}),
    ({"bought": {"categories": "shoes", "within_days": 365}}, {0, 1, 5}),
    ({"bought": {"categories": "shoes", "within_days": 30, "negate": True}}, ALL - {0, 5}),
    ({"bought": {"products": "bar", "within_days": 30}}, {4}),
    ({"numbers": [{"field": "churn_probability", "op": "gte", "value": 0.5}]}, {5, 6, 7}),
    ({"numbers": [{"field": "clv", "op": "lte", "value": 200}]}, {0, 1, 2}),
    ({"numbers": [{"field": "orders", "op": "gte", "value": 1}]}, {0, 1, 4, 5}),
    ({"numbers": [{"field": "revenue", "op": "gte", "value": 100}]}, {0, 1, 5}),
    ({"numbers": [{"field": "days_since_last_order", "op": "gte", "value": 30}]}, {1}),
    ({"numbers": [{"field": "days_since_last_order", "op": "lte", "value": 7}]}, {4, 5}),
    ({"filters": [{"dimension": "customer_city", "op": "in", "values": ["上海"]}], "consent": ["sms"],
      "tags_none": "VIP"}, {1, 4, 7}),
]


def _resolve(rule: dict, world, org) -> dict:
    from clientwise.customers.models import Tag

    rule = {**rule}
    for key in ("tags_any", "tags_none"):
        if isinstance(rule.get(key), str):
            rule[key] = [Tag.objects.get(name=rule[key]).pk]
    if "bought" in rule:
        b = dict(rule["bought"])
        if isinstance(b.get("categories"), str):
            b["categories"] = [getattr(world, b["categories"]).pk]
        if isinstance(b.get("products"), str):
            b["products"] = [getattr(world, b["products"]).pk]
        rule["bought"] = b
    return rule


def _members(user, rule) -> set[int]:
    sql = queries.audience_query(user, rule=rule)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql)
        return {row[0] for row in cur.fetchall()}


@pytest.mark.parametrize(("rule", "expected"), CASES)
def test_rule_selects_what_the_oracle_says(world, org, rule, expected):
    rule = _resolve(rule, world, org)
    ids = {world.customers[i].pk for i in expected}
    assert _members(org.marketer, rule) == ids
    assert queries.audience_count(org.marketer, rule=rule) == len(ids)
    # A manager sees team A's customers (甲*, indexes 0-3) only.
    team_a = {world.customers[i].pk for i in expected if i < 4}
    assert _members(org.manager_a, rule) == team_a


def test_rule_is_refused_for_those_without_marketing(world, org):
    with pytest.raises(PermissionDenied):
        queries.audience_count(org.rep_a, rule={"consent": ["sms"]})


@pytest.mark.parametrize(("rule", "field"), [
    ({"filters": [{"dimension": "nope", "values": ["x"]}]}, "rule.filters"),
    ({"filters": [{"dimension": "order_month", "values": ["2026-01-01"]}]}, "rule.filters"),
    ({"numbers": [{"field": "height", "op": "gte", "value": 1}]}, "rule.numbers.0.field"),
    ({"bought": {"within_days": 30}}, "rule.bought"),
    ({"consent": ["pigeon"]}, "rule.consent.0"),
    ({"colour": "red"}, "rule.colour"),
    ({}, "rule"),
    ("text", "rule"),
])
def test_bad_rules_are_named(world, org, rule, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_audience(actor=org.marketer, name="x", rule=rule)
    assert exc.value.code == "invalid_audience_rule"
    assert exc.value.field == field
    assert not Audience.objects.exists()


def test_create_and_update_a_dynamic_audience(world, org):
    a = services.create_audience(actor=org.marketer, name="上海短信", rule={"consent": ["sms"], "filters": [
        {"dimension": "customer_city", "op": "in", "values": ["上海"]}]})
    assert a.kind == "dynamic" and queries.audience_count(org.marketer, audience=a) == 4
    services.update_audience(actor=org.marketer, audience_id=a.pk, data={"rule": {"consent": ["sms"]}})
    a.refresh_from_db()
    assert queries.audience_count(org.marketer, audience=a) == 5
    assert AuditLog.objects.filter(action__in=["audience.create", "audience.update"]).count() == 2
    with pytest.raises(PermissionDenied):
        services.create_audience(actor=org.analyst, name="x", rule={"consent": ["sms"]})


def test_save_the_customer_list_filter_as_a_fixed_list(world, org):
    from clientwise.customers.filters import CustomerListParams

    params = CustomerListParams(city="上海")
    mine = services.audience_from_customer_list(actor=org.manager_a, name="list", params=params)
    assert mine.kind == "static" and mine.origin == "customer_list"
    assert set(queries.audience_customers(org.manager_a, mine).values_list("pk", flat=True)) == {
        world.customers[0].pk, world.customers[1].pk}
    assert mine.member_count == 2 and mine.rule == {"customer_list": {"city": "上海"}}
    everyone = services.audience_from_customer_list(actor=org.marketer, name="all", params=params)
    assert everyone.member_count == 4
    # The manager reads the marketer's list through their own scope.
    assert queries.audience_count(org.manager_a, audience=everyone) == 2


def test_save_an_rfm_cell_as_a_fixed_list(world, org):
    from clientwise.analytics.schemas import ScoreListParams

    a = services.audience_from_scores(actor=org.marketer, name="R1F1", params=ScoreListParams(r=1, f=1))
    # i with 1 + i % 5 == 1 and 1 + (2 i) % 5 == 1: i = 0, 5.
    assert set(queries.audience_customers(org.marketer, a).values_list("pk", flat=True)) == {
        world.customers[0].pk, world.customers[5].pk}
    assert a.rule == {"scores": {"r": 1, "f": 1}}


def test_upload_finds_customers_by_id_phone_external_id_and_member_number(world, org):
    from clientwise.customers.models import Customer

    c = world.customers
    Customer.objects.filter(pk=c[2].pk).update(external_id="POS-77", source="pos")
    Customer.objects.filter(pk=c[3].pk).update(member_number="M-0004")
    text = f"客户\n{c[0].pk}\n138 0000 0002\nPOS-77\nM-0004\n+86 138-0000-0006\nnobody\n99999999\n{c[0].pk}\n"
    upload = SimpleUploadedFile("list.csv", text.encode("gb18030"))
    result = services.audience_from_upload(actor=org.manager_a, name="upload", upload=upload)
    # 乙二 (+8613800000006) belongs to team B: the manager may not put it on a list.
    assert set(queries.audience_customers(org.manager_a, result.audience).values_list("pk", flat=True)) == {
        c[0].pk, c[1].pk, c[2].pk, c[3].pk}
    assert result.rows == 8 and result.matched == 4
    assert result.unmatched == ["+86 138-0000-0006", "nobody", "99999999"]


def test_upload_refuses_an_empty_file(world, org):
    with pytest.raises(ValidationFailed) as exc:
        services.audience_from_upload(actor=org.marketer, name="x", upload=io.BytesIO(b"\n\n"))
    assert exc.value.field == "file"


def test_export_is_masked_audited_and_scoped(world, org):
    a = services.create_audience(actor=org.marketer, name="sms", rule={"consent": ["sms"]})
    export = services.export_audience(actor=org.marketer, audience_id=a.pk, fmt="csv")
    text = "".join(export.chunks)
    assert export.count == 5 and export.masked
    assert "13800000001" not in text and "138****0001" in text
    row = AuditLog.objects.get(action="export.audience")
    assert row.actor == org.marketer and row.detail == {"audience": a.pk, "format": "csv", "count": 5,
                                                        "masked": True}
    full = services.export_audience(actor=org.manager_a, audience_id=a.pk, fmt="csv")
    text = "".join(full.chunks)
    assert full.count == 2 and "+8613800000001" in text  # managers see PII, and only team A
    with pytest.raises(PermissionDenied):
        services.export_audience(actor=org.rep_a, audience_id=a.pk, fmt="csv")
    assert AuditLog.objects.filter(action="export.audience").count() == 2
