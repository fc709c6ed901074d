"""Customer analytics in a real browser: the overview's charts draw, the churn list leads to a customer whose
risk is explained in plain words, and a model page shows its validation charts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(org):
    from clientwise.analytics.tests.test_dashboards import CHURN_RUN_METRICS, build_world, make_run

    w = build_world(org)
    make_run(w.batch, "churn", CHURN_RUN_METRICS, parameters={"trees": 120, "calibration": "isotonic"})
    return w


def test_analyst_reads_the_overview_churn_list_and_a_customers_reasons(live_server, page, login, world):
    login("analyst", PASSWORD)
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(f"{live_server.url}/analytics/")
    expect(page.locator("h1")).to_contain_text("Customer analytics")
    expect(page.locator("#an-concentration")).to_contain_text("bring 50% of revenue")
    # ECharts drew each chart on a canvas.
    for chart in ("an-chart-curve", "an-chart-rfm", "an-chart-cohorts", "an-chart-channels", "an-chart-regions"):
        expect(page.locator(f"#{chart} canvas").first).to_be_attached()

    churn = page.locator("#churn-table")
    expect(churn.locator("tbody tr").first).to_contain_text("Dan Liu")
    expect(churn).to_contain_text("No purchase for 214 days")

    page.get_by_role("link", name="Filter the full list").click()
    page.wait_for_url(re.compile(r"/analytics/customers/\?sort=churn"))
    # Filtering swaps only the table (HTMX) and keeps the filter in the address.
    page.select_option("#f-tier", "B")
    expect(page.locator("#ranked-table tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"tier=B"))
    page.locator("#ranked-table").get_by_role("link", name="Carol Zhang").click()
    page.wait_for_url(re.compile(rf"/customers/{world.a3.pk}/"))

    card = page.locator("#analytics-card")
    expect(card).to_contain_text("Next best action: Call")
    expect(card.locator("#analytics-reasons li")).to_have_count(3)
    expect(card).to_contain_text("Already 3.5× their usual time between purchases")
    card.get_by_role("link", name="how these are computed").click()
    page.wait_for_url(f"{live_server.url}/analytics/models/")
    page.get_by_role("link", name="Churn risk").click()
    expect(page.locator("#an-auc")).to_contain_text("0.810")
    for chart in ("an-chart-gains", "an-chart-lift", "an-chart-calibration"):
        expect(page.locator(f"#{chart} canvas").first).to_be_attached()


def test_rfm_cell_click_lists_its_customers(live_server, page, login, world):
    login("analyst", PASSWORD)
    page.goto(f"{live_server.url}/analytics/")
    chart = page.locator("#an-chart-rfm")
    expect(chart.locator("canvas").first).to_be_attached()
    # Cell R 5 × F 5 (Alice Wang) is the top-right cell of the 5 × 5 grid: click its centre.
    box = chart.bounding_box()
    grid = page.evaluate("""() => {
        const c = echarts.getInstanceByDom(document.getElementById('an-chart-rfm'));
        return c.convertToPixel({seriesIndex: 0}, [4, 4]);
    }""")
    page.mouse.click(box["x"] + grid[0], box["y"] + grid[1])
    page.wait_for_url(re.compile(r"/analytics/customers/\?sort=churn&r=5&f=5"))
    rows = page.locator("#ranked-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Alice Wang")
