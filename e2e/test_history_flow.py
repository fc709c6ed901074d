"""A company's first week, in a real browser: upload a year of history (customers with their "customer since",
then the orders), score it from the analytics page as of the day the history ends, and read the customer's
scores, reasons and next purchase on the 360 page."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


def _write(path, head, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([head, *rows])


def _import(page, live_server, kind: str, path):
    page.goto(f"{live_server.url}/data/imports/new/")
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", str(path))
    page.fill("input[name=source]", "pos-history")
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(re.compile(r"/data/imports/\d+/mapping/$"))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url(re.compile(r"/preview/$"))
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_url(re.compile(r"/data/imports/\d+/$"))
    expect(page.locator("#import-progress")).to_contain_text("100%")


def test_a_year_of_history_is_imported_scored_as_of_its_end_and_read_on_the_customer_page(
        live_server, page, login, org, tmp_path, settings):
    from clientwise.analytics.tests.test_history import CUSTOMER_HEAD, LAST, ORDER_HEAD, _history
    from clientwise.commerce.models import Branch, Order, Product, ProductCategory, Region, Store
    from clientwise.customers.models import Customer

    settings.VAR_DIR = tmp_path
    settings.ANALYTICS_DIR = tmp_path / "analytics"
    branch = Branch.objects.create(code="SH", name="Shanghai", region=Region.objects.create(code="E", name="East"))
    Store.objects.create(code="S001", name="Nanjing Road", branch=branch)
    cat = ProductCategory.objects.create(code="PHONE", name="Phones")
    Product.objects.create(sku="P-1", name="Phone X", category=cat, list_price=Decimal("100.00"))
    Product.objects.create(sku="P-2", name="Case", category=cat, list_price=Decimal("20.00"))
    customers, orders = _history()
    _write(tmp_path / "members.csv", CUSTOMER_HEAD, customers)
    _write(tmp_path / "orders.csv", ORDER_HEAD, orders)

    login("admin", PASSWORD)
    _import(page, live_server, "customers", tmp_path / "members.csv")
    _import(page, live_server, "orders", tmp_path / "orders.csv")
    assert Customer.objects.count() == len(customers) and Order.objects.count() == len({o[0] for o in orders})

    # The analytics page proposes the day the history ends, and scoring runs as of it.
    page.goto(f"{live_server.url}/analytics/")
    newest = max(o[3][:10] for o in orders)
    expect(page.locator("#an-as-of-empty")).to_have_value(newest)
    expect(page.locator("#an-history-hint")).to_contain_text(newest)
    page.get_by_role("button", name="Run scoring now").click()
    page.wait_for_url(re.compile(r"/analytics/$"))
    expect(page.get_by_text(f"Scores as of {newest}")).to_be_visible(timeout=120_000)

    # A loyal buyer: several purchases up to the end of the history.
    counts: dict[str, int] = {}
    for o in orders:
        counts[o[1]] = counts.get(o[1], 0) + 1
    member = max(counts, key=counts.get)
    customer = Customer.objects.get(member_number=member)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    card = page.locator("#analytics-card")
    expect(card).to_contain_text(f"as of {newest}")
    expect(page.locator("#analytics-churn")).to_contain_text("%")
    expect(card.locator("#analytics-reasons li").first).to_be_visible()
    expect(card).not_to_contain_text("No estimate: fewer than two purchases")
    assert LAST.isoformat() >= newest
    # The next purchase is read as of the scoring day, like the rest of the card (not counted from today).
    overdue = re.search(r"overdue by (\d+) day", card.inner_text())
    assert overdue is None or int(overdue.group(1)) <= 365, overdue.group(0)
    # "Customer since" comes from the file, not the import day.
    since = next(row[3] for row in customers if row[0] == member)
    expect(page.locator("#customer-since")).to_have_text(since)
