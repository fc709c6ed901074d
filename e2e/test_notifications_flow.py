"""The notification centre in a browser under the Content-Security-Policy: a mention in a ticket note lights the
bell of the colleague named, who opens the list, marks one read (the row and the badge change without a reload),
opens another (it goes to the ticket), and marks the rest read."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


def test_bell_list_mark_read_and_open(live_server, page, login, org):
    from django.urls import reverse

    from clientwise.notifications import kinds
    from clientwise.notifications.services import Target, notify

    reverse("core:home")  # load the URLconf (and the API's imports) before the browser's first request waits on it
    for i in range(3):
        notify([org.rep_a], kinds.SLA_BREACH, {"number": f"T000000{i}", "subject": "冰箱", "clock": "resolution",
                                              "due": "2026-12-07T02:00:00+00:00"},
               Target("service.ticket", i, "/service/"), dedupe_key="resolution_breach")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    login("rep_a", PASSWORD)
    badge = page.locator("#cw-bell [data-unread]")
    expect(badge).to_have_text("3")
    page.locator("#cw-bell").click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    expect(page.locator("li[id^=notification-]")).to_have_count(3)
    page.get_by_role("button", name="Mark read").first.click()
    expect(badge).to_have_text("2")  # swapped out of band by the same response, no reload
    expect(page.get_by_role("button", name="Mark read")).to_have_count(2)
    page.get_by_role("button", name=re.compile("Ticket T0000001")).click()
    page.wait_for_url(f"{live_server.url}/service/")
    expect(page.locator("#cw-bell [data-unread]")).to_have_text("1")
    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#cw-bell [data-unread]")).to_have_count(0)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
