"""Analytics pages: access (200/403/404, login redirect), HTMX partials, scope of lists and aggregates, the
customer 360 card and the run-scoring action."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.urls import reverse

from clientwise.analytics.models import ScoringBatch
from clientwise.analytics.tests.test_dashboards import (
    BGNBD_RUN_METRICS,
    CHURN_RUN_METRICS,
    build_world,
    make_run,
)

INDEX = reverse("analytics:index")
CUSTOMERS = reverse("analytics:customers")
MODELS = reverse("analytics:models")


@pytest.fixture
def world(org):
    return build_world(org)


def chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="an-data" type="application/json">') + len(
        '<script id="an-data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.parametrize("url", [INDEX, CUSTOMERS, MODELS, reverse("analytics:model", args=["churn"])])
def test_pages_need_analytics_view(url, org, client, web_client):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for user in (org.rep_a, org.agent, org.norole):
        assert web_client(user).get(url).status_code == 403
    for user in (org.analyst, org.manager_a, org.marketer, org.admin):
        assert web_client(user).get(url).status_code == 200


def test_unknown_model_or_run_is_404(world, web_client):
    c = web_client(world.org.analyst)
    assert c.get(reverse("analytics:model", args=["nonsense"])).status_code == 404
    run = make_run(world.batch, "bgnbd", BGNBD_RUN_METRICS)
    assert c.get(reverse("analytics:model", args=["churn"]), {"run": run.pk}).status_code == 404
    assert c.get(reverse("analytics:model", args=["churn"]), {"run": "x"}).status_code == 404
    assert c.get(reverse("analytics:model", args=["bgnbd"]), {"run": run.pk}).status_code == 200


def test_overview_without_scores_offers_to_run_scoring(org, web_client):
    body = web_client(org.analyst).get(INDEX).content.decode()
    assert "No customer scores yet." in body
    assert f'action="{reverse("analytics:run")}"' in body
    assert "clientwise score" in body
    # A marketer may look but not run: no button, the command is named for whoever runs it.
    body = web_client(org.marketer).get(INDEX).content.decode()
    assert "No customer scores yet." in body
    assert f'action="{reverse("analytics:run")}"' not in body


def test_overview_shows_every_section_with_the_users_figures(world, web_client):
    response = web_client(world.org.analyst).get(INDEX)
    body = response.content.decode()
    for section in ("an-concentration", "an-rfm", "an-churn", "an-cohorts", "an-channels", "an-regions"):
        assert f'id="{section}"' in body, section
    assert "bring <strong>50%</strong> of revenue" in body
    data = chart_data(response)
    assert data["curve"][1] == [0.2, 0.5]
    assert sorted(map(tuple, data["rfm"])) == [(0, 0, 1, 200.0), (0, 4, 1, 100.0), (1, 1, 1, 300.0),
                                               (2, 3, 1, 400.0), (4, 4, 1, 1000.0)]
    assert data["by_channel"] == {"labels": ["Store", "Web shop"], "customers": [3, 2],
                                  "total": [6800.0, 2100.0], "avg": [2266.67, 1050.0]}
    assert data["cohorts"]["sizes"] == [3, 2]
    # The churn list: highest risk first, with reasons in plain words.
    table = body[body.index('id="churn-table"'):]
    assert table.index("Dan Liu") < table.index("Carol Zhang") < table.index("Eve Chen") < table.index("Bob Li") < table.index("Alice Wang")
    assert "No purchase for 214 days" in table
    # The old batch's values never show.
    assert "99,999" not in body


def test_manager_sees_only_their_teams_customers_in_lists_and_aggregates(world, web_client):
    response = web_client(world.org.manager_a).get(INDEX)
    body = response.content.decode()
    assert "Eve Chen" not in body  # rep_b's customer
    data = chart_data(response)
    assert sum(row[2] for row in data["rfm"]) == 4
    assert data["by_channel"]["total"] == [6500.0, 2100.0]
    assert data["cohorts"]["sizes"] == [2, 2]
    listing = web_client(world.org.manager_a).get(CUSTOMERS, {"sort": "clv"}).content.decode()
    assert "Alice Wang" in listing and "Eve Chen" not in listing
    # Filtering by another team's owner finds nothing rather than leaking.
    assert "Eve Chen" not in web_client(world.org.manager_a).get(CUSTOMERS, {"owner": world.org.rep_b.pk}).content.decode()


def test_customers_list_filters_sort_and_htmx_partial(world, web_client):
    c = web_client(world.org.analyst)
    full = c.get(CUSTOMERS, {"sort": "churn", "tier": "B"})
    body = full.content.decode()
    assert "<html" in body and 'id="ranked-table"' in body
    assert "Carol Zhang" in body and "Bob Li" in body and "Alice Wang" not in body

    partial = c.get(CUSTOMERS, {"sort": "clv", "r": "5"}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert "<html" not in html
    assert html.index("Alice Wang") < html.index("Eve Chen")
    assert "Carol Zhang" not in html
    # A bad filter value in the address bar is dropped, not an error.
    assert c.get(CUSTOMERS, {"tier": "Z", "min_probability": "lots", "cursor": "garbage"}).status_code == 200


def test_overview_churn_list_pages_with_htmx(world, web_client, monkeypatch):
    from clientwise.analytics import views

    monkeypatch.setattr(views, "OVERVIEW_LIST_SIZE", 2)
    c = web_client(world.org.analyst)
    first = c.get(INDEX).context["page"]
    assert [r.customer.name for r in first.items] == ["Dan Liu", "Carol Zhang"]
    partial = c.get(INDEX, {"cursor": first.next_cursor}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert "<html" not in html and "Eve Chen" in html and "Bob Li" in html and "Dan Liu" not in html
    assert 'hx-target="#churn-table"' in html


def test_rep_sees_no_analytics_nav_and_analyst_does(world, web_client):
    assert f'href="{INDEX}"' not in web_client(world.org.rep_a).get("/").content.decode()
    assert f'href="{INDEX}"' in web_client(world.org.analyst).get("/").content.decode()


def test_model_page_renders_validation(world, web_client):
    churn = make_run(world.batch, "churn", CHURN_RUN_METRICS, parameters={"trees": 120, "calibration": "isotonic"},
                     rows_in=5000, rows_out=5)
    make_run(world.batch, "bgnbd", BGNBD_RUN_METRICS, parameters={"r": 0.243, "alpha": 4.414, "a": 0.793,
                                                                   "b": 2.426})
    c = web_client(world.org.analyst)
    response = c.get(reverse("analytics:model", args=["churn"]))
    body = response.content.decode()
    assert response.context["run"] == churn
    assert "0.810" in body and "recency-only baseline 0.740" in body and "better" in body
    for chart in ("an-chart-gains", "an-chart-lift", "an-chart-calibration"):
        assert f'id="{chart}"' in body
    assert 'id="an-chart-holdout"' not in body
    # figures and parameters in words, with their one-line explanations; the codes stay out of sight
    assert "isotonic regression" in body and "Calibration error" in body and 'data-key="calibration_error"' in body
    assert "Mean gap between predicted and observed churn rates" in body and ">calibration_error<" not in body
    assert f"?run={churn.pk}" in body
    data = chart_data(response)
    assert data["auc"] == 0.81 and len(data["gains"]) == 10

    bgnbd = c.get(reverse("analytics:model", args=["bgnbd"])).content.decode()
    assert 'id="an-chart-holdout"' in bgnbd and 'data-key="alpha"' in bgnbd and "α" in bgnbd
    assert "Purchases made" in bgnbd and "53.5" in bgnbd and "Mean absolute error (purchases)" in bgnbd

    index = c.get(MODELS).content.decode()
    assert reverse("analytics:model", args=["churn"]) in index and "0.810" in index
    # A model that never ran says so.
    assert "This model has not run yet." in c.get(reverse("analytics:model", args=["recommend"])).content.decode()


def test_model_page_survives_odd_metrics(world, web_client):
    make_run(world.batch, "value", {"gains": "oops", "calibration": [1, 2], "nested": {"x": [1, {"y": 2}]},
                                    "note": "text"}, parameters={"cutoffs": [0.1, 0.5]})
    body = web_client(world.org.analyst).get(reverse("analytics:model", args=["value"])).content.decode()
    assert "nested" in body and "text" in body and "cutoffs" in body


# --- The customer 360 card --------------------------------------------------------------------------------------


def test_customer_360_card_shows_scores_reasons_and_action(world, web_client):
    body = web_client(world.org.rep_a).get(reverse("customers:detail", args=[world.a3.pk])).content.decode()
    assert 'id="analytics-card"' in body
    assert "Next best action" in body and "Call" in body
    assert "No purchase for 214 days" in body and "Already 3.5× their usual time between purchases" in body
    assert "80%" in body and "At risk" in body
    assert "overdue by 3 days" in body
    # A sales rep has no analytics.view: no link to the model pages.
    assert reverse("analytics:models") not in body

    analyst = web_client(world.org.analyst).get(reverse("customers:detail", args=[world.a1.pk])).content.decode()
    assert reverse("analytics:models") in analyst
    assert "Nurture" in analyst and "Shampoo" in analyst and world.product.name in analyst
    # Margin is cost-sensitive: the analyst (orders.view_costs) sees it, a marketer does not.
    assert "¥420.00" in analyst
    marketer = web_client(world.org.marketer).get(reverse("customers:detail", args=[world.a1.pk])).content.decode()
    assert 'id="analytics-card"' in marketer and "¥420.00" not in marketer


def test_customer_360_has_no_card_without_scores(world, web_client):
    ScoringBatch.objects.update(is_current=False)
    body = web_client(world.org.rep_a).get(reverse("customers:detail", args=[world.a3.pk])).content.decode()
    assert 'id="analytics-card"' not in body


def test_customer_360_of_an_invisible_customer_is_still_404(world, web_client):
    assert web_client(world.org.rep_b).get(reverse("customers:detail", args=[world.a3.pk])).status_code == 404


# --- Run scoring ------------------------------------------------------------------------------------------------


def test_run_scoring_needs_analytics_run_and_post(org, web_client):
    url = reverse("analytics:run")
    assert web_client(org.analyst).get(url).status_code == 405
    assert web_client(org.marketer).post(url).status_code == 403
    assert web_client(org.rep_a).post(url).status_code == 403


def test_run_scoring_queues_the_scoring_task(org, web_client, settings):
    from django_tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    response = web_client(org.analyst).post(reverse("analytics:run"), follow=True)
    assert "Scoring runs in the background" in response.content.decode()
    queued = task_backends["default"].results
    assert [r.task.name for r in queued] == ["score_customers"]
    assert queued[0].kwargs["actor_id"] == org.analyst.pk
    assert not ScoringBatch.objects.exists()  # queued, not run


def test_run_scoring_shows_the_services_refusal(org, web_client):
    from clientwise.analytics import views
    from clientwise.core.errors import DomainError

    refusal = DomainError("conflict", "A scoring run is already in progress.", status=409)
    with mock.patch.object(views, "_request_scoring", side_effect=refusal):
        response = web_client(org.analyst).post(reverse("analytics:run"), follow=True)
    assert "A scoring run is already in progress." in response.content.decode()


def test_phones_in_the_ranked_list_are_masked_without_the_pii_right(world, web_client):
    marketer = web_client(world.org.marketer).get(CUSTOMERS).content.decode()
    assert "138****0003" in marketer and "13800000003" not in marketer and "138 0000 0003" not in marketer
    admin = web_client(world.org.admin).get(CUSTOMERS).content.decode()
    assert "138 0000 0003" in admin


# --- The baseline guard's message --------------------------------------------------------------------------------


def guarded_run(batch, model, metrics):
    """A run with the guard's decision stored the way the pipeline stores it."""
    from clientwise.analytics.pipeline import ModelOutcome, guard_outcome

    outcome = ModelOutcome(model, metrics=dict(metrics))
    guard_outcome(outcome)
    return make_run(batch, model, outcome.metrics)


