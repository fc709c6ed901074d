"""The foundation's promises, clicked through in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


def make_customer(actor, name, mobile, **data):
    from clientwise.customers.services import create_customer

    return create_customer(actor=actor, data={"name": name, **data}, mobile=mobile)


def test_admin_searches_opens_edits_and_sees_timeline_and_audit(live_server, page, login, org):
    customer = make_customer(org.rep_a, "张伟", "13812345678", occupation="Teacher")
    make_customer(org.rep_a, "李娜", "13900001111")

    login("admin", PASSWORD)
    # Search from the top bar by pinyin prefix: 张伟 is found, 李娜 is not.
    page.fill("header input[name=q]", "zhangw")
    page.press("header input[name=q]", "Enter")
    table = page.locator("#customer-table")
    expect(table.get_by_role("link", name="张伟")).to_be_visible()
    expect(table.get_by_role("link", name="李娜")).to_have_count(0)
    # The admin has the PII right: the full number shows.
    expect(table).to_contain_text("138 1234 5678")

    table.get_by_role("link", name="张伟").click()
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("h1")).to_contain_text("张伟")

    page.get_by_role("link", name="Edit").first.click()
    page.fill("input[name=occupation]", "Engineer")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.get_by_text("Engineer").first).to_be_visible()

    timeline = page.locator("#timeline-card")
    expect(timeline).to_contain_text("Profile updated")
    expect(timeline).to_contain_text("Profile updated: Occupation")  # the field in words, not its code

    # The log form is fetched when opened; a logged call lands on the timeline.
    timeline.get_by_role("button", name="Log interaction").click()
    page.locator("#log-interaction input[name=subject]").fill("回访：满意")
    page.locator("#log-interaction").get_by_role("button", name="Save to timeline").click()
    expect(page.locator("#timeline-list")).to_contain_text("回访：满意")
    # So is the add-contact form.
    page.locator("#contacts-card").get_by_role("button", name="Add").click()
    page.locator("#contact-add select[name=kind]").select_option("email")
    page.locator("#contact-add input[name=value]").fill("zhang.wei@example.com")
    page.locator("#contact-add").get_by_role("button", name="Add contact point").click()
    expect(page.locator("#contact-add input[name=value]")).to_have_count(0)  # saved: the form closed
    expect(page.locator("#contacts-card")).to_contain_text("zhang.wei@example.com")

    page.goto(f"{live_server.url}/audit/?customer={customer.pk}")
    rows = page.locator("table tbody tr")
    expect(rows.filter(has_text="Customer changed").first).to_be_visible()
    expect(rows.filter(has_text="Customer changed").first).to_contain_text("Engineer")


def test_sales_rep_sees_only_own_team_and_masked_phones(live_server, page, login, org):
    theirs = make_customer(org.rep_a, "王芳", "13812345678")
    own = make_customer(org.rep_b, "赵磊", "13698765432")

    login("rep_b", PASSWORD)
    page.goto(f"{live_server.url}/customers/")
    table = page.locator("#customer-table")
    expect(table.get_by_role("link", name="赵磊")).to_be_visible()
    expect(table.get_by_role("link", name="王芳")).to_have_count(0)
    # No PII right: the phone is masked in the list and on the customer page.
    expect(table).to_contain_text("136****5432")
    expect(table).not_to_contain_text("98765432")

    page.goto(f"{live_server.url}/customers/{own.pk}/")
    expect(page.locator("body")).to_contain_text("136****5432")
    expect(page.locator("body")).not_to_contain_text("13698765432")

    # Another team's customer answers like one that does not exist.
    response = page.goto(f"{live_server.url}/customers/{theirs.pk}/")
    assert response.status == 404
    # Searching by the other customer's exact phone finds nothing either.
    page.goto(f"{live_server.url}/customers/?q=13812345678")
    expect(page.locator("#customer-table").get_by_role("link", name="王芳")).to_have_count(0)
