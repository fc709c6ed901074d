"""Sales services: stage moves and their history, lead intake and conversion, assignment fairness, ownership
transfer, notes with mentions, key accounts, merge."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone

from clientwise.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from clientwise.customers.models import Interaction
from clientwise.sales import queries, services
from clientwise.sales.models import Activity, AssignmentRule, Lead, Mention, Opportunity, Stage, StageVisit


def stages():
    return {s.kind + str(s.position): s for s in services.default_pipeline().stages.all()}


def stage_at(position):
    return services.default_pipeline().stages.get(position=position)


# --- pipeline and stage moves ------------------------------------------------------------------------------------------


def test_default_pipeline_has_the_case_study_stages(db):
    p = services.default_pipeline()
    rows = [(s.position, s.probability, s.kind) for s in p.stages.all()]
    assert rows == [(0, 10, "open"), (1, 20, "open"), (2, 40, "open"), (3, 60, "open"), (4, 90, "open"),
                    (5, 100, "won"), (6, 0, "lost")]
    assert services.default_pipeline().pk == p.pk  # created once


def test_new_opportunity_starts_in_first_stage_with_one_open_stay(org, make_opp):
    opp = make_opp(amount="2500.50")
    assert opp.stage.position == 0 and opp.probability == 10 and opp.status == "open"
    assert opp.owner == org.rep_a and opp.team == org.team_a
    visits = list(StageVisit.objects.filter(opportunity=opp))
    assert len(visits) == 1 and visits[0].left_at is None and visits[0].stage_id == opp.stage_id
    assert Interaction.objects.filter(customer_id=opp.customer_id, kind="opp", ref_id=opp.pk).count() == 1


def test_moves_close_the_previous_stay_and_record_time_in_stage(org, make_opp, monkeypatch):
    opp = make_opp()
    t0 = timezone.now()
    for days, position in ((2, 1), (5, 3), (6, 1)):
        monkeypatch.setattr(timezone, "now", lambda d=days: t0 + dt.timedelta(days=d))
        services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(position).pk)
    visits = list(StageVisit.objects.filter(opportunity=opp).order_by("entered_at", "id"))
    assert [v.stage.position for v in visits] == [0, 1, 3, 1]
    assert [v.from_stage.position if v.from_stage else None for v in visits] == [None, 0, 1, 3]
    assert [round(v.seconds / 86400) if v.left_at else None for v in visits] == [2, 3, 1, None]
    assert [v.seconds_in_stage for v in visits[1:]] == [3 * 86400, 86400, None]
    opp.refresh_from_db()
    assert opp.stage.position == 1 and opp.probability == 20 and opp.status == "open"
    assert opp.furthest_position == 3  # moving back does not undo having reached the proposal
    history = queries.stage_history(opp)
    assert [h["stage"].position for h in history] == [0, 1, 3, 1]


def test_winning_and_losing_set_status_probability_and_closed_at(org, make_opp):
    opp = make_opp()
    won = services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(5).pk)
    assert (won.status, won.probability, won.closed_at is not None) == ("won", 100, True)
    assert Interaction.objects.filter(customer_id=opp.customer_id, kind="opp", subject__contains="Deal").count() == 2
    with pytest.raises(ValidationFailed) as exc:
        services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(6).pk)
    assert exc.value.code == services.SalesErrorCode.LOST_REASON_REQUIRED
    lost = services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(6).pk,
                                     lost_reason="price", lost_note="20% cheaper elsewhere")
    assert (lost.status, lost.probability, lost.lost_reason) == ("lost", 0, "price")
    reopened = services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(2).pk)
    assert (reopened.status, reopened.closed_at, reopened.lost_reason) == ("open", None, "")
    assert StageVisit.objects.filter(opportunity=opp, left_at__isnull=True).count() == 1


def test_move_to_a_stage_of_another_pipeline_is_refused(org, make_opp):
    other = services.create_pipeline(actor=org.manager_a, name="Projects", stages=[
        {"name": "Qualify", "probability": 20}, {"name": "Won", "kind": "won"}, {"name": "Lost", "kind": "lost"}])
    opp = make_opp()
    with pytest.raises(ValidationFailed) as exc:
        services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=other.stages.first().pk)
    assert exc.value.code == services.SalesErrorCode.STAGE_NOT_IN_PIPELINE


def test_pipeline_needs_won_and_lost_stages(org):
    with pytest.raises(ValidationFailed):
        services.create_pipeline(actor=org.manager_a, name="Bad", stages=[{"name": "A"}, {"name": "W", "kind": "won"}])
    with pytest.raises(PermissionDenied):
        services.create_pipeline(actor=org.rep_a, name="Mine", stages=[])


def test_rep_cannot_see_or_move_another_reps_opportunity(org, make_opp, make_customer):
    opp = make_opp(actor=org.rep_b, customer=make_customer(owner=org.rep_b))
    with pytest.raises(NotFound):
        services.move_opportunity(actor=org.rep_a, opportunity_id=opp.pk, stage_id=stage_at(1).pk)
    assert StageVisit.objects.filter(opportunity=opp).count() == 1
    with pytest.raises(NotFound):
        services.create_opportunity(actor=org.rep_a, data={"customer_id": opp.customer_id, "name": "x",
                                                           "amount": "1", "expected_close": "2026-12-01"})


def test_opportunity_validation_collects_every_error(org, make_customer):
    c = make_customer()
    with pytest.raises(ValidationFailed) as exc:
        services.create_opportunity(actor=org.rep_a, data={"customer_id": c.pk, "name": "", "amount": "-5",
                                                           "expected_close": "not a date",
                                                           "product_lines": ["rockets"]})
    assert {e.field for e in exc.value.errors} == {"name", "amount", "expected_close", "product_lines"}
    assert Opportunity.objects.count() == 0


# --- leads ----------------------------------------------------------------------------------------------------------


def test_lead_scoring_rules_add_up_and_clip(org):
    for field, value, points in (("has_company", "", 20), ("product_line", "computers", 30),
                                 ("min_amount", "50000", 40), ("city", "上海", 25)):
        services.save_scoring_rule(actor=org.manager_a, data={"field": field, "value": value, "points": points})
    lead = services.create_lead(actor=org.rep_a, data={"name": "王磊", "company": "申城科技", "city": "上海",
                                                       "product_line": "computers", "estimated_amount": "80000"})
    assert lead.score == 100  # 115 clipped
    assert {r["points"] for r in lead.score_reasons} == {20, 30, 40, 25}
    small = services.create_lead(actor=org.rep_a, data={"name": "李娜", "estimated_amount": "49999.99"})
    assert small.score == 0


def test_lead_checks_for_a_likely_existing_customer(org):
    from clientwise.customers.services import create_customer

    existing = create_customer(actor=org.admin, data={"name": "张伟", "owner_id": org.rep_b.pk,
                                                      "team_id": org.team_b.pk}, mobile="13812345678")
    lead = services.create_lead(actor=org.rep_a, data={"name": "张先生", "mobile": "138 1234 5678"})
    assert lead.possible_duplicates == [{"customer_id": existing.pk, "name": "张伟", "reasons": ["mobile"]}]
    assert lead.mobile == "+8613812345678"


def test_round_robin_assignment_is_fair_and_rules_route_by_region_and_product(org):
    services.save_assignment_rule(actor=org.admin, data={"name": "Beijing", "condition": "region", "value": "北京",
                                                         "member_ids": [org.rep_b.pk], "position": 1})
    services.save_assignment_rule(actor=org.admin, data={"name": "Computers", "condition": "product_line",
                                                         "value": "computers", "member_ids": [org.rep_a2.pk],
                                                         "position": 2})
    everyone = services.save_assignment_rule(
        actor=org.admin, data={"name": "Everyone", "member_ids": [org.rep_a.pk, org.rep_a2.pk, org.rep_b.pk],
                               "position": 9})
    owners = [services.create_lead(actor=org.admin, data={"name": f"L{i}"}).owner_id for i in range(9)]
    assert Counter(owners) == {org.rep_a.pk: 3, org.rep_a2.pk: 3, org.rep_b.pk: 3}
    assert owners[:3] == [org.rep_a.pk, org.rep_a2.pk, org.rep_b.pk]  # in turn, not random
    assert services.create_lead(actor=org.admin, data={"name": "京", "city": "北京"}).owner == org.rep_b
    pc = services.create_lead(actor=org.admin, data={"name": "PC", "product_line": "computers"})
    assert pc.owner == org.rep_a2 and pc.team == org.team_a and pc.assigned_by_rule.name == "Computers"
    everyone.refresh_from_db()
    assert everyone.assigned == 9


def test_explicit_owner_beats_rules_and_reps_may_only_take_leads_themselves(org):
    services.save_assignment_rule(actor=org.admin, data={"name": "All", "member_ids": [org.rep_b.pk]})
    lead = services.create_lead(actor=org.manager_a, data={"name": "X", "owner_id": org.rep_a2.pk})
    assert lead.owner == org.rep_a2
    # Giving a lead to a colleague outside one's reach is a permission refusal (403), not a malformed field (422).
    with pytest.raises(PermissionDenied) as refused:
        services.create_lead(actor=org.rep_a, data={"name": "Y", "owner_id": org.rep_b.pk})
    assert (refused.value.status, refused.value.field) == (403, "owner_id")
    assert not Lead.objects.filter(name="Y").exists()


def test_convert_lead_creates_customer_contact_and_opportunity_and_keeps_history(org):
    lead = services.create_lead(actor=org.rep_a, data={"name": "陈静", "company": "宁波港务", "mobile": "13900001111",
                                                       "product_line": "services", "estimated_amount": "120000",
                                                       "message": "需要年度维保"})
    task = services.create_activity(actor=org.rep_a, data={"subject": "Call back", "lead_id": lead.pk,
                                                           "due_at": timezone.now()})
    services.add_note(actor=org.rep_a, body="Met at the fair", lead_id=lead.pk)
    done = services.convert_lead(actor=org.rep_a, lead_id=lead.pk,
                                 opportunity={"name": "宁波港务维保", "expected_close": "2026-11-30"})
    assert done.status == "converted" and done.converted_at is not None
    customer = done.customer
    assert (customer.name, customer.kind, customer.owner_id, customer.status) == ("宁波港务", "organization",
                                                                                   org.rep_a.pk, "prospect")
    from clientwise.customers.queries import organization_contacts

    contacts = organization_contacts(customer, org.admin)
    assert [c.name for c in contacts] == ["陈静"] and contacts[0].mobile == "+8613900001111"
    opp = done.opportunity
    assert (opp.name, opp.amount, opp.customer_id, opp.lead_id, opp.product_lines) == (
        "宁波港务维保", Decimal("120000.00"), customer.pk, lead.pk, ["services"])
    task.refresh_from_db()
    assert task.customer_id == customer.pk
    kinds = list(Interaction.objects.filter(customer_id=customer.pk).values_list("kind", flat=True))
    assert "lead" in kinds and "opp" in kinds
    with pytest.raises(DomainError) as exc:
        services.convert_lead(actor=org.rep_a, lead_id=lead.pk)
    assert exc.value.code == services.SalesErrorCode.LEAD_CONVERTED


def test_convert_into_an_existing_customer_without_opportunity(org, make_customer):
    c = make_customer()
    lead = services.create_lead(actor=org.rep_a, data={"name": "Repeat"})
    done = services.convert_lead(actor=org.rep_a, lead_id=lead.pk, customer_id=c.pk, create_opportunity=False)
    assert done.customer_id == c.pk and done.opportunity_id is None
    assert Opportunity.objects.count() == 0


def test_import_leads_upserts_by_external_id_and_reports_bad_rows(org):
    rows = [{"name": "A", "external_id": "x1", "city": "杭州"}, {"name": "", "company": ""},
            {"name": "B", "mobile": "123", "external_id": "x2"}]
    out = services.import_leads(actor=org.rep_a, rows=rows, source="fair2026")
    assert (out["created"], out["updated"]) == (1, 0)
    assert [r["row"] for r in out["rejected"]] == [2, 3]
    again = services.import_leads(actor=org.rep_a, rows=[{"name": "A", "external_id": "x1", "city": "宁波"}],
                                  source="fair2026")
    assert (again["created"], again["updated"]) == (0, 1)
    assert Lead.objects.get(external_id="x1").city == "宁波"
    assert Lead.objects.get(external_id="x1").channel == "import"


def test_web_form_submission_honeypot_and_throttle(org):
    from django.core.cache import cache

    cache.clear()
    form = services.create_web_form(actor=org.manager_a, name="Website", product_line="appliances")
    lead = services.submit_web_form(token=form.token, data={"name": "访客", "mobile": "13700001234"}, client="1.2.3.4")
    assert (lead.channel, lead.product_line, lead.web_form_id) == ("web_form", "appliances", form.pk)
    assert services.submit_web_form(token=form.token, data={"name": "bot", "website": "http://spam"},
                                    client="1.2.3.4") is None
    for _i in range(services.FORM_RATE_LIMIT - 2):
        services.submit_web_form(token=form.token, data={"name": "more"}, client="1.2.3.4")
    with pytest.raises(DomainError) as exc:
        services.submit_web_form(token=form.token, data={"name": "one too many"}, client="1.2.3.4")
    assert exc.value.status == 429
    assert Lead.objects.filter(web_form=form).count() == services.FORM_RATE_LIMIT - 1
    with pytest.raises(NotFound):
        services.submit_web_form(token="nope", data={"name": "x"}, client="1.2.3.4")


# --- activities, notes ---------------------------------------------------------------------------------------------


def test_logged_call_with_follow_up_and_completing_a_task(org, make_opp):
    opp = make_opp()
    follow_at = timezone.now() + dt.timedelta(days=2)
    call = services.create_activity(actor=org.rep_a, data={"kind": "call", "subject": "Intro call",
                                                           "outcome": "call_back", "opportunity_id": opp.pk,
                                                           "follow_up_at": follow_at})
    assert call.done_at is not None and call.customer_id == opp.customer_id
    follow = Activity.objects.get(follow_up_of=call)
    assert follow.due_at == follow_at and follow.done_at is None and follow.assignee == org.rep_a
    assert Interaction.objects.filter(customer_id=opp.customer_id, kind="call", ref_id=call.pk).exists()
    services.complete_activity(actor=org.rep_a, activity_id=follow.pk)
    follow.refresh_from_db()
    assert follow.done_at is not None and follow.outcome == "done"
    with pytest.raises(DomainError):
        services.complete_activity(actor=org.rep_a, activity_id=follow.pk)
    with pytest.raises(ValidationFailed):
        services.create_activity(actor=org.rep_a, data={"kind": "call", "subject": "x"})


def test_note_mentions_only_colleagues_who_may_see_the_record(org, make_customer):
    c = make_customer()
    note = services.add_note(actor=org.rep_a, body="@rep_a2 @manager_a @rep_b please look", customer_id=c.pk)
    # rep_a2 is in the same team but sees only their own customers; rep_b neither.
    assert sorted(m.user.username for m in Mention.objects.filter(note=note)) == ["manager_a"]
    assert Interaction.objects.filter(customer_id=c.pk, kind="note", ref_id=note.pk).exists()


# --- ownership transfer -----------------------------------------------------------------------------------------------


def test_transfer_moves_everything_and_leaves_nothing_with_the_old_owner(org, make_customer, make_opp):
    customers = [make_customer(owner=org.rep_a, name=f"C{i}") for i in range(4)]
    opps = [make_opp(actor=org.rep_a, customer=c) for c in customers[:3]]
    services.move_opportunity(actor=org.rep_a, opportunity_id=opps[0].pk, stage_id=stage_at(5).pk)
    services.create_lead(actor=org.rep_a, data={"name": "Open lead"})
    task = services.create_activity(actor=org.rep_a, data={"subject": "Visit", "customer_id": customers[1].pk,
                                                           "due_at": timezone.now()})
    done = services.create_activity(actor=org.rep_a, data={"kind": "call", "subject": "Done call",
                                                           "outcome": "reached", "customer_id": customers[2].pk})
    account = services.create_key_account(actor=org.rep_a, customer_id=customers[3].pk)
    rule = services.save_assignment_rule(actor=org.admin, data={"name": "RR", "member_ids": [org.rep_a.pk]})
    with pytest.raises(PermissionDenied):
        services.transfer_ownership(actor=org.rep_a2, from_user_id=org.rep_a.pk, to_user_ids=[org.rep_a2.pk])

    t = services.transfer_ownership(actor=org.manager_a, from_user_id=org.rep_a.pk,
                                    to_user_ids=[org.rep_a2.pk, org.manager_a.pk], reason="left the company")
    assert queries.leftovers(org.rep_a.pk) == {"customers": 0, "leads": 0, "opportunities": 0, "key_accounts": 0,
                                               "open_activities": 0}
    assert t.counts["customers"] == 4 and t.counts["opportunities"] == 3 and t.counts["leads"] == 1
    # An account stays in one pair of hands: each opportunity and task goes where its customer went.
    for opp in opps:
        opp.refresh_from_db()
        assert opp.owner_id == t.moved["customers"][str(opp.customer_id)]
    task.refresh_from_db()
    assert task.assignee_id == t.moved["customers"][str(customers[1].pk)]
    account.refresh_from_db()
    assert account.owner_id == t.moved["customers"][str(customers[3].pk)]
    assert Counter(t.moved["customers"].values()) == {org.rep_a2.pk: 2, org.manager_a.pk: 2}
    done.refresh_from_db()
    assert done.assignee == org.rep_a  # history stays as it happened
    assert list(AssignmentRule.objects.get(pk=rule.pk).members.all()) == [org.rep_a2, org.manager_a] or \
        set(AssignmentRule.objects.get(pk=rule.pk).members.all()) == {org.rep_a2, org.manager_a}
    assert Interaction.objects.filter(customer_id=customers[0].pk, kind="profile",
                                      subject__contains="rep_a").exists()


def test_transfer_refused_when_some_customers_are_out_of_the_managers_scope(org, make_customer):
    make_customer(owner=org.rep_b, name="B's")
    with pytest.raises(DomainError):
        services.transfer_ownership(actor=org.manager_a, from_user_id=org.rep_b.pk, to_user_ids=[org.rep_a.pk])
    assert queries.leftovers(org.rep_b.pk)["customers"] == 1


# --- key accounts and merge -------------------------------------------------------------------------------------------


def test_key_account_stage_history_wallet_and_profitability(org, make_customer):
    c = make_customer()
    account = services.create_key_account(actor=org.rep_a, customer_id=c.pk)
    services.change_relationship_stage(actor=org.rep_a, account_id=account.pk, stage="preferred",
                                       note="Won the framework")
    with pytest.raises(ValidationFailed):  # before the current stage began
        services.change_relationship_stage(actor=org.rep_a, account_id=account.pk, stage="strategic",
                                           on=timezone.localdate() - dt.timedelta(days=1))
    services.change_relationship_stage(actor=org.rep_a, account_id=account.pk, stage="strategic")
    history = [(r.from_stage, r.to_stage) for r in account.relationship_changes.all()]
    assert history == [("", "vendor"), ("vendor", "preferred"), ("preferred", "strategic")]
    services.record_wallet_share(actor=org.rep_a, account_id=account.pk, period="2026-01-15", our_volume="200",
                                 total_demand="1000")
    services.record_wallet_share(actor=org.rep_a, account_id=account.pk, period="2026-02-01", our_volume="300",
                                 total_demand="1000")
    services.record_wallet_share(actor=org.rep_a, account_id=account.pk, period="2026-02-20", our_volume="350",
                                 total_demand="1000")  # same month: replaces
    with pytest.raises(ValidationFailed):
        services.record_wallet_share(actor=org.rep_a, account_id=account.pk, period="2026-03-01",
                                     our_volume="2000", total_demand="1000")
    services.add_cost_to_serve(actor=org.rep_a, account_id=account.pk, period=timezone.localdate(),
                               category="logistics", amount="120.50")
    fig = queries.key_account_figures(org.rep_a, account)
    assert [w["share"] for w in fig["wallet"]] == [0.2, 0.35]
    assert fig["trend"] == pytest.approx(0.15)
    assert fig["cost_to_serve"] == Decimal("120.50") and fig["revenue"] == Decimal("0")
    assert fig["profit"] == Decimal("-120.50")


def test_org_chart_and_reports_to_must_be_same_account(org, make_customer):
    a1 = services.create_key_account(actor=org.rep_a, customer_id=make_customer(name="A").pk)
    a2 = services.create_key_account(actor=org.rep_a, customer_id=make_customer(name="B").pk)
    ceo = services.add_account_contact(actor=org.rep_a, account_id=a1.pk, data={"name": "CEO", "role": "decision_maker",
                                                                               "influence": "high"})
    services.add_account_contact(actor=org.rep_a, account_id=a1.pk, data={"name": "Buyer", "role": "economic_buyer",
                                                                         "reports_to_id": ceo.pk})
    with pytest.raises(ValidationFailed):
        services.add_account_contact(actor=org.rep_a, account_id=a2.pk, data={"name": "X", "role": "user",
                                                                             "reports_to_id": ceo.pk})
    chart = queries.org_chart(a1)
    assert [(n["contact"].name, [c["contact"].name for c in n["children"]]) for n in chart] == [("CEO", ["Buyer"])]


def test_merge_moves_sales_rows_and_undo_moves_them_back(org, make_customer, make_opp):
    from clientwise.customers.services import merge_customers, unmerge_customers

    keep, dup = make_customer(name="甲公司"), make_customer(name="甲公司 ")
    opp = make_opp(customer=dup)
    task = services.create_activity(actor=org.rep_a, data={"subject": "t", "customer_id": dup.pk})
    account = services.create_key_account(actor=org.rep_a, customer_id=dup.pk)
    result = merge_customers(survivor=keep, duplicates=[dup], actor=org.admin)
    for obj in (opp, task, account):
        obj.refresh_from_db()
        assert obj.customer_id == keep.pk
    assert StageVisit.objects.get(opportunity=opp).customer_id == keep.pk
    unmerge_customers(actor=org.admin, snapshot=result.snapshot)
    for obj in (opp, task, account):
        obj.refresh_from_db()
        assert obj.customer_id == dup.pk


def test_stage_kinds_are_enumerated(db):
    assert set(Stage.Kind.values) == {"open", "won", "lost"}


def test_timeline_sentences_are_read_in_the_readers_language(org, make_customer, make_opp):
    """Key-account and opportunity events are written once (in the actor's language) and read in each reader's:
    a rep working in English, a manager reading in Chinese (the home feed showed 'Managed as a key account')."""
    from django.utils import translation

    from clientwise.core import labels
    from clientwise.customers.models import Interaction

    c = make_customer()
    with translation.override("en"):
        account = services.create_key_account(actor=org.rep_a, customer_id=c.pk)
        services.change_relationship_stage(actor=org.rep_a, account_id=account.pk, stage="preferred")
    rows = list(Interaction.objects.filter(customer_id=c.pk, kind="account").order_by("id"))
    assert [r.subject for r in rows] == ["Managed as a key account (Vendor)", "Relationship: Vendor → Preferred supplier"]
    with translation.override("zh-hans"):
        assert [labels.row_text(r) for r in rows] == ["列为大客户（普通供应商）", "合作关系：普通供应商 → 优选供应商"]
