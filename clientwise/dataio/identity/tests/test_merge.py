"""The merge service: everything moves, totals are right, survivorship, unmerge, permissions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clientwise.commerce.models import Order, OrderLine, Return
from clientwise.core.errors import NotFound, PermissionDenied
from clientwise.core.models import AuditLog
from clientwise.customers.models import Consent, ContactPoint, Customer, CustomerTag, Interaction
from clientwise.dataio.identity import services
from clientwise.dataio.identity.models import DuplicateCandidate, MergedCustomer, MergeRecord


def refresh(*customers):
    return [Customer.objects.get(pk=c.pk) for c in customers]


def test_merge_moves_everything_and_recomputes_totals(org, people, pair):
    a, b = people["a"], people["b"]
    assert (a.order_count, a.revenue, b.order_count, b.revenue) == (1, Decimal("100.00"), 2, Decimal("200.00"))
    b_call = Interaction.objects.get(customer_id=b.pk, kind="call")

    record = services.merge(actor=org.admin, survivor_id=a.pk, duplicate_ids=[b.pk], candidate=pair)

    a, b = refresh(a, b)
    assert Order.objects.filter(customer_id=a.pk).count() == 3
    assert not Order.objects.filter(customer_id=b.pk).exists()
    assert set(OrderLine.objects.values_list("customer_id", flat=True)) == {a.pk}
    assert list(Return.objects.values_list("customer_id", flat=True)) == [a.pk]
    assert (a.order_count, a.revenue) == (3, Decimal("300.00"))
    assert (b.order_count, b.revenue, b.first_order_at, b.last_order_at) == (0, Decimal("0.00"), None, None)
    assert a.first_order_at == Order.objects.order_by("ordered_at").first().ordered_at
    assert b.archived_at is not None and a.archived_at is None
    # The call logged on b is now on a's timeline; both have a merge row.
    assert Interaction.objects.get(pk=b_call.pk).customer_id == a.pk
    assert Interaction.objects.filter(customer_id=a.pk, kind="merge").count() == 1
    assert Interaction.objects.filter(customer_id=b.pk, kind="merge").count() == 1
    # Contact points: b's copy of the shared mobile and its email... the shared mobile is dropped, the other
    # mobile and the other email move over as secondary contacts.
    mobiles = sorted(ContactPoint.objects.filter(customer_id=a.pk, kind="mobile").values_list(
        "value_normalized", "is_primary"))
    assert mobiles == [("+8613812345678", True), ("+8613900001111", False)]
    emails = sorted(ContactPoint.objects.filter(customer_id=a.pk, kind="email").values_list("value", "is_primary"))
    assert emails == [("zhangwei@example.com", True), ("zw@qq.com", False)]
    assert not ContactPoint.objects.filter(customer_id=b.pk).exists()
    assert a.mobile == "+8613812345678" and a.email == "zhangwei@example.com"
    # Consent: b's later "withdrawn" wins for SMS marketing; email marketing moves over.
    consents = dict(((c.channel, c.purpose), c.status) for c in Consent.objects.filter(customer_id=a.pk))
    assert consents == {("sms", "marketing"): "withdrawn", ("email", "marketing"): "granted"}
    assert not Consent.objects.filter(customer_id=b.pk).exists()
    assert list(CustomerTag.objects.filter(customer_id=a.pk).values_list("tag__name", flat=True)) == ["VIP"]
    # History: the record, the pointer, the pair, the audit rows.
    assert record.survivor_id == a.pk and record.merged_ids == [b.pk]
    assert record.moved == {"orders": 2, "returns": 1, "interactions": Interaction.objects.filter(
        pk__in=record.snapshot["interactions"][str(b.pk)]).count(), "contact_points": 2, "consents": 1}
    assert MergedCustomer.objects.get(customer_id=b.pk).survivor_id == a.pk
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "merged"
    assert AuditLog.objects.filter(action="customer.merge", customer_id=a.pk).count() == 1
    assert AuditLog.objects.filter(action="customer.merged_into", customer_id=b.pk).count() == 1


def test_survivorship_trusted_source_then_completeness(org, people):
    a, b = people["a"], people["b"]
    Customer.objects.filter(pk=a.pk).update(source="import", status="prospect")
    services.merge(actor=org.admin, survivor_id=a.pk, duplicate_ids=[b.pk])
    a, b = refresh(a, b)
    # b was typed in the CRM (trusted over an import) and is more complete: its name, birth date and occupation
    # win; status is the most active; a had no member number and takes b's.
    assert (a.name, a.name_pinyin, a.birth_date, a.occupation) == ("张玮", "zhangwei", dt.date(1990, 5, 1), "教师")
    assert a.status == "active"
    assert (a.member_number, b.member_number) == ("M001", None)


def test_undo_restores_both_customers(org, people, pair):
    a, b = people["a"], people["b"]
    before = {c.pk: (c.name, c.order_count, c.revenue, c.mobile, c.email, c.member_number, c.birth_date)
              for c in (a, b)}
    b_contacts = sorted(ContactPoint.objects.filter(customer_id=b.pk).values_list("kind", "value_normalized",
                                                                                   "is_primary"))
    record = services.merge_candidate(actor=org.admin, candidate_id=pair.pk, survivor_id=a.pk)

    services.undo_merge(actor=org.admin, merge_id=record.pk)

    a, b = refresh(a, b)
    assert {c.pk: (c.name, c.order_count, c.revenue, c.mobile, c.email, c.member_number, c.birth_date)
            for c in (a, b)} == before
    assert b.archived_at is None
    assert Order.objects.filter(customer_id=b.pk).count() == 2
    assert set(OrderLine.objects.filter(order__customer_id=b.pk).values_list("customer_id", flat=True)) == {b.pk}
    assert sorted(ContactPoint.objects.filter(customer_id=b.pk).values_list("kind", "value_normalized",
                                                                            "is_primary")) == b_contacts
    assert Consent.objects.get(customer_id=a.pk, channel="sms").status == "granted"
    assert Consent.objects.get(customer_id=b.pk, channel="sms").status == "withdrawn"
    assert Interaction.objects.filter(customer_id=b.pk, kind="call").count() == 1
    assert CustomerTag.objects.filter(customer_id=b.pk).count() == 1
    assert not MergedCustomer.objects.exists()
    assert MergeRecord.objects.get(pk=record.pk).undone_at is not None
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "pending"
    with pytest.raises(services.DomainError) as exc:
        services.undo_merge(actor=org.admin, merge_id=record.pk)
    assert exc.value.status == 409


def test_merge_denied_for_sales_rep_and_invisible_for_manager(org, people):
    a, b, c = people["a"], people["b"], people["c"]
    counts = (AuditLog.objects.count(), Interaction.objects.count(), MergeRecord.objects.count())
    with pytest.raises(PermissionDenied):
        services.merge(actor=org.rep_a, survivor_id=a.pk, duplicate_ids=[b.pk])
    with pytest.raises(NotFound):
        services.merge(actor=org.manager_a, survivor_id=a.pk, duplicate_ids=[c.pk])
    assert (AuditLog.objects.count(), Interaction.objects.count(), MergeRecord.objects.count()) == counts
    assert Order.objects.filter(customer_id=b.pk).count() == 2
    assert refresh(c)[0].archived_at is None
    # A manager merges inside the team.
    services.merge(actor=org.manager_a, survivor_id=a.pk, duplicate_ids=[b.pk])
    assert refresh(b)[0].archived_at is not None


def test_merge_rejects_self_archived_and_reject_is_final(org, people, pair):
    a, b = people["a"], people["b"]
    with pytest.raises(services.ValidationFailed):
        services.merge(actor=org.admin, survivor_id=a.pk, duplicate_ids=[a.pk])
    services.reject_candidate(actor=org.admin, candidate_id=pair.pk)
    assert DuplicateCandidate.objects.get(pk=pair.pk).status == "rejected"
    with pytest.raises(services.DomainError) as exc:
        services.merge_candidate(actor=org.admin, candidate_id=pair.pk)
    assert exc.value.status == 409
    services.merge(actor=org.admin, survivor_id=a.pk, duplicate_ids=[b.pk])
    with pytest.raises(services.DomainError) as exc:
        services.merge(actor=org.admin, survivor_id=b.pk, duplicate_ids=[a.pk])
    assert exc.value.status == 409


def test_likely_duplicates(org, people):
    a, b = people["a"], people["b"]
    found = services.likely_duplicates(name="x", mobile="138 1234 5678")
    assert [(d.customer_id, d.reasons) for d in found] == [(a.pk, ["mobile"]), (b.pk, ["mobile"])]
    found = services.likely_duplicates(name="张薇", birth_date="1990-05-01", email="ZW@qq.com")
    assert [(d.customer_id, d.reasons) for d in found] == [(b.pk, ["email", "name_birth"])]
    assert services.likely_duplicates(mobile="not a phone", email="nope", birth_date="99/99/99", name="张") == []
    # Visibility: rep_b sees neither.
    assert services.likely_duplicates(mobile="13812345678", user=org.rep_b) == []


def test_suggested_survivor_is_the_record_with_history(org, people):
    a, b = people["a"], people["b"]  # same source; b has 2 orders, a has 1
    assert services.pick_survivor(org.admin, [a.pk, b.pk]) == b.pk
    Customer.objects.filter(pk=b.pk).update(source="import")  # a trusted source outranks order history
    assert services.pick_survivor(org.admin, [a.pk, b.pk]) == a.pk