def test_model_page_says_whether_the_model_beat_its_baseline(world, web_client):
    c = web_client(world.org.analyst)
    won = guarded_run(world.batch, "recommend", {"hit_rate": 0.80, "baseline_hit_rate": 0.733})
    body = c.get(reverse("analytics:model", args=["recommend"]), {"run": won.pk}).content.decode()
    assert 'data-beats="yes"' in body and "Beat its baseline (the most popular products)" in body
    assert "hit rate 0.800 against 0.733" in body
    lost = guarded_run(world.batch, "recommend", {"hit_rate": 0.648, "baseline_hit_rate": 0.733})
    body = c.get(reverse("analytics:model", args=["recommend"]), {"run": lost.pk}).content.decode()
    assert 'data-beats="no"' in body and "hit rate 0.648 against 0.733" in body
    assert "Recommendations are the most popular products" in body
    unchecked = guarded_run(world.batch, "churn", {"auc": 0.8})
    body = c.get(reverse("analytics:model", args=["churn"]), {"run": unchecked.pk}).content.decode()
    assert 'data-beats="unknown"' in body and "Not checked against its baseline (recency only)" in body
    # Models without a baseline have no message.
    rfm = make_run(world.batch, "rfm", {"customers": 5})
    assert 'id="an-guard"' not in c.get(reverse("analytics:model", args=["rfm"]), {"run": rfm.pk}).content.decode()


