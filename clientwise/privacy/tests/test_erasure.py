"""Erasure: the person's data is gone from every table and file, the accounting facts of their orders stay,
nobody else's data changes, and the request, audit log and timeline say what happened."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.core.models import AuditLog
from clientwise.privacy import services
from clientwise.privacy.models import SubjectRequest
from clientwise.privacy.tests.conftest import PERSON_TEXTS

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def person_texts_in_database() -> list[tuple[str, int, str, str]]:
    """Every (model, pk, field, text) where any of the person's values is still stored, in every model of every
    installed app."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        for row in model.objects.values_list("pk", *[f.attname for f in fields]).iterator():
            for f, value in zip(fields, row[1:], strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes | memoryview):
                    text = bytes(value).decode("utf-8", "replace")
                    with contextlib.suppress(ValueError):
                        text = json.dumps(json.loads(text), ensure_ascii=False)
                elif isinstance(value, str):
                    text = value
                else:
                    text = json.dumps(value, ensure_ascii=False, default=str)
                for needle in PERSON_TEXTS:
                    if needle in text or needle.replace(" ", "") in text.replace(" ", ""):
                        found.append((model._meta.label, row[0], f.name, needle))
    return found


def erase(world, org, capture):
    req = services.create_request(actor=org.admin, customer_id=world.person.pk, kind="erasure")
    with capture(execute=True):
        services.erase_personal_data(actor=org.admin, request_id=req.pk, confirm=str(world.person.pk))
    req.refresh_from_db()
    return req


def test_the_world_holds_the_person_everywhere_before(world):
    where = {m for m, *_ in person_texts_in_database()}
    # The check below is only worth something if the fixture really spread the person over the apps.
    assert {"customers.Customer", "customers.ContactPoint", "customers.Interaction", "core.AuditLog", "sales.Lead",
            "sales.Opportunity", "sales.Note", "service.Ticket", "service.TicketMessage", "service.WorkOrder",
            "service.Survey", "commerce.Return", "dataio.QuarantinedRow", "identity.MergeRecord",
            "accounts.IdempotencyKey", "notifications.Notification"} <= where, where


def test_erasure_leaves_no_personal_data_in_any_table(world, org, django_capture_on_commit_callbacks):
    req = erase(world, org, django_capture_on_commit_callbacks)
    assert req.status == "done" and req.file_status == "done", (req.status, req.file_status, req.file_report)
    assert person_texts_in_database() == []
    assert req.file_work == {}


def test_erasure_keeps_the_orders_accounting_facts(world, org, django_capture_on_commit_callbacks):
    from clientwise.commerce.models import Order, OrderLine

    before = list(Order.objects.filter(pk__in=world.order_ids).order_by("pk").values(
        "number", "customer_id", "store_id", "channel_id", "ordered_at", "amount", "subtotal", "discount", "cost",
        "line_count"))
    lines = list(OrderLine.objects.filter(order_id__in=world.order_ids).order_by("pk").values(
        "product_id", "quantity", "unit_price", "amount"))
    revenue, count = world.person.revenue, world.person.order_count
    req = erase(world, org, django_capture_on_commit_callbacks)
    assert list(Order.objects.filter(pk__in=world.order_ids).order_by("pk").values(
        "number", "customer_id", "store_id", "channel_id", "ordered_at", "amount", "subtotal", "discount", "cost",
        "line_count")) == before
    assert list(OrderLine.objects.filter(order_id__in=world.order_ids).order_by("pk").values(
        "product_id", "quantity", "unit_price", "amount")) == lines
    world.person.refresh_from_db()
    assert (world.person.revenue, world.person.order_count) == (revenue, count)
    assert world.person.name == f"#{world.person.pk}" and world.person.archived_at is not None
    assert req.result["kept"] == {"orders": 2, "orders_amount": str(world.order_total)}


def test_erasure_touches_nobody_else(world, org, django_capture_on_commit_callbacks):
    from clientwise.analytics.models import CustomerScore
    from clientwise.customers.models import ContactPoint

    erase(world, org, django_capture_on_commit_callbacks)
    world.other.refresh_from_db()
    assert world.other.name == "李四" and world.other.mobile and world.other.archived_at is None
    assert ContactPoint.objects.filter(customer=world.other).count() == 2
    assert CustomerScore.objects.filter(customer=world.other).exists()


