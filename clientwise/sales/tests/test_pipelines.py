"""Pipeline editor: rename, reorder, add and remove stages through the service, the API and the settings page;
stages with deals are kept, a stage keeps its kind, and nothing is half-written after a refusal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clientwise.core.errors import PermissionDenied, ValidationFailed
from clientwise.sales import services
from clientwise.sales.models import Opportunity, Pipeline, Stage

pytestmark = pytest.mark.django_db


def rows(pipeline):
    return [(s.name, s.position, s.probability, s.kind) for s in Stage.objects.filter(pipeline=pipeline)
            .order_by("position")]


def as_input(pipeline):
    return [{"id": s.pk, "name": s.name, "probability": s.probability, "kind": s.kind}
            for s in pipeline.stages.order_by("position")]


@pytest.fixture
def pipeline(org):
    return services.create_pipeline(actor=org.admin, name="Projects", stages=[
        {"name": "Survey", "probability": 10}, {"name": "Design", "probability": 30},
        {"name": "Bid", "probability": 50}, {"name": "Contract", "kind": "won"}, {"name": "Gone", "kind": "lost"}])


def test_rename_reorder_add_and_remove(org, pipeline):
    stages = as_input(pipeline)
    survey, design, bid, won, lost = stages
    new = [dict(bid, probability=55), dict(survey, name="Site survey"), {"name": "Visit", "probability": 20},
           won, lost]  # design left out: removed
    services.update_pipeline(actor=org.admin, pipeline_id=pipeline.pk, name="Projects (B2B)", stages=new)
    pipeline.refresh_from_db()
    assert pipeline.name == "Projects (B2B)"
    assert rows(pipeline) == [("Bid", 0, 55, "open"), ("Site survey", 1, 10, "open"), ("Visit", 2, 20, "open"),
                              ("Contract", 3, 100, "won"), ("Gone", 4, 0, "lost")]
    assert Stage.objects.filter(pk=bid["id"], position=0).exists()  # the same rows, not copies
    assert not Stage.objects.filter(pk=design["id"]).exists()


def test_refusals_change_nothing(org, pipeline, make_opp):
    stages = as_input(pipeline)
    opp = make_opp(actor=org.rep_a, pipeline_id=pipeline.pk)
    in_use = next(s for s in stages if s["id"] == opp.stage_id)
    before = rows(pipeline)
    cases = [
        ([s for s in stages if s["id"] != in_use["id"]], "cannot be removed"),
        ([dict(stages[0], kind="won"), *stages[1:]], "needs open stages, one won"),
        ([dict(stages[1], kind="won"), stages[0], *stages[2:3], dict(stages[3], kind="open"), stages[4]],
         "keeps its kind"),
        ([*stages[:3], {"id": 999999, "name": "X", "probability": 5}, *stages[3:]], "not a stage of this pipeline"),
        ([*stages[:3], {"name": "survey", "probability": 5}, *stages[3:]], "same name"),
        ([dict(stages[0], probability=101), *stages[1:]], "0 to 100"),
    ]
    for new, message in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.update_pipeline(actor=org.admin, pipeline_id=pipeline.pk, name="Projects", stages=new)
        assert any(message in str(e.message) for e in exc.value.errors), (message, exc.value.errors)
        assert rows(pipeline) == before
    services.create_pipeline(actor=org.admin, name="Other", stages=[{"name": "A"}, {"name": "W", "kind": "won"},
                                                                    {"name": "L", "kind": "lost"}])
    with pytest.raises(ValidationFailed):
        services.update_pipeline(actor=org.admin, pipeline_id=pipeline.pk, name="Other", stages=stages)
    with pytest.raises(PermissionDenied):
        services.update_pipeline(actor=org.rep_a, pipeline_id=pipeline.pk, name="Mine", stages=stages)
    assert Pipeline.objects.get(pk=pipeline.pk).name == "Projects" and rows(pipeline) == before
    assert Opportunity.objects.get(pk=opp.pk).stage_id == in_use["id"]


def test_api_patch(org, api_client, pipeline):
    stages = as_input(pipeline)
    body = {"name": "Projects", "stages": [stages[2], stages[0], stages[1], stages[3], stages[4]]}
    r = api_client(org.admin).patch(f"pipelines/{pipeline.pk}", body)
    assert r.status_code == 200, r.content
    assert [s["name"] for s in r.json()["stages"]] == ["Bid", "Survey", "Design", "Contract", "Gone"]
    assert api_client(org.rep_a).patch(f"pipelines/{pipeline.pk}", body).status_code == 403
    bad = api_client(org.admin).patch(f"pipelines/{pipeline.pk}", {"name": "Projects", "stages": stages[:3]})
    assert bad.status_code == 422 and bad.json()["code"]


def test_settings_page_edits_and_creates(org, web_client, pipeline):
    c = web_client(org.admin)
    page = c.get(reverse("sales:settings")).content.decode()
    assert f'action="{reverse("sales:pipeline_save", args=[pipeline.pk])}"' in page
    stages = list(pipeline.stages.order_by("position"))
    post = {"name": "Projects", "stage_id": [str(s.pk) for s in stages] + ["", ""],
            "stage_name": [s.name for s in stages] + ["Negotiation", ""],
            "stage_probability": ["10", "30", "50", "100", "0", "70", ""],
            "stage_position": ["2", "1", "3", "4", "5", "", ""],
            "stage_kind": [s.kind for s in stages] + ["open", "open"], "stage_remove": [str(stages[2].pk)]}
    r = c.post(reverse("sales:pipeline_save", args=[pipeline.pk]), post)
    assert r.status_code == 302
    assert [n for n, *_r in rows(pipeline)] == ["Design", "Survey", "Negotiation", "Contract", "Gone"]
    r = c.post(reverse("sales:settings_action", args=["pipeline"]), {
        "name": "Service contracts", "open_stages": "需求确认，20\nQuote, 60%\n", "won_name": "签约", "lost_name": "流失"})
    assert r.status_code == 302
    created = Pipeline.objects.get(name="Service contracts")
    assert rows(created) == [("需求确认", 0, 20, "open"), ("Quote", 1, 60, "open"), ("签约", 2, 100, "won"),
                             ("流失", 3, 0, "lost")]
    bad = c.post(reverse("sales:settings_action", args=["pipeline"]), {
        "name": "Broken", "open_stages": "No probability here", "won_name": "W", "lost_name": "L"}, follow=True)
    assert not Pipeline.objects.filter(name="Broken").exists()
    assert "0 to 100" in bad.content.decode()


def test_reordering_keeps_the_funnel_true(org, pipeline, make_opp):
    from clientwise.sales import queries

    survey, design, bid, won, lost = as_input(pipeline)
    opp = make_opp(actor=org.rep_a, pipeline_id=pipeline.pk)
    services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=design["id"])  # reached design
    other = make_opp(actor=org.rep_a, pipeline_id=pipeline.pk)  # still in survey
    services.update_pipeline(actor=org.admin, pipeline_id=pipeline.pk, name="Projects",
                             stages=[design, bid, survey, won, lost])  # survey is now the third stage
    opp.refresh_from_db(), other.refresh_from_db()
    assert (opp.furthest_position, other.furthest_position) == (2, 2)  # both have been in survey, now position 2
    funnel = queries.funnel(org.admin, Pipeline.objects.get(pk=pipeline.pk))
    reached = {row["stage"].name: row["reached"] for row in funnel["stages"]}
    assert reached["Design"] == 2 and reached["Survey"] == 2
