"""Page behaviours under the Content-Security-Policy: no inline handlers, so confirmations, auto-submitting filters
and the menu toggle are wired by app.js; no page logs a CSP violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


def test_confirmations_filters_and_menu_work_without_inline_scripts(live_server, page, login, org):
    from clientwise.customers.models import Customer
    from clientwise.customers.services import create_customer

    customer = create_customer(actor=org.rep_a, data={"name": "张伟"}, mobile="13812345678")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    login("admin", PASSWORD)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    archive = page.get_by_role("button", name="Archive")
    # Declining the confirmation keeps the customer…
    page.once("dialog", lambda dialog: dialog.dismiss())
    archive.click()
    page.wait_for_timeout(300)
    assert Customer.objects.get(pk=customer.pk).archived_at is None
    # …accepting it archives.
    page.once("dialog", lambda dialog: dialog.accept())
    archive.click()
    page.wait_for_load_state("networkidle")
    customer.refresh_from_db()
    assert customer.archived_at is not None

    # A filter select submits its form when changed.
    page.goto(f"{live_server.url}/service/work-orders/")
    page.select_option("#wo-status", "")
    page.wait_for_url(re.compile(r"status=(&|$)"))

    # The menu button opens the drawer on a narrow screen.
    page.set_viewport_size({"width": 800, "height": 900})
    page.locator("[data-nav-toggle]").click()
    expect(page.locator("body")).to_have_class(re.compile("cw-nav-open"))

    # The API documentation (Swagger UI, served from this site) renders under the same policy.
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info")).to_be_visible()

    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
