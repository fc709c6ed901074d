"""Analytics API: the permission matrix of every endpoint, scores of one customer, ranked lists with filters and
cursor pages, model runs with their metrics."""

from __future__ import annotations

import pytest

from clientwise.analytics.models import ScoringBatch
from clientwise.analytics.tests.test_dashboards import (
    BGNBD_RUN_METRICS,
    CHURN_RUN_METRICS,
    build_world,
    make_run,
)
from clientwise.core.testing import assert_error, assert_permission_matrix


@pytest.fixture
def world(org):
    return build_world(org)


def names(body) -> list[str]:
    return [item["name"] for item in body["items"]]


# --- Permission matrix ------------------------------------------------------------------------------------------------


def test_customer_scores_matrix(world, api_client):
    # Scores follow the customer: anyone who may see the customer (customers.view) reads them; another team's
    # customer is a 404, exactly like one that does not exist.
    assert_permission_matrix(api_client=api_client, org=world.org, allowed=world.org.rep_a,
                             not_visible=world.org.rep_b,
                             call=lambda c: c.get(f"customers/{world.a3.pk}/scores"))


@pytest.mark.parametrize("path", ["analytics/churn-risk", "analytics/top-clv", "analytics/model-runs"])
def test_lists_matrix(world, api_client, path):
    assert_permission_matrix(api_client=api_client, org=world.org, allowed=world.org.marketer,
                             denied_roles=("norole", "rep_a", "agent"), call=lambda c: c.get(path))


def test_model_run_matrix(world, api_client):
    run = make_run(world.batch, "churn", CHURN_RUN_METRICS)
    assert_permission_matrix(api_client=api_client, org=world.org, allowed=world.org.analyst,
                             denied_roles=("norole", "rep_b"), call=lambda c: c.get(f"analytics/model-runs/{run.pk}"))


# --- Scores of one customer ---------------------------------------------------------------------------------------


def test_customer_scores_body(world, api_client):
    body = api_client(world.org.analyst).get(f"customers/{world.a3.pk}/scores").json()
    assert body["customer_id"] == world.a3.pk and body["batch_id"] == world.batch.pk
    assert body["as_of"] == world.batch.as_of.isoformat()
    assert (body["value_tier"], body["clv"], body["churn_probability"], body["risk"]) == ("B", "1500.00", 0.8, "high")
    assert [r["text"] for r in body["churn_reasons"]] == [
        "No purchase for 214 days", "Already 3.5× their usual time between purchases", "Lives in a rural area"]
    assert body["churn_reasons"][0] == {"feature": "days_since_last", "text": "No purchase for 214 days",
                                        "contribution": 0.8}
    assert (body["rfm_segment"], body["rfm_r"], body["next_action"]) == ("at_risk", 2, "call")

    a1 = api_client(world.org.analyst).get(f"customers/{world.a1.pk}/scores").json()
    assert a1["next_action"] == "nurture"
    assert a1["immediate_value"] == "420.00"
    assert a1["next_purchase_categories"] == [{"category": "CAT-A", "name": "Shampoo",
                                               "date": a1["next_purchase_categories"][0]["date"]}]
    assert a1["recommendations"][0]["product_id"] == world.product.pk
    # Margin needs orders.view_costs: a sales rep gets null.
    assert api_client(world.org.rep_a).get(f"customers/{world.a1.pk}/scores").json()["immediate_value"] is None


def test_customer_scores_404_when_not_scored(world, api_client):
    ScoringBatch.objects.update(is_current=False)
    assert_error(api_client(world.org.analyst).get(f"customers/{world.a1.pk}/scores"), 404, "not_found")
    assert_error(api_client(world.org.analyst).get("customers/999999/scores"), 404, "not_found")


# --- Ranked lists ------------------------------------------------------------------------------------------------


