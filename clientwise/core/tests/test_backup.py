"""Backups restore: every row of every table and the kept files come back, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from clientwise.core import backup


@pytest.fixture
def world(org, settings, tmp_path):
    """A few customers with an order and a ticket attachment on disk."""
    from clientwise.commerce import services as commerce_services
    from clientwise.commerce.tests.factories import ProductFactory, StoreFactory
    from clientwise.customers.services import create_customer

    settings.VAR_DIR = tmp_path / "var"
    attachments = settings.VAR_DIR / "service" / "attachments" / "2026" / "12"
    attachments.mkdir(parents=True)
    (attachments / "receipt.pdf").write_bytes(b"%PDF-1.4 receipt")
    customers = [create_customer(actor=org.admin, data={"name": f"客户{i}"}, mobile=f"1380000{i:04d}")
                 for i in range(5)]
    store = StoreFactory(code="SH1")
    product = ProductFactory(sku="P1", list_price=Decimal("10.00"))
    commerce_services.create_order(actor=org.admin, customer_id=customers[0].pk, store_id=store.pk,
                                   lines=[{"product_id": product.pk, "quantity": 2}], number="SO-1")
    return customers


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        return backup._count_all(cursor, backup._tables())


def _wipe_customer_data():
    from clientwise.commerce.models import Order
    from clientwise.customers.models import Customer

    for order in Order.objects.all():
        order.lines.all().delete()
        order.delete()
    Customer.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_brings_back_every_row_and_file(world, tmp_path, settings):
    from clientwise.customers.models import Customer

    before = _counts()
    result = backup.backup(tmp_path / "backups")
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["tables"] == before and manifest["engine"] == connection.vendor
    assert result.files == 1 and manifest["migrations"]

    _wipe_customer_data()
    (settings.VAR_DIR / "service" / "attachments" / "2026" / "12" / "receipt.pdf").unlink()
    assert _counts() != before

    restored = backup.restore(result.path)
    assert restored.mismatches == {}
    assert _counts() == before
    assert sorted(Customer.objects.values_list("name", flat=True)) == [f"客户{i}" for i in range(5)]
    assert (settings.VAR_DIR / "service" / "attachments" / "2026" / "12" / "receipt.pdf").read_bytes() == \
        b"%PDF-1.4 receipt"


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_with_customers_unless_forced(world, tmp_path):
    result = backup.backup(tmp_path / "backups")
    with pytest.raises(CommandError, match="already holds customers"):
        call_command("restore", str(result.path))
    call_command("restore", str(result.path), "--force")


@pytest.mark.django_db
def test_commands_answer_bad_input_in_one_line(tmp_path):
    with pytest.raises(CommandError, match="is not a Clientwise backup"):
        call_command("restore", str(tmp_path))
    fake = tmp_path / "clientwise-x"
    fake.mkdir()
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    (fake / "manifest.json").write_text(json.dumps({"engine": other, "tables": {}}))
    with pytest.raises(CommandError, match=f"This is a {other} backup"):
        call_command("restore", str(fake))