def test_card_and_lists_say_when_the_baseline_is_served(world, web_client):
    detail = reverse("customers:detail", args=[world.a3.pk])
    guarded_run(world.batch, "churn", {"auc": 0.86, "baseline_auc": 0.85})  # won: nothing to say
    body = web_client(world.org.rep_a).get(detail).content.decode()
    assert 'id="analytics-baseline-notes"' not in body
    guarded_run(world.batch, "recommend", {"hit_rate": 0.648, "baseline_hit_rate": 0.733})
    guarded_run(world.batch, "next_purchase", {"mae": 30.0, "baseline_mae": 20.0})
    body = web_client(world.org.rep_a).get(detail).content.decode()
    assert 'id="analytics-baseline-notes"' in body
    assert 'data-model="recommend"' in body and "Recommendations are the most popular products" in body
    assert 'data-model="next_purchase"' in body and 'data-model="churn"' not in body
    # The churn list names the churn model only, and only once it lost.
    c = web_client(world.org.analyst)
    assert 'id="analytics-baseline-notes"' not in c.get(CUSTOMERS).content.decode()
    guarded_run(world.batch, "churn", {"auc": 0.80, "baseline_auc": 0.85})
    body = c.get(CUSTOMERS).content.decode()
    assert 'data-model="churn"' in body and "Churn risk is shown from recency alone" in body
    assert 'data-model="recommend"' not in body
    assert 'data-model="churn"' in c.get(INDEX).content.decode()


