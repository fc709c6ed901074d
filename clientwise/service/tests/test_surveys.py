"""Survey index arithmetic, the public answer link, work orders, and the satisfaction / recovery reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.core.errors import DomainError, ValidationFailed
from clientwise.service import reports, services
from clientwise.service.models import Survey, SurveyAttribute, Ticket, WorkOrder
from clientwise.service.services import satisfaction_indexes

D = Decimal


def test_simple_and_weighted_index():
    scores = {"quality": 5, "function": 4, "price": 2, "service": 5, "packaging": 3}
    weights = {"quality": D("0.3"), "function": D("0.25"), "price": D("0.2"), "service": D("0.15"),
               "packaging": D("0.1")}
    simple, weighted = satisfaction_indexes(scores, weights)
    assert simple == D("3.800")  # 19 / 5
    # 0.3·5 + 0.25·4 + 0.2·2 + 0.15·5 + 0.1·3 = 1.5 + 1 + 0.4 + 0.75 + 0.3 = 3.95
    assert weighted == D("3.950")


def test_weights_are_normalised_over_answered_attributes():
    weights = {"quality": D(3), "price": D(1), "service": D(1)}
    # price skipped: (3·4 + 1·2) / 4 = 3.5, not dragged down by the missing answer.
    assert satisfaction_indexes({"quality": 4, "service": 2}, weights) == (D("3.000"), D("3.500"))


def test_index_edge_cases():
    assert satisfaction_indexes({}, {"q": D(1)}) == (None, None)
    assert satisfaction_indexes({"q": 4}, {"q": D(0)}) == (D("4.000"), None)
    # Rounded half up to three decimals: (5·1 + 4·1 + 4·1) / 3 = 4.3333…
    assert satisfaction_indexes({"a": 5, "b": 4, "c": 4}, {"a": D(1), "b": D(1), "c": D(1)})[1] == D("4.333")
    assert satisfaction_indexes({"a": 5, "b": 4}, {"a": D(2), "b": D(1)})[1] == D("4.667")


@pytest.fixture
def attributes(db):
    rows = [("quality", "Quality", "0.4"), ("price", "Price", "0.2"), ("service", "Service", "0.4")]
    return [SurveyAttribute.objects.create(code=c, name=n, weight=D(w), position=i) for i, (c, n, w) in
            enumerate(rows)]


def resolved_ticket(org, customer, **kw):
    t = services.create_ticket(actor=org.agent, customer_id=customer.pk, type=kw.pop("type", "complaint"),
                               channel="phone", subject="Broken", **kw)
    services.add_message(actor=org.agent, ticket_id=t.pk, kind="reply", body="Sorry")
    services.change_status(actor=org.agent, ticket_id=t.pk, status="resolved", resolution="Replaced")
    return t


@pytest.mark.django_db
def test_answer_through_the_signed_link(org, desk, customer, attributes):
    t = resolved_ticket(org, customer)
    survey = Survey.objects.get(ticket=t)
    token = services.survey_token(survey)
    with pytest.raises(ValidationFailed) as exc:
        services.answer_survey(token=token, csat=6, nps=11, scores={"quality": 0, "nope": 3})
    assert {e.field for e in exc.value.errors} == {"csat", "nps", "scores.quality", "scores.nope"}
    services.answer_survey(token=token, csat=5, nps=9, scores={"quality": 5, "price": 2, "service": 4},
                           comment="Quick fix")
    survey.refresh_from_db()
    assert (survey.csat, survey.nps) == (5, 9)
    assert survey.simple_index == D("3.667")  # 11 / 3
    assert survey.weighted_index == D("4.000")  # 0.4·5 + 0.2·2 + 0.4·4 = 4.0
    assert survey.answers.get(attribute__code="price").weight == D("0.200")
    with pytest.raises(DomainError) as exc:
        services.answer_survey(token=token, csat=1, nps=0, scores={})
    assert exc.value.code == "survey_already_answered"
    with pytest.raises(DomainError) as exc:
        services.answer_survey(token=token[:-2] + "xx", csat=1, nps=0, scores={})
    assert exc.value.code == "survey_link_invalid"


@pytest.mark.django_db
def test_attribute_weights(org, attributes):
    from clientwise.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_attribute_weights(actor=org.agent, weights={"quality": 1})
    with pytest.raises(ValidationFailed):
        services.set_attribute_weights(actor=org.manager_a, weights={"quality": 0, "price": 0, "service": 0})
    with pytest.raises(ValidationFailed):
        services.set_attribute_weights(actor=org.manager_a, weights={"quality": "-1"})
    services.set_attribute_weights(actor=org.manager_a, weights={"quality": "0.5", "price": "0.25"})
    assert SurveyAttribute.objects.get(code="quality").weight == D("0.500")
    assert SurveyAttribute.objects.get(code="service").weight == D("0.400")


def _order(org, customer, when):
    from clientwise.commerce.services import create_order
    from clientwise.commerce.tests.factories import ProductFactory

    return create_order(actor=org.admin, customer_id=customer.pk, ordered_at=when,
                        lines=[{"product_id": ProductFactory().pk, "quantity": 1}])


@pytest.mark.django_db
def test_reports(org, desk, customer, other_customer, attributes):
    from clientwise.customers.tests.factories import make_customer

    third = make_customer(org.admin, "张三", owner_id=org.rep_a.pk, team_id=org.team_a.pk)
    now = timezone.now()
    for c in (customer, other_customer, third):
        _order(org, c, now - dt.timedelta(days=60))  # everyone bought before the complaint
    answers = {customer: (5, 10), other_customer: (4, 7), third: (2, 3)}
    for c, (csat, nps) in answers.items():
        t = resolved_ticket(org, c)
        s = Survey.objects.get(ticket=t)
        services.answer_survey(token=services.survey_token(s), csat=csat, nps=nps,
                               scores={"quality": csat, "price": 3, "service": csat})
    _order(org, customer, timezone.now() + dt.timedelta(seconds=1))  # only the 5 bought again

    overview = reports.satisfaction_overview(org.admin)
    assert (overview["sent"], overview["answered"], overview["satisfied"]) == (3, 3, 2)
    assert overview["avg_csat"] == round(11 / 3, 2)
    assert overview["nps"] == 0.0  # 1 promoter (10), 1 detractor (3), 1 passive (7)

    by_score = {r["score"]: r for r in reports.repurchase_by_score(org.admin)}
    assert (by_score[5]["surveys"], by_score[5]["repurchased"], by_score[5]["rate"]) == (1, 1, 1.0)
    assert (by_score[4]["surveys"], by_score[4]["repurchased"], by_score[4]["rate"]) == (1, 0, 0.0)
    assert by_score[3]["rate"] is None

    agents = reports.satisfaction_by(org.admin, "agent")
    assert sum(a["answered"] for a in agents) == 3

    recovery = reports.complaint_recovery(org.admin)
    assert recovery["all"]["complaints"] == 3 and recovery["answered"] == 3
    assert recovery["satisfied"]["complaints"] == 2 and recovery["satisfied_share"] == round(2 / 3, 4)
    assert recovery["satisfied"]["before"] == 1.0 and recovery["satisfied"]["after"] == 0.5
    assert recovery["unsatisfied"]["after"] == 0.0

    # A sales rep's reports only hold their own customers.
    mine = reports.satisfaction_overview(org.rep_a)
    assert mine["answered"] == 2
    sla = reports.sla_summary(org.admin)
    assert sla["resolved"] == 3 and sla["resolution_met"] == 1.0


@pytest.mark.django_db
def test_work_order_flow(org, desk, customer):
    from clientwise.commerce.tests.factories import RegionFactory
    from clientwise.service.models import Technician

    east, west = RegionFactory(), RegionFactory()
    far = Technician.objects.create(name="West tech", skills="fridge")
    far.regions.set([west])
    city = Technician.objects.create(name="City tech", skills="tv", rural=False)
    city.regions.set([east])
    rural = Technician.objects.create(name="Rural tech", skills="fridge,tv")
    rural.regions.set([east])
    start = timezone.now() + dt.timedelta(days=1)
    wo = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="乡下路 1 号",
                                    window_start=start, window_end=start + dt.timedelta(hours=2), skill="fridge",
                                    region_id=east.pk, rural=True)
    assert (wo.technician, wo.status) == (rural, "assigned")
    # The rural tech is busy in that window; a TV install in town goes to the city tech.
    wo2 = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="install", address="城里路 2 号",
                                     window_start=start, window_end=start + dt.timedelta(hours=1), skill="tv",
                                     region_id=east.pk)
    assert wo2.technician == city
    wo3 = services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="x",
                                     window_start=start, window_end=start + dt.timedelta(hours=1), skill="fridge",
                                     region_id=east.pk)
    assert wo3.technician is None and wo3.status == "scheduled"
    with pytest.raises(ValidationFailed):
        services.create_work_order(actor=org.agent, customer_id=customer.pk, kind="repair", address="",
                                   window_start=start, window_end=start)
    with pytest.raises(DomainError):
        services.complete_work_order(actor=org.agent, work_order_id=wo.pk, report="done")  # not started
    services.start_work_order(actor=org.agent, work_order_id=wo.pk)
    services.complete_work_order(actor=org.agent, work_order_id=wo.pk, report="Replaced compressor relay",
                                 parts=[{"description": "Relay", "quantity": 2, "unit_price": "35.50"}])
    services.sign_off_work_order(actor=org.agent, work_order_id=wo.pk, signed_by="王芳")
    wo.refresh_from_db()
    assert wo.status == WorkOrder.Status.SIGNED_OFF and wo.signed_off_by == "王芳"
    assert wo.parts.get().unit_price == D("35.50")
    from clientwise.customers.models import Interaction

    assert Interaction.objects.filter(customer_id=customer.pk, kind="workorder").count() >= 5


@pytest.mark.django_db
def test_pivot_measures(org, desk, customer, other_customer, attributes):
    """The service measures run through the reports pivot engine, scoped like everything else."""
    from clientwise.reports.runner import run_pivot

    for c in (customer, other_customer):
        t = resolved_ticket(org, c)
        services.answer_survey(token=services.survey_token(Survey.objects.get(ticket=t)), csat=5 if c == customer
                               else 3, nps=10, scores={"quality": 4})
    services.create_ticket(actor=org.agent, customer_id=customer.pk, type="inquiry", channel="web", subject="?")
    result = run_pivot(actor=org.admin, spec={"fact": "tickets", "measures": ["tickets", "open_tickets"],
                                              "rows": ["ticket_type"], "engine": "database"}, use_cache=False)
    assert result.engine in ("sqlite", "postgresql")  # not in the analytics snapshot
    assert [r["keys"] for r in result.rows] == [["complaint"], ["inquiry"], []]
    assert result.cells == [[{"tickets": 2, "open_tickets": 0}], [{"tickets": 1, "open_tickets": 1}],
                            [{"tickets": 3, "open_tickets": 1}]]
    surveys = run_pivot(actor=org.manager_a, spec={"fact": "surveys", "measures": ["surveys_answered", "avg_csat"],
                                                   "engine": "database"}, use_cache=False)
    # manager_a sees team A's customer only: one answer, CSAT 5.
    assert surveys.cells == [[{"surveys_answered": 1, "avg_csat": 5.0}]]
    by_team = run_pivot(actor=org.admin, spec={"fact": "tickets", "measures": ["tickets"], "rows": ["customer_team"],
                                               "engine": "database", "totals": False}, use_cache=False)
    expected: dict = {}
    for t in Ticket.objects.select_related("customer__team"):
        team = t.customer.team.name if t.customer.team_id else "(blank)"
        expected[team] = expected.get(team, 0) + 1
    assert len(expected) == 2  # customer and other_customer are in different teams
    assert {r["labels"][0]: c[0]["tickets"] for r, c in zip(by_team.rows, by_team.cells, strict=True)} == expected
