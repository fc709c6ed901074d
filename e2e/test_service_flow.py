"""Service desk in a real browser: a call comes in → phone lookup lands on the call screen → a ticket is
created and routed (high-value customer → senior agent) → reply with a canned text → resolved → the customer
answers the survey through the public link (no sign-in) → the reports and the customer page show it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(org):
    from clientwise.customers.tests.factories import make_customer
    from clientwise.service.models import CannedReply, RoutingRule, SurveyAttribute
    from clientwise.service.tests.conftest import make_desk, set_score

    desk = make_desk(org)
    RoutingRule.objects.create(name="High value to senior agents", value_tiers="AB", queue=desk.vip,
                               senior_only=True, position=1)
    CannedReply.objects.create(title="Apology", body="We are sorry for the trouble and are on it.")
    for i, (code, name, weight) in enumerate((("quality", "Quality", "0.5"), ("service", "Service", "0.5"))):
        SurveyAttribute.objects.create(code=code, name=name, weight=weight, position=i)
    customer = make_customer(org.admin, "Wang Fang", mobile="13812345678", owner_id=org.rep_a.pk,
                             team_id=org.team_a.pk)
    set_score(customer.pk, tier="A", churn=0.2, action="call")
    return customer


def test_call_to_survey_to_report(live_server, page, login, world, browser):
    login("agent", PASSWORD)
    page.get_by_role("link", name="Service").click()
    page.wait_for_url(f"{live_server.url}/service/")
    page.fill("#lookup-phone", "138 1234 5678")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/service/call/{world.pk}/\?phone="))
    expect(page.locator("#call-nba")).to_contain_text("Next best action: Call")
    expect(page.locator("#call-tier")).to_contain_text("A")
    expect(page.locator("#call-tickets")).to_contain_text("No open tickets.")
    expect(page.locator("#call-mobile")).to_contain_text("138****5678")

    page.locator("#call-new-ticket").click()
    page.select_option("#id_type", "complaint")
    page.fill("#id_subject", "Washing machine leaks")
    page.fill("#id_description", "Water on the floor after every wash")
    page.get_by_role("button", name="Create and route").click()
    page.wait_for_url(re.compile(r"/service/tickets/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("created and routed")
    sla = page.locator("#ticket-sla")
    expect(sla).to_contain_text("High value to senior agents")
    expect(page.locator("#ticket-assignee")).to_have_text("manager_a")  # the senior agent of the VIP desk
    expect(page.locator("#ticket-customer")).to_contain_text("138****5678")  # agents without PII see it masked

    page.select_option("#canned", label="Apology")
    expect(page.locator("#id_body")).to_have_value("We are sorry for the trouble and are on it.")
    page.get_by_role("button", name="Save message").click()
    expect(page.locator("#thread")).to_contain_text("We are sorry for the trouble")
    expect(sla).to_contain_text("answered")

    page.fill("#id_resolution", "Replaced the door seal")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#ticket-badges")).to_contain_text("Resolved")
    page.get_by_role("link", name="Satisfaction survey").click()
    link = page.locator("#survey-link").input_value()

    # The customer opens the link in their own browser, without signing in.
    customer_context = browser.new_context(locale="en-US")
    survey = customer_context.new_page()
    survey.goto(link)
    expect(survey.locator("h1")).to_contain_text("How did we do?")
    survey.locator("label[for=csat-5]").click()
    survey.locator("label[for=nps-9]").click()
    survey.locator("label[for=a-quality-5]").click()
    survey.locator("label[for=a-service-4]").click()
    survey.fill("#survey-comment", "Fast and friendly")
    survey.get_by_role("button", name="Send").click()
    expect(survey.locator("#survey-thanks")).to_be_visible()
    customer_context.close()

    page.goto(f"{live_server.url}/service/reports/")
    expect(page.locator("#sat-kpis")).to_contain_text("1")
    expect(page.locator("#kpi-csat")).to_have_text("5.0")
    expect(page.locator("#repurchase-table tbody tr").nth(4)).to_contain_text("5")
    expect(page.locator("#recovery")).to_contain_text("1 complaint · 1 customer · 1 resolved · 1 complainant "
                                                      "answered the survey")
    expect(page.locator("#sv-repurchase-chart canvas").first).to_be_attached()
    expect(page.locator("#recent-answers")).to_contain_text("Fast and friendly")

    page.goto(f"{live_server.url}/customers/{world.pk}/")
    expect(page.locator("#service-last-survey")).to_contain_text("5/5")
    expect(page.locator("#service-last-survey")).to_contain_text("4.500")


@pytest.mark.parametrize("width", [1440, 820])
def test_call_screen_by_last_eight_digits_has_new_ticket_above_the_fold(live_server, browser, world, width):
    """A phone system often shows only the end of a number: the last 8 digits find the caller, and on a 1440×900
    (and an 820 px wide) screen the call screen's "New ticket" is visible without scrolling."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/service/lookup/?phone=1234+5678")
    page.wait_for_url(re.compile(rf"/service/call/{world.pk}/"))
    button = page.locator("#call-new-ticket")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, box
    expect(page.locator("#call-churn")).to_contain_text("20%")
    context.close()
