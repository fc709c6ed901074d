"""Reports in a real browser: build a pivot (buttons and drag and drop), drill from a cell down to its order lines,
save it, export it (audited), and open the role dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def business(transactional_db, settings, tmp_path):
    from clientwise.demo.catalog import DEMO_PASSWORD
    from clientwise.demo.generator import generate

    settings.ANALYTICS_DIR = tmp_path / "analytics"  # no snapshot: reports run on the live database
    generate(customers=80, seed=5, history_days=200, future_days=0, reset=True)
    return DEMO_PASSWORD


def test_build_drill_save_export_and_dashboard(live_server, page, login, business):
    from clientwise.core.models import AuditLog

    login("analyst", business)
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url(f"{live_server.url}/reports/")
    result = page.locator("#rp-result")
    expect(result.locator(".rp-table")).to_be_visible()
    expect(page.locator("#rp-rows")).to_contain_text("Region")

    # Keyboard-friendly buttons, then drag and drop.
    page.get_by_role("button", name="Add to rows: Category").click()
    page.locator("#rp-dimensions .rp-chip[data-dim=order_quarter]").drag_to(page.locator("#rp-columns"))
    expect(page.locator("#rp-columns")).to_contain_text("Order date · quarter")
    expect(result.locator("thead")).to_contain_text("Category")
    expect(result.locator("thead")).to_contain_text(re.compile(r"\d{4} Q\d"))
    page.get_by_label("Margin", exact=True).check()
    expect(result.locator("thead")).to_contain_text("Margin")
    expect(result.locator(".rp-chart canvas").first).to_be_attached()

    # Drill down from a cell to the order lines behind it, each with its own amount.
    cell = result.locator("td[data-r='0'][role=button]").first
    cell.click()
    drill = page.locator("#rp-drill")
    expect(drill).to_contain_text("Order lines behind this figure")
    expect(drill.locator("thead")).to_contain_text("Line amount")
    expect(drill.locator("#rp-drill-summary")).to_contain_text(re.compile(r"\d+ order lines?, .+ in all"))
    first_order = drill.locator("tbody tr a[href*='/orders/']").first
    expect(first_order).to_be_visible()

    # Save, then export the saved report.
    page.fill("#rp-name", "Regions by category and quarter")
    page.get_by_role("button", name="Save report").click()
    page.wait_for_url(re.compile(r"/reports/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Regions by category and quarter")
    expect(page.locator("#rp-rows")).to_contain_text("Category")
    expect(page.locator("#rp-result .rp-table")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="Export XLSX").click()
    download = info.value
    assert download.suggested_filename.startswith("Regions-by-category-and-quarter") and \
        download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as fh:
        assert fh.read(2) == b"PK"
    log = AuditLog.objects.get(action="export.report")
    assert log.detail["format"] == "xlsx" and log.detail["spec"]["rows"] == ["region", "category"]
    assert log.detail["count"] > 0

    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/reports/dashboard/")
    expect(page.locator("h1")).to_contain_text("Executive")
    expect(page.locator(".rp-widget .rp-chart canvas").first).to_be_attached()
