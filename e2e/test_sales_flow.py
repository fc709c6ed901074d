"""Sales in a real browser: a lead comes in, is converted, its opportunity is dragged across the kanban board
(one step with the keyboard-usable stage menu), won, and shows up in the forecast, the funnel and the
customer's timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clientwise.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


def card_in_stage(page, stage_id: int, opp_id: int):
    return page.locator(f'.sl-col[data-stage="{stage_id}"] #opp-card-{opp_id}')


def test_lead_to_won_deal_through_the_board(live_server, page, login, org):
    from django.utils import timezone

    from clientwise.sales.models import Lead, Opportunity
    from clientwise.sales.services import default_pipeline

    stages = {s.position: s.pk for s in default_pipeline().stages.all()}
    login("rep_a", PASSWORD)

    # 1. A lead, entered by hand.
    page.goto(f"{live_server.url}/sales/leads/new/")
    page.fill("#f-name", "周丽")
    page.fill("#f-company", "杭州冷链物流")
    page.fill("#f-mobile", "13600001111")
    page.fill("#f-amount", "50000")
    page.get_by_role("button", name="Save lead").click()
    page.wait_for_url(re.compile(r"/sales/leads/\d+/$"))
    lead = Lead.objects.get(company="杭州冷链物流")
    assert lead.owner == org.rep_a

    # 2. Convert: a customer (the company, with 周丽 as its contact) and an opportunity in one step.
    page.fill("#cv-name", "冷库温控项目")
    page.fill("#cv-close", timezone.localdate().isoformat())
    page.get_by_role("button", name="Convert lead").click()
    page.wait_for_url(re.compile(r"/sales/opportunities/\d+/$"))
    opp = Opportunity.objects.get(name="冷库温控项目")
    expect(page.locator("h1")).to_contain_text("冷库温控项目")

    # 3. The board: first the card's stage menu (works without a mouse), then drag and drop.
    page.goto(f"{live_server.url}/sales/board/")
    expect(card_in_stage(page, stages[0], opp.pk)).to_be_visible()
    page.select_option(f"#stage-{opp.pk}", str(stages[1]))
    page.locator(f"#opp-card-{opp.pk}").get_by_role("button", name="Move").press("Enter")
    expect(card_in_stage(page, stages[1], opp.pk)).to_be_visible()
    for position in (2, 3, 4, 5):
        target = page.locator(f'.sl-col[data-stage="{stages[position]}"] .sl-col-head')
        target.scroll_into_view_if_needed()
        page.locator(f"#opp-card-{opp.pk}").drag_to(target)
        expect(card_in_stage(page, stages[position], opp.pk)).to_be_visible()
    opp.refresh_from_db()
    assert (opp.status, opp.probability) == ("won", 100)
    assert opp.stage_visits.count() == 6

    # 4. The forecast counts it as won this month, and the funnel saw it pass every stage.
    page.goto(f"{live_server.url}/sales/forecast/")
    expect(page.locator("#kpi-won")).to_have_text("¥50,000.00")
    expect(page.locator("#forecast-reps")).to_contain_text("rep_a")
    funnel = page.locator("#funnel-table tbody tr")
    expect(funnel).to_have_count(6)
    for i in range(6):
        expect(funnel.nth(i).locator("td").nth(1)).to_have_text("1")
    expect(page.locator("#sl-funnel-chart canvas")).to_have_count(1)

    # 5. The customer's timeline tells the story: converted from a lead, opened, moved, won.
    page.goto(f"{live_server.url}/customers/{opp.customer_id}/")
    timeline = page.locator("#timeline-card")
    expect(timeline).to_contain_text("Opportunity won: 冷库温控项目")
    expect(timeline).to_contain_text("Converted from lead")
    expect(page.locator("#sales-card")).to_contain_text("1 won")


def test_pipeline_editor_renames_reorders_and_adds_stages(live_server, page, login, org):
    from clientwise.sales.models import Stage
    from clientwise.sales.services import default_pipeline

    pipeline = default_pipeline()
    first, second = list(pipeline.stages.order_by("position"))[:2]
    login("admin", PASSWORD)
    page.goto(f"{live_server.url}/sales/settings/")
    editor = page.locator(f'form.pipeline-editor[data-pipeline="{pipeline.pk}"]')
    editor.get_by_label(f"Order of {second.name}").fill("0")  # the second stage comes first
    name_inputs = editor.locator('input[name="stage_name"]')
    name_inputs.nth(0).fill("First contact")
    new = editor.locator("tr.new-stage").first
    new.get_by_label("New stage", exact=True).fill("Trial")
    new.get_by_label("Probability of the new stage", exact=True).fill("70")
    editor.get_by_role("button", name="Save pipeline").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved")
    names = [s.name for s in Stage.objects.filter(pipeline=pipeline).order_by("position")]
    assert names[:2] == [second.name, "First contact"]
    assert "Trial" in names and Stage.objects.get(pipeline=pipeline, name="Trial").probability == 70
    page.goto(f"{live_server.url}/sales/board/")
    expect(page.locator(".sl-col").first).to_contain_text(second.name)
    expect(page.locator(".sl-col", has_text="Trial")).to_have_count(1)