def test_churn_risk_ranked_with_cursor_pages(world, api_client):
    client = api_client(world.org.analyst)
    first = client.get("analytics/churn-risk", {"size": 2}).json()
    assert first["as_of"] == world.batch.as_of.isoformat()
    assert names(first) == ["Dan Liu", "Carol Zhang"]
    item = first["items"][1]
    assert item["owner"] == "rep_a" and item["owner_id"] == world.org.rep_a.pk
    assert item["team_id"] == world.org.team_a.pk
    assert (item["value_tier"], item["churn_probability"], item["next_action"]) == ("B", 0.8, "call")
    second = client.get("analytics/churn-risk", {"size": 2, "cursor": first["next_cursor"]}).json()
    assert names(second) == ["Eve Chen", "Bob Li"]
    third = client.get("analytics/churn-risk", {"size": 2, "cursor": second["next_cursor"]}).json()
    assert names(third) == ["Alice Wang"] and third["next_cursor"] is None
    assert names(client.get("analytics/churn-risk", {"size": 2, "cursor": third["prev_cursor"]}).json()) == [
        "Eve Chen", "Bob Li"]


def test_ranked_filters(world, api_client):
    client = api_client(world.org.analyst)
    org = world.org
    assert names(client.get("analytics/churn-risk", {"tier": "B"}).json()) == ["Carol Zhang", "Bob Li"]
    assert names(client.get("analytics/churn-risk", {"min_probability": 0.6}).json()) == [
        "Dan Liu", "Carol Zhang", "Eve Chen"]
    assert names(client.get("analytics/churn-risk", {"owner": org.rep_b.pk}).json()) == ["Eve Chen"]
    assert names(client.get("analytics/churn-risk", {"team": org.team_b.pk}).json()) == ["Eve Chen"]
    assert names(client.get("analytics/churn-risk", {"segment": "lost"}).json()) == ["Dan Liu"]
    assert names(client.get("analytics/top-clv", {"tier": "B"}).json()) == ["Bob Li", "Carol Zhang"]
    assert names(client.get("analytics/top-clv", {"team": org.region.pk}).json()) == [
        "Alice Wang", "Bob Li", "Carol Zhang", "Eve Chen", "Dan Liu"]


def test_ranked_lists_are_scoped(world, api_client):
    body = api_client(world.org.manager_a).get("analytics/top-clv").json()
    assert names(body) == ["Alice Wang", "Bob Li", "Carol Zhang", "Dan Liu"]
    assert names(api_client(world.org.manager_a).get("analytics/churn-risk",
                                                     {"owner": world.org.rep_b.pk}).json()) == []


def test_ranked_lists_reject_bad_input(world, api_client):
    client = api_client(world.org.analyst)
    assert_error(client.get("analytics/churn-risk", {"cursor": "bogus"}), 400, "invalid_cursor")
    assert_error(client.get("analytics/churn-risk", {"min_probability": 2}), 422, "invalid")
    assert_error(client.get("analytics/top-clv", {"tier": "Z"}), 422, "invalid")
    assert_error(client.get("analytics/top-clv", {"size": 0}), 422, "invalid")


def test_ranked_lists_before_any_scoring(org, api_client):
    body = api_client(org.analyst).get("analytics/churn-risk").json()
    assert body == {"as_of": None, "items": [], "next_cursor": None, "prev_cursor": None}


# --- Model runs ------------------------------------------------------------------------------------------------------


def test_model_runs_list_and_detail(world, api_client):
    churn = make_run(world.batch, "churn", CHURN_RUN_METRICS, parameters={"trees": 120})
    bgnbd = make_run(world.batch, "bgnbd", BGNBD_RUN_METRICS, parameters={"r": 0.243})
    old = make_run(world.old_batch, "churn", {"auc": 0.7})
    client = api_client(world.org.analyst)
    body = client.get("analytics/model-runs").json()
    assert [r["id"] for r in body["items"]] == [old.pk, bgnbd.pk, churn.pk]
    assert [r["is_current"] for r in body["items"]] == [False, True, True]
    only = client.get("analytics/model-runs", {"model": "churn", "size": 1}).json()
    assert [r["id"] for r in only["items"]] == [old.pk]
    more = client.get("analytics/model-runs", {"model": "churn", "size": 1, "cursor": only["next_cursor"]}).json()
    assert [r["id"] for r in more["items"]] == [churn.pk]

    detail = client.get(f"analytics/model-runs/{churn.pk}").json()
    assert detail["model"] == "churn" and detail["parameters"] == {"trees": 120}
    assert detail["metrics"]["auc"] == 0.81 and detail["metrics"]["gains"][0]["captured"] == 0.24
    assert_error(client.get("analytics/model-runs/999999"), 404, "not_found")
    assert_error(client.get("analytics/model-runs", {"model": "astrology"}), 400, "invalid")