def test_erasure_cleans_the_files(world, org, django_capture_on_commit_callbacks):
    import pyarrow.parquet as pq

    from clientwise.dataio import readers

    assert world.attachment_path.exists()
    req = erase(world, org, django_capture_on_commit_callbacks)
    assert not world.attachment_path.exists()
    headers, rows = readers.open_rows(world.import_job.file, "csv")
    rows = list(rows)
    assert [n for n, _r in rows] == [2, 4]  # the person's row 3 is blank (skipped), the numbers stay
    assert [r["姓名"] for _n, r in rows] == ["王五", "赵六"]
    assert "13812345678" not in Path(world.import_job.file).read_text(encoding="utf-8")
    assert pq.read_table(world.snapshot / "customers.parquet").column("id").to_pylist() == [world.other.pk]
    assert pq.read_table(world.snapshot / "churn_features.parquet").column("customer_id").to_pylist() == \
        [world.other.pk]
    assert pq.read_table(world.oof).column("id").to_pylist() == ["M0000000777"]
    assert req.file_report["files_deleted"] == 1 and req.file_report["snapshot_rows_removed"] == 2
    assert req.file_report["stored_responses_erased"] == 1


def test_erasure_is_recorded(world, org, django_capture_on_commit_callbacks):
    from clientwise.customers.models import Consent, Interaction

    req = erase(world, org, django_capture_on_commit_callbacks)
    entry = AuditLog.objects.get(action="privacy.erase")
    assert entry.actor == org.admin and entry.customer_id == world.person.pk
    assert entry.detail["counts"]["customers.contact_points_deleted"] >= 3
    assert set(entry.detail["customer_ids"]) == {world.person.pk, world.dup.pk}
    assert AuditLog.objects.filter(action="privacy.erase_files", customer_id=world.person.pk).exists()
    assert Interaction.objects.filter(customer=world.person, kind="profile",
                                      subject__contains=f"#{req.pk}").exists()
    # Every channel and purpose is withdrawn, for the record merged in too.
    assert not Consent.objects.filter(customer_id__in=[world.person.pk, world.dup.pk]).exclude(
        status="withdrawn").exists()
    assert Consent.objects.filter(customer=world.person).count() == 24


def test_erasure_needs_the_typed_customer_number(world, org):
    req = services.create_request(actor=org.admin, customer_id=world.person.pk, kind="erasure")
    with pytest.raises(ValidationFailed) as err:
        services.erase_personal_data(actor=org.admin, request_id=req.pk, confirm="yes")
    assert err.value.code == "confirmation_mismatch" and err.value.field == "confirm"
    world.person.refresh_from_db()
    assert world.person.name == "张三丰"
    assert SubjectRequest.objects.get(pk=req.pk).status == "open"


def test_erasure_happens_once(world, org, django_capture_on_commit_callbacks):
    req = erase(world, org, django_capture_on_commit_callbacks)
    with pytest.raises(DomainError) as err:
        services.erase_personal_data(actor=org.admin, request_id=req.pk, confirm=str(world.person.pk))
    assert err.value.status == 409 and err.value.code == "request_closed"


def test_only_erasure_requests_erase(world, org):
    req = services.create_request(actor=org.admin, customer_id=world.person.pk, kind="access")
    with pytest.raises(DomainError) as err:
        services.erase_personal_data(actor=org.admin, request_id=req.pk, confirm=str(world.person.pk))
    assert err.value.code == "wrong_request_kind"


@pytest.mark.parametrize("role", ["manager_a", "rep_a", "agent", "marketer", "analyst", "norole"])
def test_only_privacy_managers_erase(world, org, role):
    req = services.create_request(actor=org.admin, customer_id=world.person.pk, kind="erasure")
    audit_rows = AuditLog.objects.count()
    with pytest.raises((PermissionDenied, NotFound)):
        services.erase_personal_data(actor=getattr(org, role), request_id=req.pk, confirm=str(world.person.pk))
    world.person.refresh_from_db()
    assert world.person.name == "张三丰" and AuditLog.objects.count() == audit_rows