def test_repeat_and_popular_recommendations_are_worded_from_their_parts():
    from clientwise.analytics.dashboards import recommendation_reason

    assert recommendation_reason({"kind": "repeat", "times_bought": 7, "repeat_rate": 0.83}, {}) == (
        "Buys it again and again: on 7 orders in the last year (83% of its buyers buy it again)")
    assert recommendation_reason({"kind": "popular", "new_rate": 0.1}, {}) == (
        "Popular with customers who have not bought it yet")
    # A "together" recommendation keeps the bought product and its lift.
    assert "Bought Kettle" in recommendation_reason(
        {"kind": "together", "because_product_id": 5, "lift": 2.5, "confidence": 0.4}, {5: ("K1", "Kettle")})


def test_run_scoring_takes_the_as_of_day_and_suggests_where_imported_history_ends(org, web_client, settings):
    import datetime as dt

    from django.utils import timezone
    from django_tasks import task_backends

    from clientwise.commerce import services as commerce_services
    from clientwise.commerce.tests.factories import ProductFactory, StoreFactory
    from clientwise.customers.services import create_customer

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client = web_client(org.analyst)
    today = timezone.localdate()
    assert f'value="{today:%Y-%m-%d}"' in client.get(reverse("analytics:index")).content.decode()
    # A year of history that ended 40 days ago: the page proposes that day and says why.
    customer = create_customer(actor=org.admin, data={"name": "张伟"}, mobile="13800000001")
    ended = timezone.now() - dt.timedelta(days=40)
    commerce_services.create_order(actor=org.admin, customer_id=customer.pk, store_id=StoreFactory().pk,
                                   lines=[{"product_id": ProductFactory().pk, "quantity": 1}], ordered_at=ended)
    body = client.get(reverse("analytics:index")).content.decode()
    day = timezone.localtime(ended).date()
    assert f'value="{day:%Y-%m-%d}"' in body and 'id="an-history-hint"' in body
    client.post(reverse("analytics:run"), {"as_of": f"{day:%Y-%m-%d}"})
    assert task_backends["default"].results[-1].kwargs["as_of"] == day.isoformat()
    response = client.post(reverse("analytics:run"), {"as_of": "2026-13-45"}, follow=True)
    assert len(task_backends["default"].results) == 1  # a bad date queues nothing and says so
    assert "messages" in response.context and list(response.context["messages"])
